"""Evaluation protocols of the image tasks: ours (``official``) and the SC2Net authors' (``authors``).

A protocol fixes which samples the encoders and the classifier are trained and tested on, how those
samples are standardised, and the classifier on the codes. Every image result carries its protocol in a
record column ``protocol`` (and in its parameters, ``data.protocol``), so that the tables never pool
cells of two protocols.

``official`` (the default): the dataset's official train/test split (MNIST 60,000 / 10,000), the data
parameters' optional centring and scaling, and a scikit-learn ``StandardScaler + LogisticRegression``
(``logreg_C``) on the codes (:func:`dpbench.metrics.logistic_accuracy`).

``authors``: the evaluation of the code released with the paper (github.com/XLearning-SCU/2018-AAAI-SC2Net
``code/lista_reg_mnist.py`` = github.com/joeyzhouty/SC2Net ``Lcod/lista_reg_mnist.py``; the same
lines in ``logistic_reg_mnist_v3.py``):

* MNIST as ``mnist.pkl.gz`` holds it (lines 32-35): a training part of the first 50,000 official
  training images, the last 10,000 being its validation part, which the script never uses, and the
  10,000 official test images;
* every pixel standardised with the mean and standard deviation of the 50,000 training images,
  ``(x - mean) / (std + 1e-10)`` (lines 38-43; 67 pixels are constant there, and one test image is
  non-zero at one of them, so that it holds a value near 1e9: the script's quirk, kept);
* the training and test parts pooled (60,000 images), shuffled with ``np.random.seed(10023)`` and
  split in halves, 30,000 to train the encoder and the classifier and 30,000 to test them (lines
  45-56); ``np.random.RandomState(10023).permutation`` reproduces that shuffle exactly;
* the classifier: a softmax layer with an L2 penalty ``0.01 ||W||^2`` on its weights (Keras
  ``W_regularizer=regularizers.l2(0.01)``, the issue's "C = 0.01"), trained with Adadelta (Keras'
  ``lr = 1``, ``rho = 0.95``, ``epsilon = 1e-8``), batch 512, 50 epochs, on the codes as they are (no
  scaling), the test accuracy after the last epoch (lines 154-198); :func:`softmax_adadelta_accuracy`.
  ``logreg_solver: lbfgs`` fits the same objective to its optimum with scikit-learn instead,
  ``LogisticRegression(C = 1 / (2 * 0.01 * n_train))`` (scikit-learn minimises
  ``1/2 ||W||^2 + C * sum of losses``, Keras ``0.01 ||W||^2 + mean of losses``).

For ``cifar10_cnn`` (CNN features of CIFAR-10, :mod:`dpbench.images.cifar_cnn`) ``authors`` takes the
rows the authors' ``createFeature`` kept (``Lcod/feature_cifar_generator.py`` lines 115-140): the features
of the first 10,000 training images to train on and of the 10,000 test images to test on, unscaled, and
the same classifier. The encoder's depth, batch, epochs and optimiser are training parameters
(``images.train``), set as the authors' script does by the preset ``mnist_sc2net_paper.yaml``.
"""

from __future__ import annotations

import numpy as np
import torch

PROTOCOLS = ("official", "authors")
AUTHORS_SPLIT_SEED = 10023  # np.random.seed(10023) before each shuffle (lista_reg_mnist.py lines 48-51)
AUTHORS_MNIST_TRAIN = 50_000  # mnist.pkl.gz's training part: the first 50,000 official training images
AUTHORS_STD_EPS = 1e-10  # (x - mean) / (std + 1e-10), lista_reg_mnist.py lines 41-43
AUTHORS_CIFAR_TRAIN = 10_000  # createFeature: model.predict(x[:10000])
AUTHORS_DATASETS = ("mnist", "cifar10_cnn")
# the authors' classifier on the codes (lista_reg_mnist.py lines 155-198)
AUTHORS_CLASSIFIER = {"l2": 0.01, "epochs": 50, "batch_size": 512, "lr": 1.0, "rho": 0.95, "eps": 1e-8}
SOLVERS = ("adadelta", "lbfgs")


def authors_permutation(n: int, seed: int = AUTHORS_SPLIT_SEED) -> np.ndarray:
    """The order ``np.random.seed(seed); np.random.shuffle(a)`` puts the rows of an ``n``-row array in."""
    return np.random.RandomState(seed).permutation(n)


