"""How many seeds a comparison or spread claim needs: how often the scorecard's seed-noise test
(:func:`dpbench.report.claims.noise_test`, the code the scorecard runs) judges a cell, for normally
distributed results with a known true difference, by seeds per side (a script, not a test).

For a comparison, the true advantage of A over B is given in units of the seeds' sd; for a spread,
as the ratio of B's sd to A's. Each row is the share of simulated cells the scorecard judges
(p < ALPHA) rather than calling ``within noise``; the first column of each table, no true
difference, is the false-positive rate. Results depend on the seeds' distribution: a bimodal one
(k-means falling into one of two partitions) is judged less often than a normal one.

    python benchmarks/seed_power.py              # 2,000 simulated cells per entry
    python benchmarks/seed_power.py --trials 500 --seeds 3 5 10
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from dpbench.report.claims import ALPHA, Cell, Claim, noise_test

ADVANTAGES = (0.0, 0.5, 1.0, 2.0)  # true advantage of A, in sds
RATIOS = (1.0, 1.5, 2.0, 3.0, 6.0)  # true sd of B over sd of A
# a claim setting model "a" against model "b": only its kind, metric and margin reach the test
CLAIM = {"id": "power", "paper": "-", "text": "-", "source": "-", "task": "clustering", "datasets": ("-",),
         "metric": "acc", "model": "a", "than": "b"}


def cell(values: np.ndarray) -> Cell:
    return Cell(float(values.mean()), float(values.std(ddof=1)), len(values), len(values), tuple(map(float, values)))


def judged_share(claim: Claim, n: int, shift: float, scale: float, trials: int, rng: np.random.Generator) -> float:
    """The share of ``trials`` simulated cells (A: N(shift, 1), B: N(0, scale), n seeds each) judged."""
    judged = 0
    for _ in range(trials):
        p, _ = noise_test(claim, cell(rng.normal(shift, 1.0, n)), cell(rng.normal(0.0, scale, n)))
        judged += not math.isnan(p) and p < ALPHA
    return judged / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 10, 30], help="seeds per side")
    parser.add_argument("--trials", type=int, default=2000, help="simulated cells per entry")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    comparison, spread = Claim(kind="comparison", **CLAIM), Claim(kind="spread", **CLAIM)
    rows = {n: {f"A ahead by {d:g} sd": judged_share(comparison, n, d, 1.0, args.trials, rng) for d in ADVANTAGES}
            for n in args.seeds}
    print(f"Comparison (Welch's t-test at {ALPHA:g}): share of cells judged, {args.trials} simulated cells each\n")
    print(pd.DataFrame(rows).T.rename_axis("seeds a side").to_markdown(floatfmt=".2f"))
    rows = {n: {f"sd ratio {r:g}": judged_share(spread, n, 0.0, r, args.trials, rng) for r in RATIOS} for n in args.seeds}
    print(f"\nSpread (Brown-Forsythe test at {ALPHA:g}): share of cells judged, {args.trials} simulated cells each\n")
    print(pd.DataFrame(rows).T.rename_axis("seeds a side").to_markdown(floatfmt=".2f"))


if __name__ == "__main__":
    main()
