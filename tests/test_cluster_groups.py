"""TELL's CIFAR-100 protocol: each superclass clustered apart, scored apart, the cell their mean
(on small generated data: no download here)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from dpbench.io import read_json, save_tensors
from dpbench.metrics import clustering_accuracy
from dpbench.tasks import clustering, jobs


@pytest.fixture
def grouped(tmp_path):
    """3 groups of 2 classes each; group 1's classes sit where group 0's do, so that clustering all
    groups at once could not separate them, but each group alone can."""
    xs, ys, gs = [], [], []
    for g in range(3):
        x, y = make_blobs(60, n_features=4, centers=[[0, 0, 0, 0], [6, 6, 6, 6]], cluster_std=0.6, random_state=g)
        xs.append(x + (0 if g < 2 else 20)), ys.append(y + 10 * g), gs.append(np.full(60, g))
    path = tmp_path / "features.pt"
    save_tensors(path, {"features": torch.tensor(np.concatenate(xs), dtype=torch.float32), "labels": torch.tensor(np.concatenate(ys)),
                        "groups": torch.tensor(np.concatenate(gs))})
    return path


def test_each_group_is_clustered_apart_and_the_cell_is_the_mean_over_groups(grouped, tmp_path):
    pred, out = tmp_path / "pred.pt", tmp_path / "metrics.json"
    clustering.fit(str(grouped), "kmeans", 0, {"n_init": 1}, "cpu", str(pred))
    clustering.evaluate(str(pred), str(grouped), "toy", "pixels", "kmeans", 0, str(out))
    records = read_json(out)["records"]
    per_group = {r["group"]: r["value"] for r in records if r["metric"] == "group_acc"}
    assert sorted(per_group) == [0, 1, 2] and all(v == 1.0 for v in per_group.values())
    acc = next(r["value"] for r in records if r["metric"] == "acc")
    assert acc == pytest.approx(np.mean(list(per_group.values())))
    # each group into its own 2 clusters (ids 0 and 1 within each group), though the classes of groups 0
    # and 1 coincide: clustered all at once, 6 clusters could not tell them apart
    labels = torch.load(pred, weights_only=True)["pred"]
    assert set(labels.tolist()) == {0, 1}
    together = clustering.build_model("kmeans", 6, 0, torch.device("cpu"), {"n_init": 1})
    mixed = together.fit_predict(torch.load(grouped, weights_only=True)["features"]).numpy()
    truth = torch.load(grouped, weights_only=True)["labels"].numpy()
    assert clustering_accuracy(truth, mixed) < 0.9


def test_tell_keeps_one_state_and_one_history_per_group(grouped, tmp_path):
    pred, out = tmp_path / "pred.pt", tmp_path / "metrics.json"
    params = {"epochs": 2, "batch_size": 20, "log_every": 1}
    clustering.fit(str(grouped), "kmeansnet_tell[encoder=none]", 0, params, "cpu", str(pred))
    assert sorted(p.name for p in tmp_path.glob("*.ckpt")) == [f"pred.pt.group{g}.tell.ckpt" for g in range(3)]
    clustering.evaluate(str(pred), str(grouped), "toy", "pixels", "kmeansnet_tell[encoder=none]", 0, str(out))
    curve = [(r["group"], r["epoch"]) for r in read_json(out)["records"] if r["metric"] == "epoch_acc"]
    assert curve == [(g, e) for g in range(3) for e in (1, 2)]


def test_cifar100_per_superclass_groups_the_fine_labels_by_superclass(tmp_path, monkeypatch):
    import torchvision.datasets

    from dpbench.data.datasets import DATASETS, load_prepared, prepare_dataset

    class FakeCIFAR100:  # torchvision's reader, without files to download
        base_folder = "cifar-100-python"
        train_list = [["train", "md5"]]
        test_list = [["test", "md5"]]

        def __init__(self, root, train, download):
            n = 6 if train else 4
            self.data = np.full((n, 32, 32, 3), 7 if train else 9, dtype=np.uint8)
            self.targets = list(range(n)) if train else [10, 11, 12, 13]

    folder = tmp_path / "raw" / FakeCIFAR100.base_folder
    folder.mkdir(parents=True)
    for name, coarse in (("train", [0, 0, 1, 1, 2, 2]), ("test", [3, 3, 0, 1])):
        (folder / name).write_bytes(pickle.dumps({"coarse_labels": coarse}))
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", FakeCIFAR100)
    prepare_dataset("cifar100_per_superclass", tmp_path / "raw", tmp_path / "p.pt", download=False)
    data = load_prepared(tmp_path / "p.pt")
    assert data.labels.tolist() == [0, 1, 2, 3, 4, 5, 10, 11, 12, 13]
    assert data.groups.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 0, 1]
    assert tuple(data.images.shape) == (10, 3, 32, 32) and data.split.tolist() == [0] * 6 + [1] * 4
    assert DATASETS["cifar100_coarse"](tmp_path / "raw", False)["labels"].tolist() == data.groups.tolist()
    # one download serves both: the per-superclass dataset reads cifar100_coarse's raw folder
    assert jobs.raw_dir({"data_dir": "d"}, "cifar100_per_superclass") == "d/raw/cifar100_coarse"