def authors_mnist(
    flat: torch.Tensor, labels: torch.Tensor, split: np.ndarray, n_part: int | None = None
) -> tuple[torch.Tensor, ...]:
    """The authors' MNIST rows: ``x_train, x_test, y_train, y_test, mean, std`` (standardised rows; the
    per-pixel mean and ``std + 1e-10`` that undo it), from the official images in their order (``split``:
    0 train, 1 test) with pixels in [0, 1]. ``n_part``: the size of the pickle's training part (default
    :data:`AUTHORS_MNIST_TRAIN`, 50,000)."""
    n_part = AUTHORS_MNIST_TRAIN if n_part is None else n_part
    train_idx, test_idx = np.flatnonzero(split == 0), np.flatnonzero(split == 1)
    if len(train_idx) < n_part:
        from dpbench.params import UserError

        raise UserError(f"the authors' protocol needs MNIST's first {n_part:,} training images (mnist.pkl.gz's training "
                        f"part); the prepared file has {len(train_idx):,}")
    part = train_idx[:n_part]
    x64 = flat.to(torch.float64)
    mean = x64[part].mean(0)
    std = x64[part].std(0, unbiased=False) + AUTHORS_STD_EPS  # numpy's std (ddof 0)
    pooled = np.concatenate([part, test_idx])
    order = pooled[authors_permutation(len(pooled))]
    half = len(order) // 2
    x = ((x64[order] - mean) / std).to(torch.float32)
    y = labels[order]
    return x[:half], x[half:], y[:half], y[half:], mean, std


def authors_cifar_features(flat: torch.Tensor, labels: torch.Tensor, split: np.ndarray) -> tuple[torch.Tensor, ...]:
    """The authors' CIFAR-10 feature rows: the first 10,000 training images' features to train, the test
    images' to test (``x_train, x_test, y_train, y_test``), unscaled."""
    train_idx, test_idx = np.flatnonzero(split == 0)[:AUTHORS_CIFAR_TRAIN], np.flatnonzero(split == 1)
    return flat[train_idx], flat[test_idx], labels[train_idx], labels[test_idx]


def softmax_adadelta_accuracy(
    z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray, *, seed: int,
    l2: float = AUTHORS_CLASSIFIER["l2"], epochs: int = AUTHORS_CLASSIFIER["epochs"],
    batch_size: int = AUTHORS_CLASSIFIER["batch_size"], lr: float = AUTHORS_CLASSIFIER["lr"],
) -> float:
    """Test accuracy of the authors' Keras classifier on codes (``lista_reg_mnist.py`` lines 155-198):
    ``Dense(n_classes, activation='softmax', W_regularizer=l2(0.01))`` (glorot-uniform weights, zero bias),
    categorical cross-entropy averaged over the batch plus ``l2 ||W||^2``, Adadelta (``lr``, rho 0.95,
    epsilon 1e-8), ``batch_size`` 512, ``epochs`` 50, the training rows reshuffled every epoch (Keras'
    ``fit(shuffle=True)``); the accuracy on the test rows after the last epoch."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(z_train), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.int64)
    n_classes = int(max(y.max(), int(np.max(y_test)))) + 1
    a = (6.0 / (x.shape[1] + n_classes)) ** 0.5
    W = torch.empty(n_classes, x.shape[1]).uniform_(-a, a, generator=gen).requires_grad_()
    b = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.Adadelta([W, b], lr=lr, rho=AUTHORS_CLASSIFIER["rho"], eps=AUTHORS_CLASSIFIER["eps"])
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), batch_size):
            idx = perm[start : start + batch_size]
            loss = torch.nn.functional.cross_entropy(x[idx] @ W.T + b, y[idx]) + l2 * W.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = (torch.as_tensor(np.asarray(z_test), dtype=torch.float32) @ W.T + b).argmax(1).numpy()
    return float(np.mean(pred == np.asarray(y_test)))


def softmax_lbfgs_accuracy(
    z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray, *, seed: int,
    l2: float = AUTHORS_CLASSIFIER["l2"], max_iter: int = 1000,
) -> float:
    """Test accuracy of the minimiser of the authors' classifier objective (``mean cross-entropy +
    l2 ||W||^2``, bias unpenalised) by scikit-learn: ``LogisticRegression(C = 1 / (2 l2 n_train))``, no
    scaling (the codes as they are)."""
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=1.0 / (2.0 * l2 * len(z_train)), max_iter=max_iter, random_state=seed)
    clf.fit(z_train, y_train)
    return float(clf.score(z_test, y_test))


def authors_accuracy(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, y_test: np.ndarray, *,
                     seed: int, solver: str = "adadelta") -> float:
    """The authors' classifier on the codes, trained as their script does (``adadelta``) or to its optimum (``lbfgs``)."""
    if solver == "adadelta":
        return softmax_adadelta_accuracy(z_train, y_train, z_test, y_test, seed=seed)
    if solver == "lbfgs":
        return softmax_lbfgs_accuracy(z_train, y_train, z_test, y_test, seed=seed)
    raise ValueError(f"unknown logreg_solver {solver!r}: expected one of {SOLVERS}")
