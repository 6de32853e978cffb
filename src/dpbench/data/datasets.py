"""Image datasets, prepared once into a cached tensor file that later jobs read.

A prepared file holds ``images`` (uint8, N x C x H x W), ``labels`` (int64, N), ``scale`` (the
value of a white pixel: 255, or 16 for scikit-learn's digits) and ``split`` (0 = train, 1 = test);
a dataset clustered group by group also holds ``groups`` (int64, N: the group of each image).

Sources:
- ``digits``: scikit-learn's bundled handwritten digits (1,797 real 8x8 images), offline.
- ``mnist``: torchvision MNIST, train and test merged (70,000 images), as the k-meansNet code does;
  official files found in a local folder (``mnist_dir``) are copied in, md5-checked, instead of downloaded.
- ``mnist_test``: the 10,000 real MNIST test images from a local folder holding the official
  ``t10k-*-idx?-ubyte.gz`` files (checked against their official md5s).
- ``cifar10``: torchvision CIFAR-10, train and test merged (60,000 images).
- ``cifar100_coarse``: torchvision CIFAR-100 with its 20 superclass (coarse) labels.
- ``cifar100_per_superclass``: TELL's CIFAR-100 protocol (Peng et al., JMLR 2022, Sec. 4.2 and Tables
  2-3): the 60,000 images with their 100 fine labels, grouped by superclass (``groups``), so that each
  superclass's 3,000 images (5 fine classes) are clustered apart into 5 clusters. Read from the same
  raw files as ``cifar100_coarse``.
"""

from __future__ import annotations

import gzip
import logging
import pickle
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dpbench.io import load_tensors, save_tensors

log = logging.getLogger(__name__)

MNIST_TEST_FILES = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


@dataclass(frozen=True)
class PreparedDataset:
    """A prepared image dataset held in memory."""

    images: torch.Tensor  # uint8, N x C x H x W
    labels: torch.Tensor  # int64, N
    split: torch.Tensor  # int8, N: 0 train, 1 test
    scale: float
    groups: torch.Tensor | None = None  # int64, N: the group each image is clustered within (None: one group)

    @property
    def n_classes(self) -> int:
        return int(self.labels.max()) + 1

    def flat(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Pixels in [0, 1], one row per image."""
        return self.images.reshape(len(self.images), -1).to(dtype) / self.scale


def _from_torchvision(dataset_cls: type, root: Path, download: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images, labels and split flags of a torchvision dataset's train and test parts, merged."""
    parts = [dataset_cls(root=str(root), train=train, download=download) for train in (True, False)]
    images = np.concatenate([np.asarray(p.data) for p in parts])
    labels = np.concatenate([np.asarray(p.targets) for p in parts])
    split = np.concatenate([np.full(len(p.targets), i, dtype=np.int8) for i, p in enumerate(parts)])
    return images, labels, split


def _digits(raw_dir: Path, download: bool) -> dict[str, object]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)[:, None]
    return {"images": images, "labels": bunch.target, "split": np.zeros(len(images), np.int8), "scale": 16.0}


def copy_local_mnist(local_dir: str | Path, raw_dir: str | Path) -> bool:
    """Copy the four official MNIST files from ``local_dir`` into ``raw_dir/MNIST/raw`` (where
    torchvision looks, and then skips the download), checking torchvision's md5s. False, copying
    nothing, when any file is missing from ``local_dir``; a checksum mismatch is an error."""
    from torchvision.datasets import MNIST
    from torchvision.datasets.utils import check_integrity

    sources = [(Path(local_dir) / name, md5) for name, md5 in MNIST.resources]
    missing = [str(path) for path, _ in sources if not path.is_file()]
    if missing:
        log.info("mnist: no local copy (missing %s); downloading instead", ", ".join(missing))
        return False
    target = Path(raw_dir) / "MNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for path, md5 in sources:
        if not check_integrity(str(path), md5):
            raise ValueError(f"mnist: checksum mismatch for {path} (expected md5 {md5})")
        if not check_integrity(str(target / path.name), md5):
            shutil.copyfile(path, target / path.name)
    log.info("mnist: copied the official files from %s into %s", local_dir, target)
    return True


def _mnist(raw_dir: Path, download: bool) -> dict[str, object]:
    from torchvision.datasets import MNIST

    images, labels, split = _from_torchvision(MNIST, raw_dir, download)
    return {"images": images[:, None], "labels": labels, "split": split, "scale": 255.0}


