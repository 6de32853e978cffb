"""The contract a model meets, checked on any model: ``dpbench check-model NAME``.

``NAME`` is a registered model, a variant (``lista[tied=true]``) or a class of your own
(``mylab.models:MyLISTA``, importable from the environment). A sparse coder is checked against the
contract of :class:`dpbench.sparse.SparseEncoder` (constructor, layers, per-layer or shared
parameters, state, ISTA at initialisation where claimed), and then run for a few steps through the
three trainings the tasks use (the synthetic task's staged schedule, the unsupervised training of
the image and anomaly tasks, a supervised head); a clustering model through its constructor and
``fit_predict``. Each check prints what it found and, when it fails, what the contract asks. The
test suite runs the same checks on every registered model (tests/test_registry.py).

    dpbench check-model mylab.models:LISTACPTied
    PYTHONPATH=examples/mylab dpbench check-model mylab.models:LISTACPTied
"""

from __future__ import annotations

import argparse
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dpbench.params import UserError

CONTRACT = "the contract in dpbench.sparse.SparseEncoder's docstring; docs/adding-a-model.md"


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``ok`` True, False (the contract is broken) or None (not applicable)."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        return f"  {mark} {self.name}: {self.detail}"


class ContractError(AssertionError):
    """A check found the contract broken; the message says what the contract asks."""


def _run(name: str, check: Callable[[], str | None]) -> Check:
    try:
        detail = check()
    except ContractError as err:
        return Check(name, False, str(err))
    except Exception as err:  # the model raised: that is the finding
        where = traceback.extract_tb(err.__traceback__)[-1]
        return Check(name, False, f"{type(err).__name__}: {err} (at {where.filename}:{where.lineno})")
    return Check(name, None, "not applicable") if detail is None else Check(name, True, detail)


def _run_after_constructor(checks: list[tuple[str, Callable[[], str | None]]], built: dict[str, Any]) -> list[Check]:
    """Run ``checks`` in order, the first being the constructor (which puts the model in ``built["model"]``);
    without a model the others are reported as not run."""
    results: list[Check] = []
    for check_name, check in checks:
        if check_name != "constructor" and "model" not in built:
            results.append(Check(check_name, None, "not run: the model could not be built"))
            continue
        results.append(_run(check_name, check))
    return results


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


# ---------------------------------------------------------------------------------------------------
# sparse coders


def _problem(m: int = 12, n: int = 24, batch: int = 6, dtype: Any = None, seed: int = 0) -> tuple[Any, Any]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(m, n, generator=gen, dtype=dtype or torch.float64)
    return D / D.norm(dim=0), torch.randn(batch, m, generator=gen, dtype=dtype or torch.float64)


