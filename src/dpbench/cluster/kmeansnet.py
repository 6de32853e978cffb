"""k-meansNet (Peng, Zhou & Zhu, "k-meansNet: When k-means Meets Differentiable Programming", 2018).

The k-means objective rewritten as a feed-forward network. Expanding the distance,

    ||x - Ω_j||^2 = ||x||^2 - W_j^T x - b_j,    with  W_j = 2 Ω_j,  b_j = -||Ω_j||^2,

so a linear layer (W, b) scores every cluster, and the hard assignment I_ij = 1{j = argmin distance}
is relaxed to a softmax over the scores at temperature τ:

    I_ij = softmax_j((W_j^T x_i + b_j) / τ).

Training minimises the relaxed k-means loss  L = (1/n) sum_i sum_j I_ij (||x_i||^2 - W_j^T x_i - b_j)
by Adam on mini-batches; the cluster of x is argmax_j (W_j^T x + b_j), i.e. the nearest centre.
The network is started from k-means++ seeds, and τ may be annealed geometrically. With ``n_init``
starts, the run whose centres give the lowest k-means objective (hard assignments) is kept, as
scikit-learn's KMeans keeps the best of its ``n_init`` runs.
"""

from __future__ import annotations

import logging
import math

import torch
from sklearn.base import BaseEstimator, ClusterMixin
from torch import nn

from dpbench.cluster.kmeans import kmeans_plusplus
from dpbench.progress import progress
from dpbench.runtime import DivergenceError

log = logging.getLogger(__name__)


class KMeansNetModule(nn.Module):
    """The network: centres Ω as parameters; W = 2Ω and b = -||Ω||^2 derived each forward pass."""

    def __init__(self, centers: torch.Tensor) -> None:
        super().__init__()
        self.omega = nn.Parameter(centers.clone())

    def weight_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        w = 2.0 * self.omega  # W_j = 2 Ω_j
        b = -(self.omega**2).sum(1)  # b_j = -||Ω_j||^2
        return w, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster scores W x + b (= ||x||^2 - distance; larger is closer)."""
        w, b = self.weight_bias()
        return x @ w.T + b

    def loss(self, x: torch.Tensor, tau: float) -> torch.Tensor:
        """Relaxed k-means loss: sum_j softmax(scores/τ)_j (||x||^2 - scores_j), batch mean."""
        scores = self(x)
        assign = torch.softmax(scores / tau, dim=1)  # I_ij
        dist = (x * x).sum(1, keepdim=True) - scores  # ||x_i - Ω_j||^2
        return (assign * dist).sum(1).mean()


class KMeansNet(ClusterMixin, BaseEstimator):
    """Scikit-learn estimator around :class:`KMeansNetModule` (takes and returns torch tensors).

    ``tau`` is the softmax temperature, given relative to the data's mean squared distance to
    its mean (so one value suits pixels and CNN features alike); ``tau_final`` anneals it.
    ``n_init`` trains from that many k-means++ seedings and keeps the lowest ``inertia_``;
    ``random_state`` (int) seeds the seedings and the shuffling.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        tau: float = 0.1,
        tau_final: float | None = 0.01,
        epochs: int = 30,
        batch_size: int = 256,
        lr: float = 0.01,
        n_init: int = 1,
        random_state: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.tau = tau
        self.tau_final = tau_final
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.n_init = n_init
        self.random_state = random_state
        self.device = device

    def fit(self, x: torch.Tensor, y: None = None) -> KMeansNet:
        if self.n_init < 1:
            raise ValueError(f"n_init must be at least 1, got {self.n_init}")
        x = torch.as_tensor(x, dtype=torch.float32).to(torch.device(self.device))
        generator = torch.Generator().manual_seed(self.random_state)
        torch.manual_seed(self.random_state)
        scale = float(((x - x.mean(0)) ** 2).sum(1).mean())
        best: tuple[float, KMeansNetModule, list[float]] | None = None
        for start in range(self.n_init):
            module, history = self._train(x, scale, generator)
            inertia = self._inertia(module, x)
            log.info("k-meansNet start %d/%d: inertia %.6g", start + 1, self.n_init, inertia)
            if best is None or inertia < best[0]:
                best = (inertia, module, history)
        self.inertia_, self.module_, self.loss_history_ = best
        self.cluster_centers_ = self.module_.omega.detach().cpu()
        self.labels_ = self.predict(x)
        return self

    def _train(self, x: torch.Tensor, scale: float, generator: torch.Generator) -> tuple[KMeansNetModule, list[float]]:
        """One run from a fresh k-means++ seeding: the trained network and its loss per epoch."""
        module = KMeansNetModule(kmeans_plusplus(x, self.n_clusters, generator)).to(x.device)
        opt = torch.optim.Adam(module.parameters(), lr=self.lr * math.sqrt(scale / x.shape[1]))
        n = len(x)
        tau_end = self.tau if self.tau_final is None else self.tau_final
        history = []
        for epoch in progress(range(self.epochs), "k-meansNet epochs"):
            frac = epoch / max(1, self.epochs - 1)
            tau = scale * self.tau * (tau_end / self.tau) ** frac
            perm = torch.randperm(n, generator=generator).to(x.device)
            total = x.new_zeros(())  # summed on the device: read back (and checked) once per epoch
            for start in range(0, n, self.batch_size):
                batch = x[perm[start : start + self.batch_size]]
                loss = module.loss(batch, tau)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.detach() * len(batch)
            mean = float(total) / n
            if not math.isfinite(mean):
                raise DivergenceError(f"k-meansNet: training diverged in epoch {epoch + 1}: mean loss = {mean}")
            history.append(mean)
            log.debug("k-meansNet epoch %d/%d: tau %.4g loss %.6g", epoch + 1, self.epochs, tau, mean)
        return module, history

    @staticmethod
    @torch.no_grad()
    def _inertia(module: KMeansNetModule, x: torch.Tensor, chunk: int = 8192) -> float:
        """The k-means objective of the network's centres: sum_i min_j ||x_i - Ω_j||^2."""
        total = 0.0
        for i in range(0, len(x), chunk):
            xb = x[i : i + chunk]
            total += float(((xb * xb).sum(1) - module(xb).max(1).values).sum())
        return total

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32).to(torch.device(self.device))
        return self.module_(x).argmax(1).cpu()
