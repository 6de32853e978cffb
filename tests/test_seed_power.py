"""benchmarks/seed_power.py: how often the scorecard's seed-noise test judges simulated cells."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from dpbench.report.claims import Claim

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("seed_power", REPO / "benchmarks" / "seed_power.py")
seed_power = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed_power)

def test_a_large_difference_over_many_seeds_is_judged_and_none_rarely_is():
    rng = np.random.default_rng(1)
    comparison = Claim(kind="comparison", **seed_power.CLAIM)
    assert seed_power.judged_share(comparison, 30, 2.0, 1.0, 200, rng) > 0.95
    assert seed_power.judged_share(comparison, 30, 0.0, 1.0, 200, rng) < 0.15  # the 5 % test's false positives
    spread = Claim(kind="spread", **seed_power.CLAIM)
    assert seed_power.judged_share(spread, 30, 0.0, 6.0, 200, rng) > 0.95
    assert seed_power.judged_share(spread, 5, 0.0, 2.0, 200, rng) < 0.2  # five seeds cannot see a twofold spread
