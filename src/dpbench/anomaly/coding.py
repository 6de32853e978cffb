"""The coding block shared by the AnomalyNet and Lu et al. pipelines: one coder over feature vectors.

The feature stage (:mod:`dpbench.anomaly.anomalynet`, :mod:`dpbench.anomaly.lu2013`) gives the
vectors of every normal training clip; here:

1. ``val_clips`` whole training clips (drawn by the seed, :func:`held_out_clips`) are held out: their
   vectors decide early stopping (of the backbone and of the coder) and nothing else; nothing is
   chosen on the test videos;
2. the vectors of the other clips are subsampled to ``max_train_patches`` and a normaliser
   (``normalisation``, :class:`dpbench.anomaly.features.Normalizer`) is fitted on them;
3. a dictionary of ``n_atoms`` atoms is learned on them for the Lasso with ``lam``
   (:func:`dpbench.sparse.dictionary.learn_dictionary`), once per dataset, variant and seed;
4. the coder starts from it and is trained on the unsupervised Lasso loss until the held-out
   clips stop improving (:func:`dpbench.anomaly.training.train_to_convergence`);
5. a test vector's cost (:func:`vector_costs`) is its reconstruction error ``||x - D z||^2``
   (``cost: reconstruction``: AnomalyNet's ``l(t)``, sRNN's test loss, Lu et al.'s ``||R x||^2``) or
   the Lasso cost ``1/2 ||x - D z||^2 + lam ||z||_1`` (``cost: lasso``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dpbench.anomaly.features import Normalizer

COSTS = ("reconstruction", "lasso")
MAX_VAL_VECTORS = 20000


def held_out_clips(names: list[str], k: int, seed: int) -> list[str]:
    """``k`` of the training clips ``names``, drawn by ``seed`` (in name order): the held-out normal clips."""
    if not 0 < k < len(names):
        raise ValueError(f"val_clips must be between 1 and {len(names) - 1} for {len(names)} training clips, got {k}")
    chosen = np.random.default_rng(seed).choice(len(names), size=k, replace=False)
    return [names[i] for i in sorted(chosen)]


@dataclass
class CodingSet:
    """Normalised vectors of the fitted clips (``fit``) and of the held-out clips (``val``)."""

    fit: torch.Tensor
    val: torch.Tensor
    normaliser: Normalizer


def coding_set(per_clip: list[torch.Tensor], held_out: list[bool], p: dict[str, Any], generator: torch.Generator) -> CodingSet:
    """The training vectors (each clip's ``(n, d)``, or ``(n, patches, d)`` flattened), split by clip."""
    def stack(parts: list[torch.Tensor]) -> torch.Tensor:
        parts = [x.reshape(-1, x.shape[-1]).float() for x in parts if x.numel()]
        return torch.cat(parts) if parts else torch.empty(0)

    fit = stack([x for x, out in zip(per_clip, held_out) if not out])
    val = stack([x for x, out in zip(per_clip, held_out) if out])
    if fit.shape[0] < 2 or val.shape[0] < 1:
        raise ValueError(f"{fit.shape[0]} training vectors and {val.shape[0]} held-out ones: too few to learn a coder")
    if fit.shape[0] > p["max_train_patches"]:
        fit = fit[torch.randperm(fit.shape[0], generator=generator)[: p["max_train_patches"]]]
    if val.shape[0] > MAX_VAL_VECTORS:
        val = val[torch.randperm(val.shape[0], generator=generator)[:MAX_VAL_VECTORS]]
    normaliser = Normalizer(p["normalisation"]).fit(fit)
    return CodingSet(normaliser(fit), normaliser(val), normaliser)


def vector_costs(model: torch.nn.Module, x: torch.Tensor, D: torch.Tensor, p: dict[str, Any], device: torch.device
                 ) -> tuple[torch.Tensor, float]:
    """Per-row cost of ``x`` (normalised vectors) under ``model``'s codes, and the seconds the encoder took."""
    from dpbench.runtime import synchronize

    out = torch.empty(x.shape[0], dtype=torch.float64)
    seconds = 0.0
    with torch.no_grad():
        for start in range(0, x.shape[0], p["encode_batch"]):
            xb = x[start : start + p["encode_batch"]].to(device, D.dtype)
            synchronize(device)
            t0 = time.perf_counter()
            z = model(xb)
            synchronize(device)
            seconds += time.perf_counter() - t0
            residual = (xb - z @ D.T).pow(2).sum(dim=-1)
            cost = residual if p["cost"] == "reconstruction" else 0.5 * residual + p["lam"] * z.abs().sum(dim=-1)
            out[start : start + xb.shape[0]] = cost.double().cpu()
    return out, seconds
