import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from dpbench.metrics import clustering_accuracy, clustering_scores


def brute_force_acc(y_true, y_pred):
    k = max(y_true.max(), y_pred.max()) + 1
    return max(np.mean(np.array(perm)[y_pred] == y_true) for perm in itertools.permutations(range(k)))


def test_permuted_labels_score_one():
    y = np.array([0, 0, 1, 1, 2, 2, 2])
    perm = np.array([2, 0, 1])
    assert clustering_accuracy(y, perm[y]) == 1.0
    assert clustering_scores(y, perm[y]) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0})


def test_hand_made_case():
    # cluster 0 -> class 1 (2 right), cluster 1 -> class 0 (2 right), 1 mistake out of 5
    y_true = np.array([1, 1, 0, 0, 0])
    y_pred = np.array([0, 0, 1, 1, 0])
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(4 / 5)


def test_more_clusters_than_classes():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 1, 2, 2])
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(3 / 4)


@pytest.mark.parametrize("seed", range(5))
def test_acc_matches_brute_force_and_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 60)
    y_pred = rng.integers(0, 4, 60)
    scores = clustering_scores(y_true, y_pred)
    assert scores["acc"] == pytest.approx(brute_force_acc(y_true, y_pred))
    assert scores["nmi"] == pytest.approx(normalized_mutual_info_score(y_true, y_pred))
    assert scores["ari"] == pytest.approx(adjusted_rand_score(y_true, y_pred))


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        clustering_accuracy(np.zeros(3, int), np.zeros(4, int))
