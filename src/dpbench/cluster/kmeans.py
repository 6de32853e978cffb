"""Lloyd's k-means in PyTorch (runs on the GPU when given CUDA tensors).

Objective (Lloyd 1982): min_{Ω, I} sum_i sum_j I_ij ||x_i - Ω_j||^2 with hard assignments I,
solved by alternating assignment and centre updates, started from k-means++ seeds
(Arthur & Vassilvitskii 2007, greedy variant with 2 + log k local trials as in scikit-learn),
best of ``n_init`` restarts by inertia.
"""

from __future__ import annotations

import math

import torch


def squared_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """||x_i - c_j||^2 for every pair, via ||x||^2 - 2 x.c + ||c||^2 (clamped at 0)."""
    d = (x * x).sum(1, keepdim=True) - 2.0 * x @ centers.T + (centers * centers).sum(1)
    return d.clamp_min_(0.0)


def kmeans_plusplus(x: torch.Tensor, n_clusters: int, generator: torch.Generator) -> torch.Tensor:
    """Greedy k-means++ seeding: each new centre is the best of 2 + log(k) D^2-sampled candidates."""
    n = len(x)
    n_trials = 2 + int(math.log(n_clusters))
    first = int(torch.randint(n, (1,), generator=generator))
    centers = [x[first]]
    closest = squared_distances(x, x[first : first + 1]).squeeze(1)
    for _ in range(1, n_clusters):
        probs = (closest / closest.sum()).cpu()
        candidates = torch.multinomial(probs, n_trials, replacement=True, generator=generator).to(x.device)
        cand_dist = torch.minimum(closest.unsqueeze(0), squared_distances(x, x[candidates]).T)
        best = int(cand_dist.sum(1).argmin())
        centers.append(x[candidates[best]])
        closest = cand_dist[best]
    return torch.stack(centers)


def lloyd(x: torch.Tensor, centers: torch.Tensor, max_iter: int, tol: float) -> tuple[torch.Tensor, torch.Tensor, float, int]:
    """Lloyd iterations from ``centers``; stops when the squared centre shift falls below ``tol``."""
    k = len(centers)
    for it in range(1, max_iter + 1):  # noqa: B007 (the number of iterations run is returned)
        labels = squared_distances(x, centers).argmin(1)
        counts = torch.bincount(labels, minlength=k).to(x.dtype)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        # an emptied cluster keeps its previous centre
        new = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        if shift <= tol:
            break
    dist = squared_distances(x, centers)
    labels = dist.argmin(1)
    inertia = float(dist.gather(1, labels[:, None]).sum())
    return centers, labels, inertia, it


class KMeans:
    """Scikit-learn-style Lloyd's k-means with k-means++ restarts."""

    def __init__(
        self,
        n_clusters: int,
        n_init: int = 10,
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.device = torch.device(device)

    def fit(self, x: torch.Tensor) -> KMeans:
        x = torch.as_tensor(x, dtype=torch.float32).to(self.device)
        generator = torch.Generator().manual_seed(self.seed)
        # scikit-learn's convention: tolerance relative to the mean per-feature variance
        tol = self.tol * float(x.var(0).mean())
        best = None
        for _ in range(self.n_init):
            seeds = kmeans_plusplus(x, self.n_clusters, generator)
            run = lloyd(x, seeds, self.max_iter, tol)
            if best is None or run[2] < best[2]:
                best = run
        centers, labels, self.inertia_, self.n_iter_ = best
        self.cluster_centers_ = centers.cpu()
        self.labels_ = labels.cpu()
        return self

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float32).to(self.device)
        return squared_distances(x, self.cluster_centers_.to(self.device)).argmin(1).cpu()

    def fit_predict(self, x: torch.Tensor) -> torch.Tensor:
        return self.fit(x).labels_
