"""Task tables: models as rows, datasets x metrics as columns, mean ± sd over seeds, best in bold.

One pandas Styler per table, written twice: ``Styler.to_latex`` (booktabs rules) for papers and
``Styler.to_html`` for the Snakemake report, whose viewer shows no ``.tex``. A cell whose seeds did
not all produce a finite value says how many did, e.g. ``0.81 ± 0.02 (2/3)``; a cell with none says
``failed``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from dpbench.registry import model_rank
from dpbench.report.specs import FILTERS, HIGHER_IS_BETTER, METRIC_LABELS, TASKS, UNRANKED, display_names


def _column_label(row: pd.Series, columns: list[str]) -> str:
    parts = [str(row[c]) for c in columns if c in row and not pd.isna(row[c])]
    parts = parts[:1] + [p for p in parts[1:] if p != "pixels"]
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def seed_stats(frame: pd.DataFrame, columns: list[str], metrics: list[str], seeds: int | None = None) -> pd.DataFrame:
    """Mean, sd and counts over seeds per (model, column, metric); failed seeds count in ``n_total``, and
    so, when ``seeds`` (the seeds every cell was to run) is given, do seeds that never ran."""
    frame = frame[frame["metric"].isin(metrics) | frame["metric"].isna()].copy()
    frame["column"] = frame.apply(_column_label, axis=1, columns=columns)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    grouped = frame.groupby(["model", "column", "metric"], dropna=True)["value"]
    stats = grouped.agg(mean="mean", sd="std", n_ok="count", n_total="size", low="min", high="max").reset_index()
    higher = stats["metric"].map(lambda m: HIGHER_IS_BETTER.get(m, True))
    stats["worst"] = stats["low"].where(higher, stats["high"])
    stats = stats.drop(columns=["low", "high"])
    # a seed that failed outright (no records) still counts against every metric of its cell
    totals = frame.groupby(["model", "column"])["seed"].nunique().rename("n_seeds").reset_index()
    stats = stats.merge(totals, on=["model", "column"])
    stats["n_total"] = stats[["n_total", "n_seeds"]].max(axis=1)
    if seeds is not None:
        stats["n_total"] = stats["n_total"].clip(lower=seeds)
    return stats.drop(columns="n_seeds")


Flavour = Literal["latex", "html", "markdown"]
# the plus-minus sign of each output format
PLUS_MINUS: dict[str, str] = {"latex": "$\\pm$", "html": "±", "markdown": "±"}
# the Styler's table styles in HTML (LaTeX gets booktabs rules from to_latex instead)
HTML_STYLES = [
    {"selector": "", "props": "border-collapse: collapse; font-family: sans-serif; font-size: 0.9em;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; padding: 0.5em 0;"},
    {"selector": "th, td", "props": "padding: 0.25em 0.75em; text-align: right; border-bottom: 1px solid #ddd;"},
    {"selector": "thead th", "props": "text-align: center; border-bottom: 2px solid #444;"},
    {"selector": "tbody th", "props": "text-align: left;"},
]


def format_cell(
    mean: float, sd: float, n_ok: int, n_total: int, digits: int, flavour: Flavour = "latex", worst: float | None = None
) -> str:
    """``mean ± sd`` in the output's markup, with ``; worst w`` when ``worst`` (the worst seed) is given
    and there are several seeds; ``failed`` when no seed finished, ``(k/n)`` when some did not."""
    if n_ok == 0 or math.isnan(mean):
        return "failed"
    text = f"{mean:.{digits}f}"
    if n_ok > 1 and not math.isnan(sd):
        text += f" {PLUS_MINUS[flavour]} {sd:.{digits}f}"
        if worst is not None:
            text += f"; worst {worst:.{digits}f}"
    if n_ok < n_total:
        text += f" ({n_ok}/{n_total})"
    return text


def metric_digits(metric: str) -> int:
    """Decimals shown for ``metric``: none for step counts, one for dB, seconds and frames per second, three for scores."""
    if metric in UNRANKED:
        return 0
    return 1 if metric in {"nmse_db", "psnr", "fps", "fit_seconds"} else 3


PUBLISHED_LABEL = "paper @16"
# the mark of a value from the ALISTA paper, and the caption's emphasis, in each output format
ALISTA_MARK: dict[str, str] = {"latex": "$^a$", "html": "<sup>a</sup>", "markdown": "ᵃ"}


def _add_published(cells: pd.DataFrame, bold: pd.DataFrame, frame: pd.DataFrame, task: str, flavour: Flavour) -> str:
    """For the synthetic task, a column per dataset with the papers' NMSE at 16 layers (in place);
    returns the caption's note on it (empty for other tasks)."""
    if task != "synthetic":
        return ""
    from dpbench.report.reference import PAPERS, load_reference_curves, published_at, same_problem

    curves = load_reference_curves()
    added = False
    skipped = []
    mark = ALISTA_MARK[flavour]
    for dataset in sorted(frame["dataset"].unique()):
        values = {model: published_at(curves, 16, dataset, model) for model in cells.index}
        if not any(values.values()):
            continue
        same, how = same_problem(frame[frame["dataset"] == dataset])
        if not same:  # the papers' numbers beside a run of another problem would read as a comparison
            skipped.append(f"{dataset}: {how}")
            continue
        key = (dataset, PUBLISHED_LABEL)
        cells[key] = [" / ".join(f"{v:.1f}" + ("" if p == PAPERS[0] else mark) for p, v in values[m]) for m in cells.index]
        bold[key] = False
        added = True
    if not added:
        return (f" The papers' NMSE at 16 layers (m = 250, n = 500, p = 0.1) is not shown beside runs of another problem "
                f"({'; '.join(skipped)})." if skipped else "")
    return (f" Column {PUBLISHED_LABEL}: NMSE (dB) at 16 layers read off the figures of the LISTA-CPSS paper "
            f"(NeurIPS 2018, Fig. 5) and, marked {mark}, the ALISTA paper (ICLR 2019, Fig. 1), figure-digitized, "
            "for m = 250, n = 500.")


