"""Synthetic sparse-recovery benchmark (the protocol of LISTA-CP, Chen et al. NeurIPS 2018, and
ALISTA, Liu et al. ICLR 2019).

Problem: ``D`` (``m x n``) with i.i.d. ``N(0, 1/m)`` entries, then unit-norm columns; codes
``z = Bernoulli(p) * N(0, 1)``; signals ``x = D z`` (plus white Gaussian noise at ``snr_db`` dB when
set). The dictionary and the held-out test set depend only on ``seed`` (separate seed streams), so
every model is compared on the same problem for a given seed; training batches come from a third
stream (drawn on the device) and the validation set from a fourth. Learned models regress onto the
true codes (supervised recovery) with Adam on freshly drawn batches, by default with the authors'
staged schedule (:mod:`dpbench.sparse.staged`; ``schedule="joint"``: one stage of ``n_steps`` steps
on a loss over all layers, ``layer_loss``). Their thresholds start from ``init_lam / L`` (the
authors' ``lam = 0.4``); ISTA/FISTA are run untrained with ``lam``. For every depth
``t = 1..n_layers`` we report

* ``nmse_db``: ``10 log10(sum ||z_t - z||^2 / sum ||z||^2)`` over the test set;
* ``objective_gap``: ``F(z_t) - F(z_ref)`` with ``F`` the batch-mean Lasso objective (``lam``) and
  ``z_ref`` FISTA run for ``fista_iters`` iterations.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from typing import Any

import numpy as np
import torch

from dpbench.checkpoint import TrainingCheckpoint
from dpbench.registry import model_spec
from dpbench.sparse import MODELS, build_model, check_model, lasso_objective
from dpbench.sparse.sc2net import gate_records
from dpbench.sparse.staged import train_staged
from dpbench.sparse.train import fista_codes, train_regression_stream
from dpbench.tasks.synthetic_grid import dataset_name

logger = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, Any] = {
    "m": 250,
    "n": 500,
    "p": 0.1,
    "snr_db": None,
    "n_layers": 16,
    "lam": 0.1,
    "init_lam": 0.4,
    "schedule": "staged",
    "lr": 5e-4,
    "lr_decays": [0.2, 0.02],
    "layer_decay": 0.3,
    "batch_size": 64,
    "n_val": 1000,
    "val_every": 10,
    "patience": 4000,
    "max_steps": 200000,
    "n_steps": 3000,
    "layer_loss": "mean_log",
    "n_test": 1000,
    "fista_iters": 2000,
    "log_every": 500,
    "model_options": {},
}
"""Hyperparameters; ``--params`` overrides any of them. ``schedule`` is ``staged`` (``lr``,
``lr_decays``, ``layer_decay``, ``n_val``, ``val_every``, ``patience``, ``max_steps``: see
:func:`dpbench.sparse.staged.train_staged`) or ``joint`` (``n_steps`` batches at ``lr`` on
``layer_loss``)."""

SCHEDULES = ("staged", "joint")

_PROBLEM_STREAM, _TEST_STREAM, _TRAIN_STREAM, _VAL_STREAM = 0, 1, 2, 3


def resolve_params(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults updated with ``overrides``; an unknown key raises :class:`dpbench.params.UserError`."""
    from dpbench.params import UserError, with_defaults

    params = with_defaults("synthetic", DEFAULT_PARAMS, overrides)
    if not isinstance(params["model_options"], dict):
        raise UserError("synthetic parameter 'model_options' must be a JSON object")
    if params["schedule"] not in SCHEDULES:
        raise UserError(f"synthetic parameter 'schedule' is {params['schedule']!r}: expected one of {SCHEDULES}")
    return params