def _mnist_test(raw_dir: Path, download: bool) -> dict[str, object]:
    """The real MNIST test set from ``raw_dir`` (a folder with the official gzipped IDX files)."""
    from torchvision.datasets.mnist import read_image_file, read_label_file
    from torchvision.datasets.utils import check_integrity

    tensors = {}
    with tempfile.TemporaryDirectory() as tmp:  # the source folder may be read-only
        for name, md5 in MNIST_TEST_FILES.items():
            path = raw_dir / name
            if not path.exists():
                raise FileNotFoundError(f"mnist_test: missing file {path} (set mnist_test_dir in the config)")
            if not check_integrity(str(path), md5):
                raise ValueError(f"mnist_test: checksum mismatch for {path} (expected md5 {md5})")
            unpacked = Path(tmp) / name[:-3]
            with gzip.open(path, "rb") as src, open(unpacked, "wb") as dst:
                shutil.copyfileobj(src, dst)
            reader = read_image_file if "images" in name else read_label_file
            tensors[name] = reader(str(unpacked))
    images = tensors["t10k-images-idx3-ubyte.gz"].numpy()[:, None]
    labels = tensors["t10k-labels-idx1-ubyte.gz"].numpy()
    return {"images": images, "labels": labels, "split": np.ones(len(labels), np.int8), "scale": 255.0}


def _cifar10(raw_dir: Path, download: bool) -> dict[str, object]:
    from torchvision.datasets import CIFAR10

    images, labels, split = _from_torchvision(CIFAR10, raw_dir, download)
    return {"images": images.transpose(0, 3, 1, 2), "labels": labels, "split": split, "scale": 255.0}


def _cifar100(raw_dir: Path, download: bool) -> dict[str, np.ndarray]:
    """CIFAR-100's train and test parts merged: images (N x 3 x 32 x 32), fine and coarse (superclass)
    labels, split; the coarse labels read from the batches torchvision verified."""
    from torchvision.datasets import CIFAR100

    parts = [CIFAR100(root=str(raw_dir), train=train, download=download) for train in (True, False)]
    coarse = []
    for files in (CIFAR100.train_list, CIFAR100.test_list):
        for file_name, _ in files:
            with open(Path(raw_dir) / CIFAR100.base_folder / file_name, "rb") as fh:
                coarse.extend(pickle.load(fh, encoding="latin1")["coarse_labels"])
    return {
        "images": np.concatenate([p.data for p in parts]).transpose(0, 3, 1, 2),
        "fine": np.concatenate([np.asarray(p.targets) for p in parts]),
        "coarse": np.asarray(coarse),
        "split": np.concatenate([np.full(len(p.targets), i, dtype=np.int8) for i, p in enumerate(parts)]),
    }


def _cifar100_coarse(raw_dir: Path, download: bool) -> dict[str, object]:
    """CIFAR-100 with the 20 superclass labels."""
    data = _cifar100(raw_dir, download)
    return {"images": data["images"], "labels": data["coarse"], "split": data["split"], "scale": 255.0}


def _cifar100_per_superclass(raw_dir: Path, download: bool) -> dict[str, object]:
    """CIFAR-100 with its 100 fine labels, grouped by superclass (TELL's protocol, see the module docstring)."""
    data = _cifar100(raw_dir, download)
    return {"images": data["images"], "labels": data["fine"], "groups": data["coarse"], "split": data["split"], "scale": 255.0}


DATASETS: dict[str, Callable[[Path, bool], dict[str, object]]] = {
    "digits": _digits,
    "mnist": _mnist,
    "mnist_test": _mnist_test,
    "cifar10": _cifar10,
    "cifar100_coarse": _cifar100_coarse,
    "cifar100_per_superclass": _cifar100_per_superclass,
}


def prepare_dataset(name: str, raw_dir: str | Path, output: str | Path, download: bool = True) -> PreparedDataset:
    """Read dataset ``name`` from ``raw_dir`` (downloading it when allowed) and cache it at ``output``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    raw_dir = Path(raw_dir)
    log.info("preparing dataset %s from %s", name, raw_dir)
    arrays = DATASETS[name](raw_dir, download)
    prepared = {
        "images": torch.as_tensor(np.ascontiguousarray(arrays["images"]), dtype=torch.uint8),
        "labels": torch.as_tensor(np.asarray(arrays["labels"]), dtype=torch.int64),
        "split": torch.as_tensor(np.asarray(arrays["split"]), dtype=torch.int8),
        "scale": float(arrays["scale"]),
    }
    if "groups" in arrays:
        prepared["groups"] = torch.as_tensor(np.asarray(arrays["groups"]), dtype=torch.int64)
    save_tensors(output, prepared)
    log.info("wrote %s: %d images of shape %s", output, len(prepared["labels"]), tuple(prepared["images"].shape[1:]))
    return PreparedDataset(**prepared)


def load_prepared(path: str | Path) -> PreparedDataset:
    """Load a file written by :func:`prepare_dataset`, checking its fields."""
    blob = load_tensors(path)
    missing = {"images", "labels", "split", "scale"} - set(blob)
    if missing:
        raise ValueError(f"prepared dataset {path} lacks fields {sorted(missing)}")
    if len(blob["images"]) != len(blob["labels"]):
        raise ValueError(f"prepared dataset {path}: {len(blob['images'])} images but {len(blob['labels'])} labels")
    unknown = set(blob) - {"images", "labels", "split", "scale", "groups"}
    if unknown:
        raise ValueError(f"prepared dataset {path} has unknown fields {sorted(unknown)}")
    return PreparedDataset(**blob)
