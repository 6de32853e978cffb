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