def sparse_checks(name: str) -> list[Check]:
    """Every check of a sparse coder ``name`` (see the module docstring), in order."""
    import torch

    from dpbench.registry import parse_model
    from dpbench.sparse import SparseEncoder, build_model, lasso_objective

    spec, _ = parse_model(name)
    lam, depth = 0.1, 3
    D, x = _problem()
    built: dict[str, Any] = {}

    def construct() -> str:
        model = build_model(name, D, lam, depth)
        _require(isinstance(model, SparseEncoder), f"{type(model).__name__} is not a dpbench.sparse.SparseEncoder")
        _require(model.n_layers == depth and model.lam == lam, "the constructor must call super().__init__(D, lam, n_layers) "
                 f"first (n_layers {model.n_layers}, lam {model.lam}; expected {depth}, {lam})")
        _require(torch.equal(model.D, D), "self.D must be the dictionary given (super().__init__ stores it as a buffer)")
        built["model"] = model
        n = sum(p.numel() for p in model.parameters())
        return f"{type(model).__name__}.from_dictionary(D, lam, n_layers={depth}) builds it ({n} trainable numbers)"

    def layers() -> str:
        model = built["model"]
        with torch.no_grad():
            zs = model(x, return_all=True)
            last = model(x)
            two = model(x, return_all=True, n_layers=2)
        _require(isinstance(zs, list) and len(zs) == depth, f"_iterates(x, {depth}) must yield {depth} codes, one per layer; "
                 f"got {len(zs) if isinstance(zs, list) else type(zs).__name__}")
        for t, z in enumerate(zs, start=1):
            _require(tuple(z.shape) == (x.shape[0], D.shape[1]), f"layer {t}: a code of shape {tuple(z.shape)}, "
                     f"expected (batch, n_atoms) = {(x.shape[0], D.shape[1])}")
            _require(z.dtype == x.dtype, f"layer {t}: codes of dtype {z.dtype} for inputs of {x.dtype} (rule 4)")
            _require(bool(torch.isfinite(z).all()), f"layer {t}: non-finite codes at initialisation")
        _require(torch.equal(last, zs[-1]), "model(x) must be the last layer's code, model(x, return_all=True)[-1]")
        _require(len(two) == 2 and all(torch.allclose(a, b) for a, b in zip(two, zs)),
                 "a run of 2 layers must give the first 2 codes of a deeper run (rule 2)")
        return f"{depth} codes of shape (batch, n_atoms), finite; model(x) is the last; a shallower run gives the same first layers"

    def parameters() -> str:
        model = built["model"]
        names = {n for n, _ in model.named_parameters()}
        _require(model.trainable == spec.learned, f"trainable is {model.trainable} but the registry's entry says learned={spec.learned}")
        if not model.trainable:
            _require(not names, f"trainable = False, yet it has parameters {sorted(names)} (rule 3)")
            return "nothing to learn (trainable = False, no parameters)"
        _require(bool(names), "trainable = True but no parameters: set trainable = False for a solver with nothing to learn (rule 3)")
        shared = set(model.shared_parameters())
        _require(shared <= names, f"shared_parameters() names {sorted(shared - names)}, which are not parameters of the model")
        if model.recurrent:
            _require(shared == names, f"recurrent = True but {sorted(names - shared)} are not shared")
        from dpbench.sparse.staged import layer_dimension_error

        for d in (depth, depth + 1):  # two depths: a parameter whose dim 0 matched n_layers by chance is caught
            deeper = build_model(name, D, lam, d)
            for pname, param in deeper.named_parameters():
                if pname not in deeper.shared_parameters():
                    _require(param.ndim > 0 and param.shape[0] == d, layer_dimension_error(deeper, pname, param))
        per_layer = sorted(names - shared)
        return f"per layer (dim 0 = n_layers): {per_layer or 'none'}; shared: {sorted(shared) or 'none'}"

    def gradients() -> str | None:
        model = built["model"]
        if not model.trainable:
            return None
        model.zero_grad()
        lasso_objective(x, model(x), D, lam).backward()
        for pname, param in model.named_parameters():
            _require(param.grad is not None, f"{pname} gets no gradient from the loss of the last layer's code")
            _require(bool(torch.isfinite(param.grad).all()), f"{pname} gets a non-finite gradient")
        return "every parameter gets a finite gradient from the Lasso loss of the last layer's code"

    def state() -> str:
        model = built["model"]
        copy = build_model(name, D, lam, depth)
        copy.load_state_dict(model.state_dict())
        single = build_model(name, D.float(), lam, depth).float()
        with torch.no_grad():
            _require(torch.equal(copy(x), model(x)), "a copy loaded from state_dict() gives other codes: keep every tensor "
                     "the model needs in a parameter or a registered buffer (rule 4)")
            z32 = single(x.float())
        _require(z32.dtype == torch.float32 and bool(torch.isfinite(z32).all()), "a float32 model must give finite float32 codes")
        return "state_dict() round trip gives the same codes; runs in float32 and float64"

    def ista_at_init() -> str | None:
        if spec.ista_at_init is None:
            return None
        ista = build_model("ista", D, lam, 5)
        model = build_model(name, D, lam, 5, **spec.ista_at_init)
        with torch.no_grad():
            for t, (a, b) in enumerate(zip(ista(x, return_all=True), model(x, return_all=True)), start=1):
                gap = float((a - b).abs().max())
                _require(gap <= 1e-10, f"claims ISTA at initialisation with {spec.ista_at_init}, but layer {t} differs from "
                         f"ISTA's iterate {t} by {gap:.3g} (rule 5; remove the claim or fix the initialisation)")
        return f"with options {spec.ista_at_init}, layers 1-5 equal ISTA's iterates (to 1e-10)"

    def staged() -> str | None:
        if not spec.learned:
            return None
        from dpbench.sparse.staged import train_staged

        D32, _ = _problem(dtype=torch.float32, seed=1)
        model = build_model(name, D32, lam, depth)
        gen = torch.Generator().manual_seed(0)

        def batch(size: int) -> tuple[Any, Any]:
            z = torch.randn(size, D32.shape[1], generator=gen) * (torch.rand(size, D32.shape[1], generator=gen) < 0.2)
            return z @ D32.T, z

        x_val, z_val = batch(32)
        run = train_staged(model, batch, x_val, z_val, lr=1e-3, batch_size=16, val_every=1, patience=0, max_steps=2)
        return f"the synthetic task's layer-wise schedule: {run.stages} sub-stages, {run.steps} steps"

    def unsupervised() -> str | None:
        if not spec.learned:
            return None
        from dpbench.sparse.train import train_encoder

        D32, x32 = _problem(batch=48, dtype=torch.float32, seed=2)
        model = build_model(name, D32, lam, depth)
        result = train_encoder(model, x32, D32, lam, epochs=2, batch_size=16, lr=1e-3, generator=torch.Generator().manual_seed(0),
                               log_every=0)
        _require(all(math.isfinite(v) for v in result.losses), f"non-finite training losses {result.losses}")
        return f"as the image and anomaly tasks train it, 2 epochs: losses {', '.join(f'{v:.4g}' for v in result.losses)}"

    def supervised() -> str:
        from dpbench.sparse.train import train_supervised

        D32, x32 = _problem(batch=48, dtype=torch.float32, seed=3)
        model = build_model(name, D32, lam, depth)
        head = torch.nn.Linear(D32.shape[1], 3)
        labels = torch.arange(48) % 3
        result = train_supervised(model, head, x32, labels, D32, lam, epochs=1, batch_size=16, lr=1e-3,
                                  generator=torch.Generator().manual_seed(0), log_every=0)
        return f"encoder + linear head as the image task trains them, 1 epoch: loss {result.losses[-1]:.4g}"

    return _run_after_constructor([
        ("constructor", construct), ("layers", layers), ("parameters", parameters), ("gradients", gradients),
        ("state", state), ("ista at initialisation", ista_at_init), ("staged training", staged),
        ("unsupervised training", unsupervised), ("supervised training", supervised)], built)


