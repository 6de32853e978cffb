"""k-meansNet trained as its authors' released code does (TELL: Peng, Li, Tsang, Zhu, Lv & Zhou,
"XAI Beyond Classification: Interpretable Neural Clustering", JMLR 23, 2022).

Mirrors XLearning-SCU/2022-JMLR-TELL at commit 53df64d (``model.py``, ``main.py``):

- an autoencoder encodes x to z = normalize(f(x)) on the unit sphere (``model.py`` ``Net.encode``,
  l. 38-41). The encoder is ``NetConv`` (l. 79-123) for square grayscale images, as ``main.py``
  (l. 88) uses on MNIST pixels, or ``Net`` (l. 8-35, the paper's "FCN", Table 4) for any vector
  (:mod:`dpbench.cluster.autoencoders`). Encoder ``none`` clusters the given features themselves
  (z = normalize(x)): TELL's clustering layer on fixed features, the paper's "TELL-TwoStage"
  (Tables 4 and 5: "the clustering loss is used to update cluster centers only");
- the clustering layer is a linear layer without bias, W = 2 alpha Omega with alpha = 0.001
  (``init_cluster_layer``, l. 49-50; ``main.py`` l. 93), started from nn.Linear's random
  initialisation and renormalised after every step so that each centre has unit length
  (``normalize_cluster_center``, l. 56-59; ``main.py`` l. 94 and 133). Since ||z|| = ||Omega_j|| = 1,
  ||z - Omega_j||^2 = 2 - W_j^T z / alpha, so the layer's largest score is the nearest centre;
- the loss (``main.py`` l. 109-123; paper Eq. 13 with lambda = 0.01) is the reconstruction MSE plus
  the k-means loss with a hard one-hot assignment taken from the detached softmax of the scores,
  L_clu = 0.01 / alpha * mean_{i,j}(2 alpha - delta_ij W_j^T z_i) (the value Table S1 prints,
  about 0.018 on MNIST);
- centres and encoder are updated by alternate epochs (l. 108-111 and 126-131): in even epochs the
  clustering loss sees z.detach() and the centres' gradient is replaced by its row-normalised
  direction times 0.2 alpha; in odd epochs the clustering loss reaches the encoder and the centres'
  gradient is zeroed (``Module.zero_grad()`` zeroed gradients in the PyTorch of 2022, so Adadelta's
  running averages keep decaying; we zero them the same way). With encoder ``none`` there is no
  encoder to update, and every epoch is a centre epoch;
- Adadelta with its defaults, batch 256 with the last incomplete batch dropped, 3001 epochs
  (l. 81-92); the cluster of x is its nearest centre in eval mode (``inference``/``predict``).

Long runs (``main.py`` saves every 50 epochs, l. 140-151): with a checkpoint path, the state (network,
Adadelta, random generators, the loss and metric histories) is saved every ``checkpoint_every``
epochs and after the last one, and kept. A rerun with the same data and settings continues from the
saved epoch, also when ``epochs`` was raised (the checkpoint's fingerprint leaves out ``epochs``,
``log_every`` and ``checkpoint_every``, which do not change the trajectory): the resumed run equals
the uninterrupted one. Every ``log_every`` epochs (``main.py`` evaluates every 50, l. 140-144) the
history records both training losses of the epoch, the clustering loss of the whole set in eval mode
and, when true labels are given for monitoring (never for training), ACC/NMI/ARI of the nearest-centre
prediction.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from dpbench.checkpoint import EpochCheckpoint, data_digest, training_generators
from dpbench.cluster.autoencoders import build_autoencoder, resolve_encoder
from dpbench.metrics import clustering_scores
from dpbench.runtime import DivergenceError, compile_requested

log = logging.getLogger(__name__)

# samples per forward pass when encoding the whole set (prediction, monitoring): no gradient is
# kept, so large batches only cost memory (benchmarks/tell_speed.py measures the choice)
EVAL_BATCH = 4096
# a progress line (epoch, losses, time per epoch, time left) at most this often between logged epochs:
# an epoch of end-to-end TELL on the whole MNIST takes minutes on a CPU core
PROGRESS_EVERY_S = 60.0


class TELLNetwork(nn.Module):
    """Autoencoder plus the bias-free clustering layer W = 2 alpha Omega (TELL ``model.py``).

    ``encoder``: ``auto``, ``conv``, ``mlp`` (:func:`dpbench.cluster.autoencoders.resolve_encoder`) or
    ``none`` (the input is the code: fixed features, no decoder, no reconstruction loss).
    """

    def __init__(self, dim: int, n_clusters: int, alpha: float, encoder: str, latent_dim: int = 10) -> None:
        super().__init__()
        self.kind = resolve_encoder(encoder, dim)
        if self.kind == "none":
            self.encoder, self.decoder, latent_dim = nn.Identity(), None, dim
        else:
            self.encoder, self.decoder = build_autoencoder(self.kind, dim, latent_dim)
        self.alpha = alpha
        self.cluster_layer = nn.Linear(latent_dim, n_clusters, bias=False)
        self.normalize_centers()

    @property
    def fixed_features(self) -> bool:
        """No encoder to train (encoder ``none``): every epoch updates the centres."""
        return self.decoder is None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder(x))

    @torch.no_grad()
    def normalize_centers(self) -> None:
        """W <- 2 alpha * W / ||W_j|| (``normalize_cluster_center``): unit-length centres."""
        self.cluster_layer.weight.copy_(F.normalize(self.cluster_layer.weight, dim=1) * 2.0 * self.alpha)

    def centers(self) -> torch.Tensor:
        """Omega = W / (2 alpha) (``compute_cluster_center``)."""
        return self.cluster_layer.weight.detach() / (2.0 * self.alpha)

    def clustering_loss(self, scores: torch.Tensor) -> torch.Tensor:
        """L_clu = 0.01 / alpha * mean_{i,j}(2 alpha - delta_ij s_ij), delta the one-hot argmax of the
        detached softmax (``main.py`` l. 112-118)."""
        hard = F.one_hot(torch.softmax(scores.detach(), dim=1).argmax(1), scores.shape[1]).to(scores.dtype)
        return 0.01 / self.alpha * (2.0 * self.alpha - hard * scores).mean()

    def losses(self, x: torch.Tensor, train_encoder: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Clustering and reconstruction losses of a batch (``main.py`` l. 105-121)."""
        z = self.encode(x)
        clu = self.clustering_loss(self.cluster_layer(z if train_encoder else z.detach()))
        rec = F.mse_loss(self.decoder(z), x) if self.decoder is not None else clu.new_zeros(())
        return clu, rec