def _generator(seed: int, stream: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` for one independent stream of a seed (NumPy ``SeedSequence`` spawning)."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(2, dtype=np.uint32)
    return torch.Generator(device=device).manual_seed(int(state[0]) << 32 | int(state[1]))


def make_dictionary(m: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """``D`` with i.i.d. ``N(0, 1/m)`` entries, then columns scaled to unit norm."""
    D = torch.randn(m, n, generator=generator) / math.sqrt(m)
    return D / D.norm(dim=0, keepdim=True)


def sample_problem(
    D: torch.Tensor, batch: int, p: float, snr_db: float | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, z)``: Bernoulli(p)-Gaussian codes and signals ``x = D z`` (+ noise at ``snr_db`` dB per
    signal), drawn on ``D``'s device (``generator`` must be there too)."""
    n = D.shape[1]
    support = torch.rand(batch, n, generator=generator, device=D.device) < p
    z = torch.randn(batch, n, generator=generator, device=D.device) * support
    x = z @ D.T
    if snr_db is not None:
        noise = torch.randn(x.shape, generator=generator, device=D.device)
        scale = x.norm(dim=1, keepdim=True) / noise.norm(dim=1, keepdim=True).clamp_min(1e-12)
        x = x + noise * scale * 10.0 ** (-snr_db / 20.0)
    return x, z


def train_model(model: Any, D: torch.Tensor, params: dict[str, Any], seed: int, checkpoint: TrainingCheckpoint | None) -> dict[str, Any]:
    """Train ``model`` on fresh batches of the problem of ``D`` with the configured schedule; returns
    what the run did (``train_steps``, ``train_stages``, ``train_time_s``)."""
    p, snr, device = params["p"], params["snr_db"], D.device
    train_gen = _generator(seed, _TRAIN_STREAM, device)
    start = time.perf_counter()
    if params["schedule"] == "staged":
        x_val, z_val = (t.to(device) for t in sample_problem(D.cpu(), params["n_val"], p, snr, _generator(seed, _VAL_STREAM)))
        run = train_staged(
            model,
            lambda b: sample_problem(D, b, p, snr, train_gen),
            x_val,
            z_val,
            lr=params["lr"],
            lr_decays=params["lr_decays"],
            layer_decay=params["layer_decay"],
            batch_size=params["batch_size"],
            val_every=params["val_every"],
            patience=params["patience"],
            max_steps=params["max_steps"],
            checkpoint=checkpoint,
            rng=train_gen,
        )
        steps, stages = run.steps, run.stages
    else:
        train_regression_stream(
            model,
            lambda: sample_problem(D, params["batch_size"], p, snr, train_gen),
            n_steps=params["n_steps"],
            lr=params["lr"],
            layer_loss=params["layer_loss"],
            device=device,
            log_every=params["log_every"],
            checkpoint=checkpoint,
            rng=train_gen,
        )
        steps, stages = params["n_steps"], 1
    seconds = time.perf_counter() - start
    logger.info("%s trained in %.1f s: %d steps, %d stages", type(model).__name__, seconds, steps, stages)
    return {"train_steps": steps, "train_stages": stages, "train_time_s": seconds}


def run_synthetic(
    model_name: str,
    params: dict[str, Any],
    seed: int,
    device: torch.device | str,
    checkpoint: TrainingCheckpoint | None = None,
    info: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train (if learnable) and evaluate ``model_name``; one ``nmse_db`` and one ``objective_gap``
    record per depth ``t = 1..n_layers``, and for learned models ``train_steps``, ``train_stages`` and
    ``train_seconds`` (at ``layers = n_layers``). Training resumes from ``checkpoint`` when one is saved.
    What the training did (:func:`train_model`) is added to ``info`` when given."""
    check_model(model_name, task="synthetic")
    params = resolve_params(params)
    device = torch.device(device)
    m, n, p, snr, T, lam = (params[k] for k in ("m", "n", "p", "snr_db", "n_layers", "lam"))

    D = make_dictionary(m, n, _generator(seed, _PROBLEM_STREAM))
    x_test, z_test = sample_problem(D, params["n_test"], p, snr, _generator(seed, _TEST_STREAM))
    D, x_test, z_test = D.to(device), x_test.to(device), z_test.to(device)

    torch.manual_seed(seed)
    trainable = model_spec(model_name).learned
    model = build_model(model_name, D, params["init_lam"] if trainable else lam, T, **params["model_options"]).to(device)
    if trainable:
        done = train_model(model, D, params, seed, checkpoint)
        if info is not None:
            info.update(done)

    with torch.no_grad():
        z_ref = fista_codes(x_test, D, lam, params["fista_iters"])
        f_ref = float(lasso_objective(x_test, z_ref, D, lam))
        signal = float(z_test.pow(2).sum())
        records: list[dict[str, Any]] = []
        for t, z_t in enumerate(model(x_test, return_all=True), start=1):
            nmse = float((z_t - z_test).pow(2).sum()) / signal
            records.append({"metric": "nmse_db", "value": 10.0 * math.log10(nmse), "layers": t})
            records.append({"metric": "objective_gap", "value": float(lasso_objective(x_test, z_t, D, lam)) - f_ref, "layers": t})
    if trainable:
        records += [{"metric": metric, "value": done[key], "layers": T}
                    for metric, key in (("train_steps", "train_steps"), ("train_stages", "train_stages"), ("train_seconds", "train_time_s"))]
    return records + gate_records(model, x_test)


def _command(args: argparse.Namespace) -> None:
    from dpbench.params import parse_params
    from dpbench.results import divergence_recorded, params_hash, write_result
    from dpbench.runtime import resolve_device, run_metadata, seed_everything

    params = resolve_params(parse_params(args.params))
    device = resolve_device(args.device)
    seed_everything(args.seed, device)
    ident = {"task": "synthetic", "dataset": args.dataset or dataset_name(params["snr_db"]), "model": args.model, "seed": args.seed}
    checkpoint = TrainingCheckpoint(f"{args.output}.ckpt", fingerprint=params_hash({**ident, "params": params, "device": device.type}))
    with divergence_recorded(args.output, **ident, params=params):
        start = time.perf_counter()
        info: dict[str, Any] = {}
        records = run_synthetic(args.model, params, args.seed, device, checkpoint, info)
        meta = {**run_metadata(device, args.seed), "wall_time_s": time.perf_counter() - start, **info}
        write_result(args.output, **ident, records=records, params=params, meta=meta)
    checkpoint.discard()


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synthetic`` command."""
    parser = subparsers.add_parser("synthetic", help="synthetic sparse-recovery benchmark (LISTA-CP/ALISTA protocol)")
    parser.add_argument("--model", required=True, help=f"one of {', '.join(sorted(MODELS))}")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--params", default="{}", help=f"JSON object overriding {sorted(DEFAULT_PARAMS)}")
    parser.add_argument("--dataset", default=None, help="dataset label (default: from snr_db)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--output", required=True, help="per-job result JSON")
    parser.set_defaults(func=_command)
