"""Published numbers next to ours: ``results/tables/paper_comparison.tex`` (and ``.html`` for the report).

The published numbers live in ``reported_results.csv`` next to this module, one row per number:

- ``task``, ``dataset``, ``metric``: the cell of our summary it compares with (our metric names
  and units: AUC as a fraction, NMSE in dB, accuracy as a fraction);
- ``method``: the method as the paper names it; ``ours_model``: our model it corresponds to, or
  empty when we have no such model (the row is then set against our best model);
- ``value``: the number in our units (a reported 81.7 % is 0.817);
- ``setting``: the paper's setting in a few words; ``source``: the citation, with where the
  number was read; ``checked``: how it was read, one of ``specs.CHECKED``: ``paper`` (printed in
  the paper itself), ``figure-digitized`` (read off its figure), ``secondary`` (read in a table that
  quotes it: say which in ``source``) or ``talk`` (a claim made in the talk this suite comes from:
  a bound, not a measured table entry);
- ``requires`` (optional, may be left out of a row): the setting as a JSON mapping
  (:mod:`dpbench.report.settings`, as ``claims.yaml``'s ``setting:``); our cell then counts only
  the runs made under it, and says ``not comparable`` with the difference when none was;
- ``anchor`` (optional): the paper's value of another model on the same inputs, as a JSON mapping
  (``{"model": "kmeans", "value": 0.7832, "checked": "paper", "tolerance": 0.03}``,
  :class:`dpbench.report.settings.Anchor`): where our model is not within the tolerance of it in our
  cell, ours is marked as made on other inputs, the mark giving both numbers.

Every row appears in the table; ours says ``not run`` where this run has no such dataset.
"""

from __future__ import annotations

import json
import math
from html import escape as html_escape
from importlib.resources import files
from pathlib import Path

import pandas as pd
from pandas.io.formats.style import Styler

from dpbench.io import atomic_path
from dpbench.params import UserError
from dpbench.registry import model_label, parse_model
from dpbench.report.settings import check_setting, differences, matching, parse_anchor
from dpbench.report.specs import CHECKED, FILTERS, HIGHER_IS_BETTER, METRIC_LABELS, TASKS
from dpbench.report.tables import PLUS_MINUS, Flavour, format_cell, metric_digits, seed_stats, write_html

REPORTED_CSV = files("dpbench.report") / "reported_results.csv"
COLUMNS = ["task", "dataset", "metric", "method", "ours_model", "value", "setting", "source", "checked"]
OPTIONAL = ["requires", "anchor"]
# the mark of a published number by how it was read (none: printed in the paper)
MARKS = {"paper": "", "secondary": "*", "figure-digitized": " (fig.)", "talk": " (talk)"}