Losses = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def speed_setup(net: TELLNetwork, device: torch.device, compile: bool) -> Losses:
    """Lay ``net`` out for speed on ``device`` and return the loss function its training steps call:
    the same computation, rounded differently. The convolutional autoencoder goes channels-last
    (oneDNN's fastest convolutions and transposed convolutions on the CPU; measured by
    ``benchmarks/tell_speed.py``); with ``compile`` (the config's ``compile: true``), the losses run
    through ``torch.compile``."""
    if net.kind == "conv" and device.type == "cpu":
        net.to(memory_format=torch.channels_last)
    return torch.compile(net.losses) if compile else net.losses


class KMeansNetTELL(ClusterMixin, BaseEstimator):
    """Scikit-learn estimator training :class:`TELLNetwork` as TELL's ``main.py`` does.

    Parameters: ``n_clusters``; ``epochs`` (the authors ran 3001); ``batch_size`` (256; capped at
    the number of samples); ``alpha`` (0.001); ``encoder`` ('auto': NetConv for square images of 1 or
    3 channels, Net otherwise; or 'conv' / 'mlp' / 'none'); ``log_every`` (epochs between entries of
    ``history_``; 0: none); ``checkpoint_every`` (epochs between saved states when :meth:`fit` gets a
    checkpoint path; 0: only after the last epoch); ``random_state`` (int; None is 0) seeds the
    initialisation, the shuffling and dropout; ``device``. Inputs are expected in [0, 1] (the decoder
    ends in a sigmoid).

    Learned attributes: ``network_``, ``encoder_`` (the encoder used), ``cluster_centers_`` (k x 10,
    unit rows, in the latent space; k x d for encoder 'none'), ``labels_``, ``loss_history_`` (mean training clustering and
    reconstruction loss of every epoch, as ``main.py`` l. 136-138 prints them), ``history_`` (one dict
    per logged epoch: ``epoch``, ``loss_clu``, ``loss_rec``, ``loss_clu_eval``, ``seconds`` (training
    time so far) and, with monitoring labels, ``acc``, ``nmi``, ``ari``), ``n_features_in_``.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        epochs: int = 3001,
        batch_size: int = 256,
        alpha: float = 0.001,
        encoder: str = "auto",
        log_every: int = 0,
        checkpoint_every: int = 0,
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.epochs = epochs
        self.batch_size = batch_size
        self.alpha = alpha
        self.encoder = encoder
        self.log_every = log_every
        self.checkpoint_every = checkpoint_every
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None, *, labels=None, checkpoint: str | Path | None = None) -> KMeansNetTELL:
        """Train on ``X``. ``labels`` (true classes, optional) are used only to log ACC/NMI/ARI in
        ``history_``; ``checkpoint`` (a path) makes the run resumable (see the module docstring)."""
        for name in ("epochs", "batch_size", "log_every", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < (1 if name in ("epochs", "batch_size") else 0):
                raise ValueError(f"KMeansNetTELL: {name} must be an integer >= {1 if name in ('epochs', 'batch_size') else 0}, got {value!r}")
        x = self._tensor(validate_data(self, _as_numpy(X), dtype=np.float32))
        if labels is not None:
            labels = np.asarray(_as_numpy(labels))
            if labels.shape != (len(x),):
                raise ValueError(f"KMeansNetTELL: labels must have one entry per sample ({len(x)}), got shape {labels.shape}")
        device = x.device
        seed = 0 if self.random_state is None else int(self.random_state)
        generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            net = TELLNetwork(x.shape[1], self.n_clusters, self.alpha, self.encoder).to(device)
            ckpt = None
            if checkpoint is not None:
                ckpt = EpochCheckpoint(checkpoint, self.checkpoint_every, self._fingerprint(x, seed, net.kind))
            self._train(net, x, generator, labels, ckpt)
        self.encoder_ = net.kind
        self.network_ = net.eval()
        self.cluster_centers_ = net.centers().cpu().numpy()
        self.labels_ = self._evaluate(net, x)[0]
        return self

    def _fingerprint(self, x: torch.Tensor, seed: int, kind: str) -> str:
        """What a saved state must match to be resumed: the data and every setting but the epoch
        count and the logging/saving intervals."""
        setting = {"model": "kmeansnet_tell/1", "shape": list(x.shape), "data": data_digest(x), "n_clusters": self.n_clusters,
                   "batch_size": self.batch_size, "alpha": self.alpha, "encoder": kind, "seed": seed}
        return json.dumps(setting, sort_keys=True)

    def _train(
        self,
        net: TELLNetwork,
        x: torch.Tensor,
        generator: torch.Generator,
        labels: np.ndarray | None,
        ckpt: EpochCheckpoint | None,
    ) -> None:
        """``main.py`` l. 101-151: alternate epochs, Adadelta, drop_last batches; log and save."""
        losses = speed_setup(net, x.device, compile_requested())
        # fixed features: their codes z = normalize(x) once, not once per batch (the same rows)
        codes = F.normalize(x) if net.fixed_features else x
        opt = torch.optim.Adadelta(net.parameters())
        state = {"network": net, "optimizer": opt}
        generators = training_generators(x.device, generator)
        self.loss_history_: list[tuple[float, float]] = []
        self.history_: list[dict[str, float]] = []
        seconds, start = 0.0, 0
        progress = ckpt.resume(state, generators, self.epochs) if ckpt is not None else None
        if progress is not None:
            start, seconds = int(progress["epoch"]), float(progress["seconds"])
            self.loss_history_ = [tuple(v) for v in progress["loss_history"]]
            self.history_ = [dict(h) for h in progress["history"]]
            log.info("TELL: continuing from epoch %d of %d (checkpoint %s)", start, self.epochs, ckpt.path)
        shown, first = time.perf_counter(), start
        for epoch in range(start, self.epochs):
            begin = time.perf_counter()
            clu, rec = self._epoch(net, losses, opt, codes, generator, epoch)
            seconds += time.perf_counter() - begin
            self.loss_history_.append((clu, rec))
            done = epoch + 1
            if self.log_every and (done % self.log_every == 0 or done == self.epochs):
                self.history_.append(self._log_entry(net, x, labels, done, seconds))
            elif (now := time.perf_counter()) - shown >= PROGRESS_EVERY_S:
                per_epoch = (now - shown) / (done - first)
                log.info("TELL epoch %d/%d: clu %.6g rec %.6g, %.1f s an epoch, about %.0f min left", done, self.epochs,
                         clu, rec, per_epoch, per_epoch * (self.epochs - done) / 60)
                shown, first = now, done
            if ckpt is not None:
                history = {"seconds": seconds, "loss_history": [list(v) for v in self.loss_history_], "history": self.history_}
                ckpt.after_epoch(done, self.epochs, state, generators, history)

    def _epoch(
        self, net: TELLNetwork, losses: Losses, opt: torch.optim.Optimizer, x: torch.Tensor, generator: torch.Generator, epoch: int
    ) -> tuple[float, float]:
        """One epoch (``main.py`` l. 102-138): its mean clustering and reconstruction losses
        (``losses``: ``net.losses`` as :func:`speed_setup` prepared it; with fixed features ``x`` holds
        their unit-length codes and :meth:`_fixed_epoch` runs the epoch)."""
        if net.fixed_features:
            return self._fixed_epoch(net, opt, x, generator, epoch)
        centre_epoch = epoch % 2 == 0
        weight = net.cluster_layer.weight
        n = len(x)
        batch = min(self.batch_size, n)
        steps = n // batch
        perm = torch.randperm(n, generator=generator).to(x.device)
        sums = x.new_zeros(2)  # the two losses summed on the device: read back (and checked) once per epoch
        net.train()
        for step in range(steps):
            clu, rec = losses(x[perm[step * batch : (step + 1) * batch]], train_encoder=not centre_epoch)
            loss = clu + rec
            opt.zero_grad()
            loss.backward()
            if centre_epoch:
                weight.grad = F.normalize(weight.grad, dim=1) * 0.2 * self.alpha
            else:
                weight.grad.zero_()
            opt.step()
            net.normalize_centers()
            sums += torch.stack([clu.detach(), rec.detach()])
        clu_mean, rec_mean = (float(v) / steps for v in sums)
        if not (math.isfinite(clu_mean) and math.isfinite(rec_mean)):
            raise DivergenceError(f"k-meansNet (TELL): training diverged in epoch {epoch + 1}: mean losses {clu_mean}, {rec_mean}")
        log.debug("TELL epoch %d/%d: clu %.6g rec %.6g", epoch + 1, self.epochs, clu_mean, rec_mean)
        return clu_mean, rec_mean

    def _fixed_epoch(self, net: TELLNetwork, opt: torch.optim.Optimizer, z: torch.Tensor, generator: torch.Generator, epoch: int) -> tuple[float, float]:
        """A centre epoch on fixed codes ``z`` (unit rows), with the gradient written out instead of
        taken by autograd: the same steps as :meth:`_epoch` at a fraction of the per-step cost (the
        layer is 10 x 10; autograd's bookkeeping was most of a step). L_clu = c mean_{i,j}(2 alpha -
        delta_ij W_j^T z_i) with c = 0.01 / alpha has dL/dW_j = -c / (B k) sum_i delta_ij z_i, and
        ``main.py`` l. 127-129 keeps only its row direction, times 0.2 alpha: the positive factor
        c / (B k) drops out of the normalisation."""
        weight = net.cluster_layer.weight
        n, k = len(z), weight.shape[0]
        batch = min(self.batch_size, n)
        steps = n // batch
        perm = torch.randperm(n, generator=generator).to(z.device)
        total = z.new_zeros(())
        for step in range(steps):
            zb = z[perm[step * batch : (step + 1) * batch]]
            with torch.no_grad():
                scores = zb @ weight.T
                hard = F.one_hot(torch.softmax(scores, dim=1).argmax(1), k).to(scores.dtype)
                total += 0.01 / self.alpha * (2.0 * self.alpha - hard * scores).mean()
                weight.grad = F.normalize(-(hard.T @ zb), dim=1) * 0.2 * self.alpha
            opt.step()
            net.normalize_centers()
        clu_mean = float(total) / steps
        if not math.isfinite(clu_mean):
            raise DivergenceError(f"k-meansNet (TELL): training diverged in epoch {epoch + 1}: mean losses {clu_mean}, 0.0")
        return clu_mean, 0.0

    def _log_entry(self, net: TELLNetwork, x: torch.Tensor, labels: np.ndarray | None, epoch: int, seconds: float) -> dict[str, float]:
        """The history entry of ``epoch``: training losses, eval-mode clustering loss, scores."""
        pred, loss_clu_eval = self._evaluate(net, x)
        clu, rec = self.loss_history_[-1]
        entry = {"epoch": epoch, "loss_clu": clu, "loss_rec": rec, "loss_clu_eval": loss_clu_eval, "seconds": seconds}
        if labels is not None:
            entry |= clustering_scores(labels, pred)
        log.info("TELL epoch %d/%d: %s", epoch, self.epochs, ", ".join(f"{k} {v:.5g}" for k, v in entry.items() if k != "epoch"))
        return entry

    @torch.no_grad()
    def _evaluate(self, net: TELLNetwork, x: torch.Tensor) -> tuple[np.ndarray, float]:
        """Nearest unit-length centre of each encoded sample (``Net.predict``), in eval mode, and the
        clustering loss of the whole set. The largest score W_j^T z is the nearest centre."""
        was_training = net.training
        net.eval()
        labels, total = [], 0.0
        for i in range(0, len(x), EVAL_BATCH):
            scores = net.cluster_layer(net.encode(x[i : i + EVAL_BATCH]))
            labels.append(scores.argmax(1))
            total += float(net.clustering_loss(scores)) * len(scores)
        net.train(was_training)
        return torch.cat(labels).cpu().numpy(), total / len(x)

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "network_")
        return self._evaluate(self.network_, self._tensor(validate_data(self, _as_numpy(X), dtype=np.float32, reset=False)))[0]

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32).to(torch.device(self.device))


def _as_numpy(x):
    """Torch tensors as numpy arrays (scikit-learn's validation takes array-likes)."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
