import gzip
import shutil

import pytest
import torch

from dpbench.data import load_prepared, prepare_dataset
from dpbench.data.features import WeightsUnavailableError, cnn_features, extract_features, resnet50_backbone
from dpbench.io import save_tensors


def test_digits_prepare_round_trip(tmp_path):
    out = tmp_path / "digits.pt"
    data = prepare_dataset("digits", tmp_path / "raw", out)
    loaded = load_prepared(out)
    assert loaded.images.shape == (1797, 1, 8, 8) and loaded.images.dtype == torch.uint8
    assert loaded.n_classes == 10
    assert torch.equal(loaded.images, data.images)
    flat = loaded.flat()
    assert flat.shape == (1797, 64) and float(flat.max()) == 1.0


def test_unknown_dataset_is_named(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'mnits'"):
        prepare_dataset("mnits", tmp_path, tmp_path / "x.pt")


def test_missing_and_corrupt_prepared_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.pt"):
        load_prepared(tmp_path / "nothere.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="bad.pt"):
        load_prepared(bad)
    partial = tmp_path / "partial.pt"
    save_tensors(partial, {"images": torch.zeros(2, 1, 2, 2, dtype=torch.uint8)})
    with pytest.raises(ValueError, match="lacks fields"):
        load_prepared(partial)


def test_mnist_test_from_shared_folder(mnist_dir, tmp_path):
    raw = tmp_path / "mnist"
    shutil.copytree(mnist_dir, raw)
    data = prepare_dataset("mnist_test", raw, tmp_path / "mnist_test.pt")
    assert data.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.labels).tolist()[:3] == [980, 1135, 1032]


def test_mnist_test_checksum_mismatch_names_the_file(mnist_dir, tmp_path):
    raw = tmp_path / "mnist"
    shutil.copytree(mnist_dir, raw)
    labels = raw / "t10k-labels-idx1-ubyte.gz"
    payload = gzip.decompress(labels.read_bytes())
    labels.write_bytes(gzip.compress(payload[:-10]))
    with pytest.raises(ValueError, match="checksum mismatch for .*t10k-labels-idx1-ubyte.gz"):
        prepare_dataset("mnist_test", raw, tmp_path / "x.pt")


def test_mnist_test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz"):
        prepare_dataset("mnist_test", tmp_path / "nowhere", tmp_path / "x.pt")


def test_resnet50_features_with_random_weights(tmp_path):
    data = prepare_dataset("digits", tmp_path, tmp_path / "d.pt")
    small = type(data)(data.images[:3], data.labels[:3], data.split[:3], data.scale)
    feats = cnn_features(small, resnet50_backbone(pretrained=False), torch.device("cpu"), size=64)
    assert feats.shape == (3, 2048) and torch.isfinite(feats).all()


def test_unavailable_weights_give_a_clear_error(monkeypatch, tmp_path):
    import torchvision.models

    def offline(**_):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.models, "resnet50", offline)
    data = prepare_dataset("digits", tmp_path, tmp_path / "d.pt")
    with pytest.raises(WeightsUnavailableError, match=r"resnet50.*network unreachable.*place the checkpoint file under .*checkpoints"):
        extract_features(data, "resnet50", torch.device("cpu"))


def test_mnist_local_copy_is_used_offline(mnist_dir, tmp_path, monkeypatch):
    import urllib.request

    from torchvision.datasets import MNIST

    from dpbench.data.datasets import DATASETS, copy_local_mnist

    if not all((mnist_dir / name).exists() for name, _ in MNIST.resources):
        pytest.skip(f"the official MNIST training files are not in {mnist_dir}")

    def offline(*_, **__):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert copy_local_mnist(mnist_dir, tmp_path / "raw")
    data = DATASETS["mnist"](tmp_path / "raw", True)  # torchvision finds the files: no download
    assert data["images"].shape == (70000, 1, 28, 28) and int(data["split"].sum()) == 10000


def test_mnist_local_copy_missing_or_corrupt(tmp_path):
    from torchvision.datasets import MNIST

    from dpbench.data.datasets import copy_local_mnist

    local = tmp_path / "local"
    local.mkdir()
    assert not copy_local_mnist(local, tmp_path / "raw")  # nothing there: download instead
    assert not (tmp_path / "raw").exists()
    for name, _ in MNIST.resources:
        (local / name).write_bytes(b"not mnist")
    with pytest.raises(ValueError, match="checksum mismatch.*train-images"):
        copy_local_mnist(local, tmp_path / "raw")
