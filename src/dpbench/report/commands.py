"""CLI commands: ``aggregate`` (per-job files -> summary); ``table``, ``paper-table`` and ``figure`` (summary -> report).

Each command imports what it needs when it runs (a table needs neither PyTorch nor the plotting stack).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from dpbench.io import atomic_path
from dpbench.report.specs import TASKS

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def read_summary(path: str | Path) -> pd.DataFrame:
    """The tidy summary written by ``aggregate``; a missing file says how to make it."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"missing summary file: {path} (run the workflow's aggregate step first)")
    from dpbench.results import fill_job_columns

    return fill_job_columns(pd.read_csv(path, low_memory=False))


def _aggregate(args: argparse.Namespace) -> None:
    from dpbench.results import load_results

    inputs = list(args.inputs)
    if args.input_list:
        inputs += [line for line in Path(args.input_list).read_text().split() if line]
    frame = load_results(inputs)
    with atomic_path(args.csv) as tmp:
        frame.to_csv(tmp, index=False)
    if args.parquet:
        with atomic_path(args.parquet) as tmp:
            frame.to_parquet(tmp, index=False)
    log.info("aggregated %d rows from %d result files into %s", len(frame), len(inputs), args.csv)


def _table(args: argparse.Namespace) -> None:
    from dpbench.report.tables import write_table

    write_table(read_summary(args.summary), args.task, args.output, args.html)


def _paper_table(args: argparse.Namespace) -> None:
    from dpbench.report.paper_comparison import load_reported, write_comparison

    write_comparison(read_summary(args.summary), load_reported(args.reported), args.output, args.html)


def _figure(args: argparse.Namespace) -> None:
    from dpbench.report.figures import write_figure

    write_figure(read_summary(args.summary), args.name, args.pdf, args.png)
    log.info("wrote %s and %s", args.pdf, args.png)


def _anomaly_figures(args: argparse.Namespace) -> None:
    from dpbench.report.anomaly_figures import write_anomaly_figures

    write_anomaly_figures(args.scores, args.dataset, {"pdf": args.roc_pdf, "png": args.roc_png},
                          {"pdf": args.trace_pdf, "png": args.trace_png})


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("aggregate", help="collect per-job result files into summary.csv/.parquet")
    p.add_argument("inputs", nargs="*", help="per-job result JSON files")
    p.add_argument("--input-list", help="a file listing result files (whitespace separated)")
    p.add_argument("--csv", required=True)
    p.add_argument("--parquet")
    p.set_defaults(func=_aggregate)

    p = sub.add_parser("table", help="write a task's LaTeX table (and its HTML twin) from the summary")
    p.add_argument("--summary", required=True)
    p.add_argument("--task", required=True, choices=sorted(TASKS))
    p.add_argument("--output", required=True, help="the .tex file")
    p.add_argument("--html", help="also write the table as an HTML page here (for the Snakemake report)")
    p.set_defaults(func=_table)

    p = sub.add_parser("paper-table", help="write the table of published numbers next to ours")
    p.add_argument("--summary", required=True)
    p.add_argument("--reported", help="CSV of published numbers (default: the one shipped with dpbench)")
    p.add_argument("--output", required=True, help="the .tex file")
    p.add_argument("--html", help="also write the table as an HTML page here (for the Snakemake report)")
    p.set_defaults(func=_paper_table)

    p = sub.add_parser("figure", help="draw one figure (PDF + PNG) from the summary")
    p.add_argument("--summary", required=True)
    p.add_argument("--name", required=True, help="figure name, e.g. clustering_scores")
    p.add_argument("--pdf", required=True)
    p.add_argument("--png", required=True)
    p.set_defaults(func=_figure)

    p = sub.add_parser("anomaly-figures", help="ROC curves and a score trace from per-frame anomaly scores")
    p.add_argument("scores", nargs="+", help="per-frame score CSVs, <...>/<model>/seed<k>.scores.csv")
    p.add_argument("--dataset", required=True)
    for name in ("roc-pdf", "roc-png", "trace-pdf", "trace-png"):
        p.add_argument(f"--{name}", required=True)
    p.set_defaults(func=_anomaly_figures)