# ---------------------------------------------------------------------------------------------------
# clustering models


def cluster_checks(name: str) -> list[Check]:
    """The checks of a clustering model ``name``: it builds, and ``fit_predict`` labels every row with
    one of ``n_clusters`` labels, the same labels for the same seed."""
    import numpy as np
    import torch

    from dpbench.tasks.clustering import build_model, takes_numpy

    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [8.0, 8.0], [0.0, 8.0]])
    x = np.concatenate([c + rng.normal(size=(30, 2)) for c in centres]).astype(np.float32)
    data = x if takes_numpy(name) else torch.from_numpy(x)
    small = {"kmeansnet": {"epochs": 2}, "kmeansnet_tell": {"epochs": 2}}
    params = small.get(name.split("[")[0], {})
    built: dict[str, Any] = {}

    def construct() -> str:
        built["model"] = build_model(name, 3, 0, torch.device("cpu"), params)
        return f"{type(built['model']).__name__}(n_clusters=3, random_state=0) builds it"

    def labels() -> str:
        pred = np.asarray(built["model"].fit_predict(data))
        _require(pred.shape == (len(x),), f"fit_predict must return one label per row: shape {pred.shape}, expected ({len(x)},)")
        _require(set(pred.tolist()) <= {0, 1, 2}, f"labels must lie in 0..n_clusters-1; got {sorted(set(pred.tolist()))}")
        again = np.asarray(build_model(name, 3, 0, torch.device("cpu"), params).fit_predict(data))
        _require(np.array_equal(pred, again), "the same random_state must give the same labels")
        return f"fit_predict labels every row with one of 3 clusters, the same for the same seed ({len(set(pred.tolist()))} used)"

    return _run_after_constructor([("constructor", construct), ("fit_predict", labels)], built)


