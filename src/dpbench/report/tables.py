"""LaTeX tables: models as rows, datasets x metrics as columns, mean ± sd over seeds, best in bold.

Built with pandas ``Styler.to_latex`` (booktabs rules). A cell whose seeds did not all produce a
finite value says how many did, e.g. ``0.81 $\\pm$ 0.02 (2/3)``; a cell with none says ``failed``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from dpbench.report.specs import FILTERS, HIGHER_IS_BETTER, METRIC_LABELS, TASKS, UNRANKED, model_rank


def _column_label(row: pd.Series, columns: list[str]) -> str:
    parts = [str(row[c]) for c in columns if c in row and not pd.isna(row[c])]
    if len(parts) > 1 and parts[1] == "pixels":
        parts = parts[:1]
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def seed_stats(frame: pd.DataFrame, columns: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean, sd and counts over seeds per (model, column, metric); failed seeds count in ``n_total``."""
    frame = frame[frame["metric"].isin(metrics) | frame["metric"].isna()].copy()
    frame["column"] = frame.apply(_column_label, axis=1, columns=columns)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    grouped = frame.groupby(["model", "column", "metric"], dropna=True)["value"]
    stats = grouped.agg(mean="mean", sd="std", n_ok="count", n_total="size").reset_index()
    # a seed that failed outright (no records) still counts against every metric of its cell
    totals = frame.groupby(["model", "column"])["seed"].nunique().rename("n_seeds").reset_index()
    stats = stats.merge(totals, on=["model", "column"])
    stats["n_total"] = stats[["n_total", "n_seeds"]].max(axis=1)
    return stats.drop(columns="n_seeds")


def format_cell(mean: float, sd: float, n_ok: int, n_total: int, digits: int) -> str:
    if n_ok == 0 or math.isnan(mean):
        return "failed"
    text = f"{mean:.{digits}f}"
    if n_ok > 1 and not math.isnan(sd):
        text += f" $\\pm$ {sd:.{digits}f}"
    if n_ok < n_total:
        text += f" ({n_ok}/{n_total})"
    return text


def metric_digits(metric: str) -> int:
    """Decimals shown for ``metric``: none for step counts, one for dB, seconds and frames per second, three for scores."""
    if metric in UNRANKED:
        return 0
    return 1 if metric in {"nmse_db", "psnr", "fps", "fit_seconds"} else 3


def task_table(summary: pd.DataFrame, task: str) -> Styler:
    """The styled table of ``task`` from the tidy summary frame."""
    spec = TASKS[task]
    frame = summary[summary["task"] == task]
    if frame.empty:
        raise ValueError(f"no rows for task {task!r} in the summary")
    if spec.select:
        frame = FILTERS[spec.select](frame)
    stats = seed_stats(frame, spec.column, spec.metrics)
    stats = stats[stats["metric"].isin(spec.metrics)]
    models = sorted(stats["model"].unique(), key=lambda m: (model_rank(m), m))
    columns = sorted(stats["column"].unique())
    metric_order = [m for m in spec.metrics if m in set(stats["metric"])]
    index = pd.MultiIndex.from_product([columns, [METRIC_LABELS.get(m, m) for m in metric_order]])
    cells = pd.DataFrame("", index=models, columns=index)
    bold = pd.DataFrame(False, index=models, columns=index)
    for col in columns:
        for metric in metric_order:
            key = (col, METRIC_LABELS.get(metric, metric))
            sub = stats[(stats["column"] == col) & (stats["metric"] == metric)].set_index("model")
            for model, row in sub.iterrows():
                cells.loc[model, key] = format_cell(row["mean"], row["sd"], int(row["n_ok"]), int(row["n_total"]), metric_digits(metric))
            means = sub["mean"].dropna()
            if len(means) > 1 and metric not in UNRANKED:
                best = means.max() if HIGHER_IS_BETTER.get(metric, True) else means.min()
                for model in means.index[np.isclose(means, best, rtol=0, atol=10 ** -(metric_digits(metric) + 3))]:
                    bold.loc[model, key] = True
    failed = frame[frame["status"] != "ok"]
    failed_cells = {(row["model"], _column_label(row, spec.column)) for _, row in failed.iterrows()}
    for model, col in sorted(failed_cells):
        for metric in metric_order or spec.metrics:
            key = (col, METRIC_LABELS.get(metric, metric))
            if key not in cells.columns:
                cells[key] = ""
                bold[key] = False
            if model not in cells.index:
                cells.loc[model] = ""
                bold.loc[model] = False
            if not cells.loc[model, key]:
                cells.loc[model, key] = "failed"
    n_seeds = int(frame["seed"].nunique())
    caption = (
        f"{spec.title}: mean $\\pm$ sd over {n_seeds} seed{'s' if n_seeds != 1 else ''}; best mean per column in bold; "
        "(k/n) marks cells where only k of n seeds finished."
    )
    styler = cells.style.apply(lambda _: np.where(bold, "font-weight: bold;", ""), axis=None)
    styler.format_index(escape="latex", axis=0).format_index(escape="latex", axis=1)
    return styler.set_caption(caption)


def write_table(summary: pd.DataFrame, task: str, output: str) -> None:
    from dpbench.io import atomic_path

    latex = task_table(summary, task).to_latex(
        hrules=True,
        convert_css=True,
        label=f"tab:{task}",
        position_float="centering",
        multicol_align="c",
        environment="table",
    )
    with atomic_path(output) as tmp:
        tmp.write_text(latex)
