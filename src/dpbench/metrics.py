"""Evaluation metrics, built on scikit-learn, scikit-image and SciPy."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix


def clustering_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unsupervised clustering accuracy: the best one-to-one map of clusters to classes.

    ACC = max_m (1/n) sum_i 1{y_i = m(c_i)}, with the map m found by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the contingency table.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"label arrays differ in shape: {y_true.shape} vs {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("clustering accuracy of an empty labelling is undefined")
    table = contingency_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / y_true.size)


def clustering_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """ACC (Hungarian), NMI and ARI of a predicted labelling."""
    return {
        "acc": clustering_accuracy(y_true, y_pred),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
    }


def _binary_scores(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if y_true.shape != scores.shape:
        raise ValueError(f"labels and scores differ in length: {y_true.size} vs {scores.size}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    classes = np.unique(y_true)
    if classes.size != 2:
        raise ValueError(f"ROC analysis needs both classes in y_true, found {classes.tolist()}")
    return y_true, scores


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); higher scores mean positive."""
    from sklearn.metrics import roc_auc_score

    y_true, scores = _binary_scores(y_true, scores)
    return float(roc_auc_score(y_true, scores))


def equal_error_rate(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate: the point of the ROC curve where FPR = 1 - TPR (= the miss rate).

    Computed on ``sklearn.metrics.roc_curve`` (all thresholds kept) and linearly interpolated
    between the two ROC points where ``FPR - (1 - TPR)`` changes sign.
    """
    from sklearn.metrics import roc_curve

    y_true, scores = _binary_scores(y_true, scores)
    fpr, tpr, _ = roc_curve(y_true, scores, drop_intermediate=False)
    diff = fpr - (1.0 - tpr)  # non-decreasing, from -1 to 1
    idx = int(np.searchsorted(diff, 0.0, side="left"))
    if diff[idx] == 0.0 or idx == 0:
        return float(fpr[idx])
    t = -diff[idx - 1] / (diff[idx] - diff[idx - 1])
    return float(fpr[idx - 1] + t * (fpr[idx] - fpr[idx - 1]))


# the image tasks: reconstruction quality, code density, linear classification of codes


def reconstruction_metrics(original: np.ndarray, reconstruction: np.ndarray) -> dict[str, float]:
    """MSE, PSNR and SSIM (scikit-image, ``data_range = 1``) of image stacks ``N x C x H x W`` in [0, 1].

    PSNR is taken over the whole stack (from the mean squared error); SSIM is the mean over the
    images (and channels) of scikit-image's SSIM, computed in one call with ``channel_axis=0``.
    """
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

    original = np.asarray(original, dtype=np.float64)
    reconstruction = np.asarray(reconstruction, dtype=np.float64)
    if original.shape != reconstruction.shape or original.ndim != 4:
        raise ValueError(f"expected two N x C x H x W stacks of one shape, got {original.shape} and {reconstruction.shape}")
    n, c, h, w = original.shape
    flat_o, flat_r = original.reshape(n * c, h, w), reconstruction.reshape(n * c, h, w)
    win = min(7, h, w) - (1 - min(7, h, w) % 2)  # odd and no larger than the image
    return {
        "mse": float(mean_squared_error(original, reconstruction)),
        "psnr": float(peak_signal_noise_ratio(original, reconstruction, data_range=1.0)),
        "ssim": float(structural_similarity(flat_o, flat_r, data_range=1.0, channel_axis=0, win_size=win)),
    }


def sparsity(z: np.ndarray) -> float:
    """Fraction of non-zero code entries."""
    return float(np.count_nonzero(z) / np.size(z))


def logistic_accuracy(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray,
                      C: float, max_iter: int, seed: int) -> float:
    """Test accuracy of ``StandardScaler + LogisticRegression`` fitted on the training codes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, random_state=seed))
    clf.fit(z_train, y_train)
    return float(clf.score(z_test, y_test))