def detector_checks(name: str) -> list[Check]:
    """An anomaly detector with no encoder (the floor): built from the config's ``floor`` parameters, it
    gives one finite score per frame of a clip, and a moving square scores above a still frame."""
    import numpy as np

    from dpbench.registry import parse_model

    spec, _ = parse_model(name)
    built: dict[str, Any] = {}

    def construct() -> str:
        built["model"] = spec.load().from_params({"size": [32, 32], "block": 4, "smooth": 1})
        return f"{type(built['model']).__name__}.from_params(floor parameters) builds it"

    def scores() -> str:
        clip = np.zeros((6, 32, 32), dtype=np.uint8)
        for t in range(3, 6):
            clip[t, 8:16, 4 * t:4 * t + 8] = 255
        out = np.asarray(built["model"].score(clip))
        _require(out.shape == (6,), f"score must return one value per frame: shape {out.shape}, expected (6,)")
        _require(bool(np.isfinite(out).all()), "scores must be finite")
        _require(out[4] > out[1], f"a moving square must score above still frames: {out[4]} <= {out[1]}")
        return "score gives one finite value per frame, higher where something moves"

    return _run_after_constructor([("constructor", construct), ("score", scores)], built)


def check_model(name: str) -> list[Check]:
    """Every check of model ``name`` (a sparse coder, a clustering model or an anomaly detector)."""
    from dpbench.registry import parse_model

    spec, _ = parse_model(name)
    checks = {"sparse": sparse_checks, "detector": detector_checks}
    return checks.get(spec.family, cluster_checks)(name)


def report(name: str, checks: list[Check]) -> str:
    from dpbench.registry import parse_model

    spec, _ = parse_model(name)
    head = (f"{name}: a {'learned' if spec.learned else 'classical'} {spec.family} model, label {spec.label!r}, tasks "
            f"{', '.join(spec.tasks)}; jobs on {'the configured device' if spec.needs_gpu else 'the CPU'}")
    failed = [c for c in checks if c.ok is False]
    tail = (f"{len(failed)} check(s) failed: see {CONTRACT}" if failed else
            "meets the contract: name it in a config's models lists, or run `dpbench run TASK --model NAME`")
    return "\n".join([head, *(c.line() for c in checks), tail])


def _command(args: argparse.Namespace) -> None:
    import logging

    import torch

    if not args.verbose:
        logging.getLogger("dpbench").setLevel(logging.WARNING)  # the trainings' progress lines
    torch.manual_seed(0)
    checks = check_model(args.name)
    print(report(args.name, checks))
    if any(c.ok is False for c in checks):
        raise UserError(f"{args.name} does not meet the contract")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check-model`` command."""
    p = sub.add_parser("check-model", help="check a model (yours: package.module:Class) against the contract the tasks rely on")
    p.add_argument("name", help="a registered model, a variant (lista[tied=true]) or package.module:Class")
    p.set_defaults(func=_command)
