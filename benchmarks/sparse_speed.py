"""Encoding speed of sparse coders on the same inputs (a script, not a test).

Encodes ``--n`` synthetic signals (the LISTA-CP/ALISTA problem, ``m x n`` dictionary, Bernoulli(0.1)-
Gaussian codes) with scikit-learn's ``SparseCoder(transform_algorithm="lasso_cd")``, our FISTA at
100 and 1,000 iterations, and LISTA / SC2Net at 16 layers after a short training, on the chosen
device; prints wall time, NMSE (dB) against the true codes and the Lasso-objective gap to the
scikit-learn solution.

    python benchmarks/sparse_speed.py --n 2000
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from sklearn.decomposition import SparseCoder

from dpbench.runtime import resolve_device, seed_everything, synchronize
from dpbench.sparse import build_model, lasso_objective
from dpbench.sparse.train import train_regression_stream
from dpbench.tasks.synthetic import make_dictionary, sample_problem


def timed_encode(model: torch.nn.Module, x: torch.Tensor, device: torch.device) -> tuple[float, torch.Tensor]:
    """Wall time of one encoding pass of ``x`` (GPU work included) and the codes, on the CPU."""
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad():
        out = model(x)
    synchronize(device)
    return time.perf_counter() - start, out.cpu()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of signals to encode")
    parser.add_argument("--m", type=int, default=250)
    parser.add_argument("--atoms", type=int, default=500)
    parser.add_argument("--lam", type=float, default=0.1)
    parser.add_argument("--train-steps", type=int, default=1000, help="training batches for LISTA/SC2Net")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    gen = seed_everything(args.seed)
    D = make_dictionary(args.m, args.atoms, gen)
    x, z = sample_problem(D, args.n, 0.1, None, gen)
    lam = args.lam

    rows: list[tuple[str, float, torch.Tensor]] = []
    coder = SparseCoder(dictionary=D.T.double().numpy(), transform_algorithm="lasso_cd", transform_alpha=lam)
    start = time.perf_counter()
    z_sk = torch.as_tensor(coder.transform(x.double().numpy()), dtype=torch.float32)
    rows.append(("sklearn SparseCoder lasso_cd", time.perf_counter() - start, z_sk))

    Dd, xd = D.to(device), x.to(device)
    for iters in (100, 1000):
        rows.append((f"FISTA {iters} it", *timed_encode(build_model("fista", Dd, lam, iters), xd, device)))

    for name in ("lista", "sc2net"):
        model = build_model(name, Dd, lam, 16)
        t0 = time.perf_counter()
        train_regression_stream(model, lambda: sample_problem(D, 64, 0.1, None, gen), n_steps=args.train_steps,
                                lr=1e-3, layer_loss="mean_log", device=device, log_every=0)
        train_s = time.perf_counter() - t0
        rows.append((f"{name} 16 layers (trained {train_s:.0f} s)", *timed_encode(model, xd, device)))

    f_ref = float(lasso_objective(x, z_sk, D, lam))
    signal = float(z.pow(2).sum())
    print(f"device={device}  n={args.n}  dictionary {args.m}x{args.atoms}  lam={lam}  torch threads={torch.get_num_threads()}")
    print(f"{'method':<40s} {'time (s)':>10s} {'NMSE (dB)':>10s} {'obj - obj(sklearn)':>20s}")
    for label, seconds, codes in rows:
        nmse = 10 * math.log10(float((codes - z).pow(2).sum()) / signal)
        gap = float(lasso_objective(x, codes, D, lam)) - f_ref
        print(f"{label:<40s} {seconds:10.3f} {nmse:10.2f} {gap:20.3e}")


if __name__ == "__main__":
    main()
