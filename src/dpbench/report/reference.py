"""The published NMSE-vs-layers curves of the LISTA-CPSS (NeurIPS 2018) and ALISTA (ICLR 2019) papers.

``reference_curves.csv`` next to this module holds one row per plotted point: ``paper``, ``model``
(as the paper names it), ``ours_model`` (our model, empty for LAMP/AMP), ``dataset`` (our synthetic
dataset name: ``synthetic_noiseless``, ``synthetic_snr40``, ...), ``snr_db``, ``layer``, ``nmse_db``,
``source`` (paper, figure and panel) and ``checked`` (``figure-digitized``: read from the vector
paths of the figures, not printed numbers). The problem is m = 250, n = 500, p = 0.1.
"""

from __future__ import annotations

from importlib.resources import files

import pandas as pd

REFERENCE_CSV = files("dpbench.report") / "reference_curves.csv"
PAPERS = ["LISTA-CPSS (NeurIPS 2018)", "ALISTA (ICLR 2019)"]


def load_reference_curves() -> pd.DataFrame:
    """The published curves (see the module docstring)."""
    frame = pd.read_csv(str(REFERENCE_CSV), dtype={"ours_model": str}, keep_default_na=False)
    return frame.astype({"layer": int, "nmse_db": float})


def published_at(curves: pd.DataFrame, layer: int, dataset: str, model: str) -> list[tuple[str, float]]:
    """``(paper, NMSE dB)`` of ``model`` (our name) at ``layer`` on ``dataset``, in :data:`PAPERS` order."""
    rows = curves[(curves["layer"] == layer) & (curves["dataset"] == dataset) & (curves["ours_model"] == model)]
    return sorted(zip(rows["paper"], rows["nmse_db"]), key=lambda pv: PAPERS.index(pv[0]))


# the problem the published NMSE curves were drawn for: an m x n dictionary, Bernoulli(p) codes
PUBLISHED_PROBLEM = {"m": 250, "n": 500, "p": 0.1}


def same_problem(rows: pd.DataFrame, problem: dict[str, float] = PUBLISHED_PROBLEM) -> tuple[bool, str]:
    """Whether every run in ``rows`` solved ``problem`` (their ``param.<key>`` summary columns), and if
    not, how they differ (``m = 64, n = 128``); rows without those columns cannot be said to."""
    differ, unknown = [], []
    for key, value in problem.items():
        column = f"param.{key}"
        if column not in rows or rows[column].isna().all():
            unknown.append(key)
            continue
        ours = sorted({float(v) for v in rows[column].dropna()})
        if ours != [float(value)]:
            differ.append(f"{key} = {', '.join(f'{v:g}' for v in ours)}")
    if differ:
        return False, ", ".join(differ)
    return (False, f"{', '.join(unknown)} not recorded") if unknown else (True, "")
