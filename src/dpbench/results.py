"""Per-job result files and their aggregation into one tidy table.

Each job writes one JSON file::

    {"task": ..., "dataset": ..., "model": ..., "seed": ...,
     "status": "ok",
     "records": [{"metric": "acc", "value": 0.81, "layers": 16, ...}, ...],
     "params": {...}, "meta": {...}}

``records`` may carry extra sweep columns (``layers``, ``features``, ...). Aggregation turns every
record into one row ``task,dataset,model,seed,metric,value[,extra columns]`` (benchopt style), and
appends the job's parameters as columns ``param.<key>`` (nested keys joined by ``.``, lists as
JSON): the setting each number was produced under, which the claims scorecard compares with the
setting a paper's number holds for (:mod:`dpbench.report.claims`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dpbench.io import read_json, write_json
from dpbench.params import PARAM_PREFIX, DivergenceError

log = logging.getLogger(__name__)

KEY_COLUMNS = ["task", "dataset", "model", "seed", "metric", "value"]
# columns each record of a job carries that are parameters of the job: column -> its parameter column
JOB_COLUMNS = {"protocol": PARAM_PREFIX + "data.protocol"}


def flatten_params(params: Mapping[str, Any], prefix: str = PARAM_PREFIX) -> dict[str, Any]:
    """A job's parameters as flat summary columns: ``{"a": {"b": 1}, "c": [1, 2]}`` ->
    ``{"param.a.b": 1, "param.c": "[1, 2]"}`` (lists as JSON, so that a CSV cell holds them)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Mapping):
            flat |= flatten_params(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            flat[f"{prefix}{key}"] = json.dumps(list(value), default=str)
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def params_hash(params: Mapping[str, Any]) -> str:
    """Short, stable hash of a job's hyperparameters (stored with the result)."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def write_result(
    path: str | os.PathLike[str],
    *,
    task: str,
    dataset: str,
    model: str,
    seed: int,
    records: Iterable[Mapping[str, Any]],
    params: Mapping[str, Any],
    meta: Mapping[str, Any],
    status: str = "ok",
    message: str | None = None,
) -> None:
    """Write one job's metrics atomically (see the module docstring for the layout)."""
    records = [dict(r) for r in records]
    for rec in records:
        if "metric" not in rec or "value" not in rec:
            raise ValueError(f"record without metric/value: {rec}")
        value = rec["value"]
        rec["value"] = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    write_json(
        path,
        {
            "task": task,
            "dataset": dataset,
            "model": model,
            "seed": int(seed),
            "status": status,
            "message": message,
            "records": records,
            "params": dict(params),
            "params_hash": params_hash(params),
            "meta": dict(meta),
        },
    )


def write_diverged(
    path: str | os.PathLike[str],
    *,
    task: str,
    dataset: str,
    model: str,
    seed: int,
    params: Mapping[str, Any],
    error: Exception,
) -> str:
    """Write a ``status: "diverged"`` result (no records) for a job whose training diverged; return its message."""
    message = f"{task}/{dataset}/{model} seed {seed}: {error}"
    log.error("%s -- recorded as diverged in %s", message, path)
    write_result(path, task=task, dataset=dataset, model=model, seed=seed, records=[], params=params,
                 meta={}, status="diverged", message=message)
    return message


@contextlib.contextmanager
def divergence_recorded(
    path: str | os.PathLike[str],
    *,
    task: str,
    dataset: str,
    model: str,
    seed: int,
    params: Mapping[str, Any],
    placeholders: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Run a job's body; if its training diverges, write a ``status: "diverged"`` result instead.

    The job then ends normally, so the rest of the grid goes on and the tables show the cell as
    failed (with the message in the result file) rather than dropping it or printing NaN metrics.
    ``placeholders()`` writes the job's other outputs (e.g. per-frame scores) in that case.
    """
    try:
        yield
    except DivergenceError as err:
        write_diverged(path, task=task, dataset=dataset, model=model, seed=seed, params=params, error=err)
        if placeholders is not None:
            placeholders()


def load_results(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Read per-job result files into one tidy frame; a missing or corrupt file is named in the error."""
    rows: list[dict[str, Any]] = []
    for path in paths:
        path = Path(path)
        doc = read_json(path)
        try:
            ident = {k: doc[k] for k in ("task", "dataset", "model", "seed")}
            records = doc["records"]
        except (KeyError, TypeError) as err:
            raise ValueError(f"result file {path} lacks field {err}") from err
        status = doc.get("status", "ok")
        params = flatten_params(doc.get("params") or {})
        if status != "ok" and not records:
            rows.append({**ident, "metric": None, "value": None, "status": status, **params})
        for rec in records:
            rows.append({**ident, **rec, "status": status, **params})
    if not rows:
        raise ValueError("no result records to aggregate")
    frame = fill_job_columns(pd.DataFrame(rows))
    extra = [c for c in frame.columns if c not in KEY_COLUMNS and not c.startswith(PARAM_PREFIX)]
    param_columns = sorted(c for c in frame.columns if c.startswith(PARAM_PREFIX))
    return frame[KEY_COLUMNS + extra + param_columns]


def fill_job_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns of :data:`JOB_COLUMNS` filled from the job's parameters where empty.

    A failed job's row has no records, so none of the columns its records would have carried: without
    its ``protocol`` a diverged image job fell into a cell of its own ("mnist" beside "mnist (official)"),
    where tables showed it in a column apart and claims did not see it. Summaries aggregated before this
    was done are filled when they are read."""
    for column, param in JOB_COLUMNS.items():
        if param in frame:
            frame[column] = frame[column].fillna(frame[param]) if column in frame else frame[param]
    return frame
