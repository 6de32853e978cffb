"""Train/test data of the image tasks, held as whole tensors.

Datasets:

* ``cifar10_cnn``: CNN features of CIFAR-10 (SC2Net's, ``dpbench images-cnn-features``,
  :mod:`dpbench.images.cifar_cnn`): rows are features, the split is CIFAR-10's; no reconstruction task.
* prepared image datasets (``digits``, ``mnist``, ``mnist_test``, ``cifar10``, ``cifar100_coarse``;
  files from the workflow's ``prepare`` rule): the prepared ``split`` is used when it has both a
  train and a test part (MNIST 60k/10k, CIFAR 50k/10k); otherwise (``digits``, ``mnist_test``) a
  fixed, seed-independent stratified rule: within each class, in dataset order, every
  ``test_every``-th item is a test item (digits: every 3rd, i.e. 2/3 train - 1/3 test;
  ``mnist_test``: every 2nd, i.e. halves).
* ``sample_patches``: the two photographs shipped with scikit-learn (``load_sample_images``: china.jpg,
  flower.jpg) in grey. Training data: ``n_patches`` random ``patch_size`` x ``patch_size`` patches
  (``extract_patches_2d``, ``random_state=0``) from the left half of each photograph. Test data: the
  non-overlapping tiling of the most textured ``crop`` x ``crop`` window (largest pixel std on a
  grid of stride ``crop // 2``) in the right half of each photograph, so the
  reconstructed windows can be reassembled and shown (and scored) as images. No labels.

Preprocessing (``center``, ``scale``): rows are pixels in [0, 1]; ``center`` removes each row's mean,
``scale="std"`` divides by the standard deviation of the (centred) training pixels. Both are
undone before any image metric (:meth:`ImageData.to_images`), so MSE/PSNR/SSIM are always measured
on pixels in [0, 1] (``data_range = 1``).

``protocol`` (:mod:`dpbench.images.protocols`): ``official`` (the above), or ``authors``, the SC2Net
authors' rows and standardisation (MNIST: the first 50,000 training and the 10,000 test images pooled,
standardised per pixel, shuffled with seed 10023 and halved; ``cifar10_cnn``: the first 10,000 training
images' features and the test images'); it replaces ``center`` and ``scale``, which it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dpbench.images.protocols import AUTHORS_DATASETS, PROTOCOLS, authors_cifar_features, authors_mnist
from dpbench.io import load_tensors

SAMPLE_PATCHES = "sample_patches"
# features, not images: classification only (SC2Net's CIFAR-10, dpbench.images.cifar_cnn)
FEATURE_DATASETS = ("cifar10_cnn",)
LABELLED_DATASETS = ("digits", "mnist", "mnist_test", "cifar10", "cifar100_coarse", *FEATURE_DATASETS)
IMAGE_DATASETS = (*LABELLED_DATASETS, SAMPLE_PATCHES)

# fixed hold-out rule for datasets whose prepared file has no test part
TEST_EVERY = {"digits": 3, "mnist_test": 2}

DATA_DEFAULTS: dict[str, Any] = {
    "n_train": None,  # keep the first n training items (None: all)
    "n_test": None,  # keep the first n test items (None: all)
    "grey": False,  # colour datasets: ITU-R 601 luma instead of RGB
    "center": False,  # remove each row's mean
    "scale": "none",  # "none" | "std": divide by the std of the training pixels
    "patch_size": 8,  # sample_patches only
    "n_patches": 6000,  # sample_patches only: training patches (half from each photograph)
    "crop": 160,  # sample_patches only: side of the test window of each photograph
    "protocol": "official",  # "official" | "authors" (dpbench.images.protocols)
}

PATCH_KEYS = {"patch_size", "n_patches", "crop"}


def resolve_data_params(dataset: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults updated with ``overrides``; unknown keys or values raise :class:`dpbench.params.UserError`."""
    from dpbench.params import UserError, with_defaults

    if dataset not in IMAGE_DATASETS:
        raise UserError(f"unknown image dataset {dataset!r}; known: {', '.join(IMAGE_DATASETS)}")
    params = with_defaults(f"{dataset} data", DATA_DEFAULTS, overrides)
    if params["scale"] not in ("none", "std"):
        raise UserError(f"data parameter 'scale' must be 'none' or 'std', got {params['scale']!r}")
    if params["protocol"] not in PROTOCOLS:
        raise UserError(f"data parameter 'protocol' must be one of {PROTOCOLS}, got {params['protocol']!r}")
    if params["protocol"] == "authors":
        if dataset not in AUTHORS_DATASETS:
            raise UserError(f"the authors' protocol is defined for {AUTHORS_DATASETS} (the SC2Net code's MNIST and "
                            f"CIFAR-10 features), not for {dataset!r}")
        if params["center"] or params["scale"] != "none":
            raise UserError("the authors' protocol standardises the data itself: leave 'center' and 'scale' unset")
    if dataset == SAMPLE_PATCHES and params["crop"] % params["patch_size"]:
        raise UserError(f"'crop' ({params['crop']}) must be a multiple of 'patch_size' ({params['patch_size']})")
    return params


