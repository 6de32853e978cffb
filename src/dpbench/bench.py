"""Speed benchmark: ``python -m dpbench.bench`` (or ``make bench``).

For each sparse model at 16 layers on MNIST-sized input (784 -> 256 atoms, batch 1,024), prints
training steps per second (one Adam step on the unsupervised Lasso loss) and inference samples per
second on the chosen device, next to scikit-learn's ``SparseCoder`` (``lasso_cd``, ``lasso_lars``)
on the CPU, the reference a user would otherwise pick; and ``synthetic_steps_per_s``: training
steps per second of the synthetic task's regression step (the full 250 x 500 problem, batch 64,
samples drawn on the device, no read-back of the loss, as :mod:`dpbench.sparse.staged` runs it;
``--synthetic-steps 0`` skips it). ``--preset`` also times the quick preset of the workflow end to
end. Every figure is the median of ``--repeats`` timed runs after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from sklearn.decomposition import SparseCoder

from dpbench.runtime import resolve_device, seed_everything, set_tf32, synchronize
from dpbench.sparse import MODELS, build_model, lasso_objective


def median_seconds(fn: Callable[[], object], device: torch.device, repeats: int) -> tuple[float, float]:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up run, and the warm-up's time
    (with ``torch.compile``, the warm-up compiles)."""
    start = time.perf_counter()
    fn()
    synchronize(device)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), first


def problem(n_features: int, n_atoms: int, batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A unit-norm random dictionary and inputs made of sparse codes (10 % non-zeros)."""
    gen = torch.Generator().manual_seed(seed)
    D = torch.randn(n_features, n_atoms, generator=gen)
    D /= D.norm(dim=0, keepdim=True)
    z = torch.randn(batch, n_atoms, generator=gen) * (torch.rand(batch, n_atoms, generator=gen) < 0.1)
    return D, z @ D.T


def bench_models(args: argparse.Namespace, device: torch.device) -> list[dict[str, object]]:
    D, x = problem(args.n_features, args.n_atoms, args.batch)
    D, x = D.to(device), x.to(device)
    rows = []
    for name in args.models:
        model = build_model(name, D, args.lam, args.layers).to(device)
        if args.compile:
            model = torch.compile(model)
        with torch.no_grad():
            infer, first_infer = median_seconds(lambda: model(x), device, args.repeats)
        train = first_train = float("nan")
        if MODELS[name].trainable:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step() -> None:
                opt.zero_grad(set_to_none=True)
                lasso_objective(x, model(x), D, args.lam).backward()
                opt.step()

            train, first_train = median_seconds(step, device, args.repeats)
        row = {"method": name, "device": str(device), "train_steps_per_s": 1 / train, "infer_samples_per_s": args.batch / infer}
        if args.compile:  # what compiling costs once per job, against what it saves per step
            row |= {"compile_infer_s": first_infer, "compile_train_s": first_train}
        rows.append(row)
        print(f"  {name}: done", file=sys.stderr)
    # scikit-learn's SparseCoder solves the same Lasso: it divides transform_alpha by n_features
    # itself to match its Lasso's 1/(2 n_samples) scaling
    xs, Ds = x.cpu().double().numpy(), D.cpu().double().numpy()
    for algo in ("lasso_cd", "lasso_lars") if args.sklearn_samples > 0 else ():
        coder = SparseCoder(Ds.T, transform_algorithm=algo, transform_alpha=args.lam)
        n = min(args.batch, args.sklearn_samples)
        seconds, _ = median_seconds(lambda: coder.transform(xs[:n]), torch.device("cpu"), max(1, args.repeats // 5))
        rows.append({"method": f"sklearn SparseCoder ({algo})", "device": "cpu", "train_steps_per_s": float("nan"), "infer_samples_per_s": n / seconds})
    return rows


def bench_synthetic(args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    """Steps per second of the synthetic regression step per trainable model (see the module docstring)."""
    from dpbench.tasks.synthetic import _generator, make_dictionary, sample_problem

    D = make_dictionary(args.synthetic_m, args.synthetic_n, _generator(0, 0)).to(device)
    gen = _generator(0, 2, device)
    speeds = {}
    for name in args.models:
        if not MODELS[name].trainable:
            continue
        model = build_model(name, D, 0.4, args.layers).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=5e-4)

        def steps() -> None:
            for _ in range(args.synthetic_steps):
                x, z = sample_problem(D, 64, 0.1, None, gen)
                opt.zero_grad(set_to_none=True)
                (model(x) - z).pow(2).sum(dim=1).mean().backward()
                opt.step()
                model.project_()

        seconds, _ = median_seconds(steps, device, max(1, args.repeats // 2))
        speeds[name] = args.synthetic_steps / seconds
        print(f"  {name}: synthetic done", file=sys.stderr)
    return speeds


def time_quick_preset(repo: Path) -> float:
    """Wall time of the quick preset end to end, in a temporary results and data folder."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "snakemake", "--cores", "all", "--quiet", "--configfile", "workflow/presets/quick.yaml",
             "--config", f"results_dir={tmp}/results", f"data_dir={tmp}/data"],
            cwd=repo, check=True,
        )
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dpbench.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--n-features", type=int, default=784)
    parser.add_argument("--n-atoms", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--lam", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sklearn-samples", type=int, default=256, help="inputs timed for SparseCoder (it is slow; 0: skip it)")
    parser.add_argument("--synthetic-steps", type=int, default=5, help="steps per timed run of the synthetic step (0: skip it)")
    parser.add_argument("--synthetic-m", type=int, default=250)
    parser.add_argument("--synthetic-n", type=int, default=500)
    parser.add_argument("--compile", action="store_true", help="torch.compile each model first")
    parser.add_argument("--tf32", action="store_true", help="TF32 matmuls and convolutions on CUDA (the config's tf32: true)")
    parser.add_argument("--preset", action="store_true", help="also time the quick preset end to end")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    seed_everything(0, device)  # as every job does (it also flushes CPU denormals)
    set_tf32(args.tf32)
    print(f"dpbench bench: {args.layers} layers, {args.n_features} -> {args.n_atoms} atoms, batch {args.batch}, "
          f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}), "
          f"median of {args.repeats}", file=sys.stderr)
    import pandas as pd

    table = pd.DataFrame(bench_models(args, device))
    if args.synthetic_steps > 0:
        table["synthetic_steps_per_s"] = table["method"].map(bench_synthetic(args, device))
    print(table.to_markdown(index=False, floatfmt=".3g"))
    if args.preset:
        seconds = time_quick_preset(Path(__file__).resolve().parents[2])
        print(f"\nquick preset end to end: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