_LATEX_SPECIALS = str.maketrans({c: f"\\{c}" for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"})


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (for the caption, which Styler leaves as is)."""
    return text.translate(_LATEX_SPECIALS)


def load_reported(path: str | Path | None = None) -> pd.DataFrame:
    """The published numbers; a malformed file fails naming the file and the offending row."""
    path = Path(str(path or REPORTED_CSV))
    if not path.exists():
        raise FileNotFoundError(f"missing file of published numbers: {path}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {COLUMNS}")
    frame = frame.reindex(columns=[*COLUMNS, *OPTIONAL]).astype(object).fillna("")
    requires, anchors = [], []
    for i, row in frame.iterrows():
        where = f"{path}, row {i + 1} ({row['method']} on {row['dataset']})"
        if row["task"] not in TASKS:
            raise ValueError(f"{where}: unknown task {row['task']!r}; expected one of {sorted(TASKS)}")
        if row["metric"] not in TASKS[row["task"]].metrics:
            raise ValueError(f"{where}: metric {row['metric']!r} is not reported for task {row['task']!r}")
        if row["checked"] not in CHECKED:
            raise ValueError(f"{where}: checked must be one of {list(CHECKED)}, got {row['checked']!r}")
        try:
            float(row["value"])
        except ValueError:
            raise ValueError(f"{where}: value {row['value']!r} is not a number") from None
        try:
            setting = json.loads(row["requires"]) if row["requires"] else {}
            check_setting(setting)
        except (json.JSONDecodeError, UserError) as err:
            raise ValueError(f"{where}: requires must be a JSON mapping of parameter: value ({err})") from None
        requires.append(setting)
        anchor = None
        if row["anchor"]:
            try:
                anchor = parse_anchor(json.loads(row["anchor"]))
                parse_model(anchor.model)
            except (json.JSONDecodeError, UserError) as err:
                raise ValueError(f"{where}: anchor must be a JSON mapping of model, value, checked, tolerance ({err})") from None
        anchors.append(anchor)
    frame = frame.astype({"value": float})
    frame["requires"] = requires
    frame["anchor"] = anchors
    return frame


def _escaped(text: str, flavour: Flavour) -> str:
    """Plain text for the "Ours" column, which holds markup and is not escaped by the Styler."""
    if flavour == "latex":
        return latex_escape(text).replace("≥", "$\\geq$").replace("≤", "$\\leq$").replace("±", "$\\pm$")
    return html_escape(text) if flavour == "html" else text


def _label(model: str) -> str:
    """A model's name as tables show it (the registry's label); empty stays empty."""
    return model_label(model) if model else model


def _metric_stats(frame: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """Mean and sd over seeds of the row's metric, per model and column of ``frame`` (the rows of the
    row's task and dataset), after the task's selection (e.g. the deepest layer count); columns where
    no seed gave a value are left out."""
    spec = TASKS[row["task"]]
    stats = seed_stats(FILTERS[spec.select](frame) if spec.select else frame, spec.column, [row["metric"]])
    return stats[(stats["metric"] == row["metric"]) & stats["mean"].notna()]


def ours(summary: pd.DataFrame, row: pd.Series, flavour: Flavour = "latex") -> tuple[str, str]:
    """Our cell for a published row, and the model it comes from (its best model if none is named)."""
    frame = summary[(summary["task"] == row["task"]) & (summary["dataset"] == row["dataset"])]
    if row["ours_model"]:
        frame = frame[frame["model"] == row["ours_model"]]
    if frame.empty:
        return "not run", _label(row["ours_model"])
    if row["requires"]:
        comparable = frame[matching(frame, row["requires"])]
        if comparable.empty:
            return _escaped(f"not comparable: {'; '.join(differences(frame, row['requires']))}", flavour), _label(row["ours_model"])
        frame = comparable
    stats = _metric_stats(frame, row)
    if stats.empty:  # the runs are there, but no seed produced this metric
        return "failed", _label(row["ours_model"])
    best = stats.loc[stats["mean"].idxmax() if HIGHER_IS_BETTER.get(row["metric"], True) else stats["mean"].idxmin()]
    cell = format_cell(best["mean"], best["sd"], int(best["n_ok"]), int(best["n_total"]), metric_digits(row["metric"]), flavour)
    if row.get("anchor") is not None:  # a row made by hand (not by load_reported) may have no such field
        cell += _other_inputs(summary, row, best["column"], flavour)
    # the best setting (e.g. features, starts) when the task has several per dataset
    setting = best["column"][len(row["dataset"]):].strip()
    return cell, f"{_label(best['model'])} {setting}".strip()


def _other_inputs(summary: pd.DataFrame, row: pd.Series, column: str, flavour: Flavour) -> str:
    """The mark of our cell ``column`` when the row's anchor shows that it ran on other inputs than the
    paper's (empty when it did not)."""
    anchor = row["anchor"]
    frame = summary[(summary["task"] == row["task"]) & (summary["dataset"] == row["dataset"]) & (summary["model"] == anchor.model)]
    means = _metric_stats(frame, row).set_index("column")["mean"] if not frame.empty else pd.Series(dtype=float)
    here = float(means.get(column, math.nan))
    why = anchor.difference(here, _label(anchor.model), row["metric"], metric_digits(row["metric"]))
    return _escaped(f"; {why}", flavour) if why else ""


def comparison_table(summary: pd.DataFrame, reported: pd.DataFrame, flavour: Flavour = "latex") -> Styler:
    """One row per published number: the paper's value, ours, and our model; sources in the caption.

    ``flavour`` is the output format (``"latex"`` or ``"html"``) the text is escaped for.
    """
    sources = list(dict.fromkeys(reported["source"]))
    rows = []
    for _, row in reported.iterrows():
        cell, model = ours(summary, row, flavour)
        mark = MARKS[row["checked"]]
        rows.append({
            "Task": TASKS[row["task"]].title,
            "Dataset": row["dataset"],
            "Metric": METRIC_LABELS.get(row["metric"], row["metric"]),
            "Published method": f"{row['method']} [{sources.index(row['source']) + 1}]{mark}",
            "Setting": row["setting"],
            "Published": f"{row['value']:.{metric_digits(row['metric'])}f}",
            "Ours": cell,
            "Our model": model,
        })
    table = pd.DataFrame(rows, columns=["Task", "Dataset", "Metric", "Published method", "Setting", "Published", "Ours", "Our model"])
    escape = {"latex": latex_escape, "html": html_escape}.get(flavour, str)
    cited = "; ".join(f"[{i + 1}] {escape(source)}" for i, source in enumerate(sources))
    caption = (
        f"Published numbers next to ours (mean {PLUS_MINUS[flavour]} sd over seeds; our named counterpart, or our best model "
        "where we have none). Unmarked: printed in the paper; * read in a table that quotes the paper; "
        "(fig.) read off the paper's figure; (talk) a claim made in the talk (a bound, not a table entry). "
        f"Sources: {cited}."
    )
    plain = [c for c in table.columns if c != "Ours"]  # "Ours" holds markup (PLUS_MINUS)
    markup = None if flavour == "markdown" else flavour
    styler = table.style.hide(axis="index").format(escape=markup, subset=plain).format_index(escape=markup, axis=1)
    return styler.set_caption(caption)


def write_comparison(summary: pd.DataFrame, reported: pd.DataFrame, output: str | Path, html: str | Path | None = None) -> None:
    """The LaTeX table to ``output``, and the same table in HTML to ``html`` when given."""
    latex = comparison_table(summary, reported).to_latex(
        hrules=True, label="tab:paper_comparison", position_float="centering", environment="table",
    )
    with atomic_path(output) as tmp:
        Path(tmp).write_text(latex)
    if html is not None:
        write_html(comparison_table(summary, reported, "html"), html)