@dataclass
class ImageData:
    """Preprocessed train/test rows (on one device) and how to turn rows back into images."""

    x_train: torch.Tensor  # n_train x n_features, preprocessed
    x_test: torch.Tensor
    y_train: torch.Tensor | None  # int64 labels, None for unlabelled data
    y_test: torch.Tensor | None
    mean_train: torch.Tensor  # per-row means removed (zeros without centring), n x 1
    mean_test: torch.Tensor
    scale: float  # global divisor of the centred pixels
    to_images: Callable[[torch.Tensor], np.ndarray]  # preprocessed test rows -> N x C x H x W pixels in [0, 1]
    protocol: str = "official"  # the evaluation protocol (dpbench.images.protocols)

    @property
    def labelled(self) -> bool:
        return self.y_train is not None

    @property
    def n_classes(self) -> int:
        assert self.y_train is not None
        return int(torch.cat([self.y_train, self.y_test]).max()) + 1


def holdout_mask(labels: np.ndarray, test_every: int) -> np.ndarray:
    """Stratified, seed-independent test mask: every ``test_every``-th item of each class (in order)."""
    is_test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        is_test[idx[test_every - 1 :: test_every]] = True
    return is_test


def _preprocess(x_train: torch.Tensor, x_test: torch.Tensor, params: dict[str, Any]):
    if params["center"]:
        mean_train, mean_test = x_train.mean(1, keepdim=True), x_test.mean(1, keepdim=True)
    else:
        mean_train, mean_test = x_train.new_zeros(len(x_train), 1), x_test.new_zeros(len(x_test), 1)
    x_train, x_test = x_train - mean_train, x_test - mean_test
    scale = float(x_train.std()) if params["scale"] == "std" else 1.0
    return x_train / scale, x_test / scale, mean_train, mean_test, scale


def _no_images(rows: Any) -> np.ndarray:
    from dpbench.params import UserError

    raise UserError(f"{', '.join(FEATURE_DATASETS)} hold CNN features, not images: they have no reconstruction task")


def _features(dataset: str, data: dict[str, Any], params: dict[str, Any]) -> tuple:
    """The rows of a features file (``dpbench images-cnn-features``): its official split, or the authors' rows."""
    flat = data["features"].to(torch.float32)
    split = data["split"].numpy()
    y = torch.as_tensor(data["labels"], dtype=torch.int64)
    if params["protocol"] == "authors":
        x_tr, x_te, y_tr, y_te = authors_cifar_features(flat, y, split)
    else:
        tr, te = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
        x_tr, x_te, y_tr, y_te = flat[tr], flat[te], y[tr], y[te]
    n_tr, n_te = params["n_train"], params["n_test"]
    return x_tr[:n_tr], x_te[:n_te], y_tr[:n_tr], y_te[:n_te], _no_images