def task_cells(
    summary: pd.DataFrame, task: str, flavour: Flavour = "latex", partial: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The cells of ``task``'s table (models x (column, metric), text in ``flavour``'s markup), which of
    them are the best of their column (bold), and the caption.

    ``partial``: the run did not finish (its record lists missing jobs), so every cell was to run all the
    seeds of the table, and a cell with fewer says so, ``(k/n)``, like one whose seeds failed."""
    spec = TASKS[task]
    frame = summary[summary["task"] == task]
    if frame.empty:
        raise ValueError(f"no rows for task {task!r} in the summary")
    if spec.select:
        frame = FILTERS[spec.select](frame)
    n_seeds = int(frame["seed"].nunique())
    stats = seed_stats(frame, spec.column, spec.metrics, seeds=n_seeds if partial else None)
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
                worst = row["worst"] if spec.worst_seed else None
                cells.loc[model, key] = format_cell(
                    row["mean"], row["sd"], int(row["n_ok"]), int(row["n_total"]), metric_digits(metric), flavour, worst
                )
            means = sub["mean"].dropna()
            if len(means) > 1 and metric not in UNRANKED:
                best = means.max() if HIGHER_IS_BETTER.get(metric, True) else means.min()
                for model in means.index[np.isclose(means, best, rtol=0, atol=10 ** -(metric_digits(metric) + 3))]:
                    bold.loc[model, key] = True
    published_note = _add_published(cells, bold, frame, task, flavour)
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
    names = display_names(list(cells.index))  # the registry's labels, as in every figure
    cells, bold = cells.rename(index=names), bold.rename(index=names)
    caption = (
        f"{spec.title}: mean {PLUS_MINUS[flavour]} sd over {n_seeds} seed{'s' if n_seeds != 1 else ''}"
        f"{'; worst: the worst seed' if spec.worst_seed else ''}; best mean per column in bold; "
        f"(k/n) marks cells where only k of n seeds finished{' or ran (a partial run)' if partial else ''}." + published_note
    )
    return cells, bold, caption


def task_table(summary: pd.DataFrame, task: str, flavour: Flavour = "latex") -> Styler:
    """The styled table of ``task`` from the tidy summary frame, its text escaped for ``flavour``."""
    cells, bold, caption = task_cells(summary, task, flavour)
    styler = cells.style.apply(lambda _: np.where(bold, "font-weight: bold;", ""), axis=None)
    styler.format_index(escape=flavour, axis=0).format_index(escape=flavour, axis=1)
    return styler.set_caption(caption)


def markdown_table(cells: pd.DataFrame, bold: pd.DataFrame | None = None, index_name: str = "") -> str:
    """A table of text cells as Markdown (GitHub flavour): bold cells in ``**``, column levels joined by `` · ``."""
    body = cells.copy()
    if bold is not None:
        body = body.where(~bold.reindex_like(body).fillna(False).astype(bool), "**" + body + "**")
    body.columns = [" · ".join(str(part) for part in col) if isinstance(col, tuple) else str(col) for col in body.columns]
    body.index.name = index_name or None
    return body.to_markdown(stralign="left", disable_numparse=True)


def write_html(styler: Styler, output: str | Path) -> None:
    """A styled table as a standalone HTML page (for the Snakemake report), written atomically."""
    from dpbench.io import atomic_path

    html = styler.set_table_styles(HTML_STYLES).to_html(doctype_html=True)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(html, encoding="utf-8")


def write_table(summary: pd.DataFrame, task: str, output: str | Path, html: str | Path | None = None) -> None:
    """The LaTeX table of ``task`` to ``output``, and the same table in HTML to ``html`` when given."""
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
        Path(tmp).write_text(latex)
    if html is not None:
        write_html(task_table(summary, task, "html"), html)