def _prepared(dataset: str, path: str | Path, params: dict[str, Any]) -> tuple:
    data = load_tensors(path)
    if dataset in FEATURE_DATASETS:
        return _features(dataset, data, params)
    images = data["images"].to(torch.float32) / float(data["scale"])  # N x C x H x W in [0, 1]
    labels = data["labels"].numpy()
    split = data["split"].numpy()
    if params["grey"] and images.shape[1] == 3:
        images = (images * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    shape = tuple(images.shape[1:])
    flat = images.reshape(len(images), -1)
    y = torch.as_tensor(labels, dtype=torch.int64)
    if params["protocol"] == "authors":
        x_tr, x_te, y_tr, y_te, mean, std = authors_mnist(flat, y, split)
        n_tr, n_te = params["n_train"], params["n_test"]
        return (x_tr[:n_tr], x_te[:n_te], y_tr[:n_tr], y_te[:n_te],
                lambda rows: (rows * std.numpy() + mean.numpy()).reshape(len(rows), *shape))
    if (split == 0).any() and (split == 1).any():
        is_test = split == 1
    else:
        is_test = holdout_mask(labels, TEST_EVERY.get(dataset, 3))
    tr, te = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    tr, te = tr[: params["n_train"]], te[: params["n_test"]]
    return flat[tr], flat[te], y[tr], y[te], lambda rows: rows.reshape(len(rows), *shape)


def grey_photographs() -> list[np.ndarray]:
    """scikit-learn's sample photographs (china.jpg, flower.jpg) in grey, float in [0, 1]."""
    from skimage.color import rgb2gray
    from sklearn.datasets import load_sample_images

    return [rgb2gray(img) for img in load_sample_images().images]


def textured_window(img: np.ndarray, crop: int) -> tuple[int, int]:
    """Top-left corner of the ``crop`` x ``crop`` window in the right half of ``img`` with the largest
    pixel standard deviation, among windows on a grid of stride ``crop // 2`` (deterministic)."""
    h, w = img.shape
    stride = max(1, crop // 2)
    corners = [(r, c) for r in range(0, h - crop + 1, stride) for c in range(w // 2, w - crop + 1, stride)]
    return max(corners, key=lambda rc: float(img[rc[0] : rc[0] + crop, rc[1] : rc[1] + crop].std()))


def _tile(window: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping ``p`` x ``p`` patches of a square window, row-major, as rows."""
    k = window.shape[0] // p
    return window.reshape(k, p, k, p).transpose(0, 2, 1, 3).reshape(k * k, p * p)


def _untile(rows: np.ndarray, p: int, n_windows: int) -> np.ndarray:
    """Inverse of :func:`_tile` for ``n_windows`` windows stacked in ``rows``: n_windows x 1 x S x S."""
    per = rows.shape[0] // n_windows
    k = int(round(per**0.5))
    return rows.reshape(n_windows, k, k, p, p).transpose(0, 1, 3, 2, 4).reshape(n_windows, 1, k * p, k * p)


def _sample_patches(params: dict[str, Any]) -> tuple:
    from sklearn.feature_extraction.image import extract_patches_2d

    p, crop = params["patch_size"], params["crop"]
    photos = grey_photographs()
    train, test = [], []
    for img in photos:
        h, w = img.shape
        left = img[:, : w // 2]
        train.append(extract_patches_2d(left, (p, p), max_patches=params["n_patches"] // len(photos), random_state=0).reshape(-1, p * p))
        r0, c0 = textured_window(img, crop)
        test.append(_tile(img[r0 : r0 + crop, c0 : c0 + crop], p))
    x_train = torch.as_tensor(np.concatenate(train), dtype=torch.float32)[: params["n_train"]]
    x_test = torch.as_tensor(np.concatenate(test), dtype=torch.float32)
    n_windows = len(photos)
    return x_train, x_test, None, None, lambda rows: _untile(rows, p, n_windows)


def load_image_data(
    dataset: str, prepared: str | Path | None, params: dict[str, Any], device: torch.device | str = "cpu"
) -> ImageData:
    """Load ``dataset`` (from its prepared file unless ``sample_patches``), split and preprocess it."""
    if dataset == SAMPLE_PATCHES:
        x_train, x_test, y_train, y_test, shape_rows = _sample_patches(params)
    else:
        if prepared is None:
            raise ValueError(f"dataset {dataset!r} needs its prepared file (--prepared)")
        x_train, x_test, y_train, y_test, shape_rows = _prepared(dataset, prepared, params)
    x_train, x_test, mean_train, mean_test, scale = _preprocess(x_train, x_test, params)
    device = torch.device(device)

    def to_images(rows: torch.Tensor) -> np.ndarray:
        """Preprocessed test rows (all of them, in order) back to pixel images."""
        pixels = rows.detach().to("cpu", torch.float64) * scale + mean_test.to(torch.float64)
        return np.asarray(shape_rows(pixels.numpy()))

    return ImageData(
        x_train=x_train.to(device),
        x_test=x_test.to(device),
        y_train=None if y_train is None else y_train.to(device),
        y_test=None if y_test is None else y_test.to(device),
        mean_train=mean_train.to(device),
        mean_test=mean_test.cpu(),
        scale=scale,
        to_images=to_images,
        protocol=params["protocol"],
    )
