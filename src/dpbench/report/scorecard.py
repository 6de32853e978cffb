"""The claims scorecard: ``results/tables/claims.tex`` (booktabs), ``claims.html`` (the Snakemake
report's first category) and ``python -m dpbench claims`` (the terminal, coloured on a TTY; or a
Markdown table with ``--markdown``).

The verdicts come from :mod:`dpbench.report.claims`; a claim that fails is a finding, not an error,
so the command exits 0 whatever the verdicts.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
from pathlib import Path
from typing import TextIO

import pandas as pd
from pandas.io.formats.style import Styler

from dpbench.io import atomic_path
from dpbench.params import UserError
from dpbench.report.claims import (
    Claim,
    Paper,
    Verdict,
    evaluate,
    load_claims,
    margin_text,
    ours_text,
    reference_text,
    verdict_tally,
)
from dpbench.report.paper_comparison import latex_escape
from dpbench.report.specs import CHECKED

COLUMNS = ["Claim", "Source", "Cell", "Test", "Ours", "Against", "Margin", "Verdict"]
_LATEX_SYMBOLS = str.maketrans({"±": r"$\pm$", "≥": r"$\geq$", "≤": r"$\leq$", "Δ": r"$\Delta$", "–": "--",
                                "<": "$<$", ">": "$>$"})
_HTML_COLOURS = {"holds": "#c8e6c9", "fails": "#ffcdd2", "within noise": "#d6e4f0", "not comparable": "#fff3c4",
                 "not run": "#eeeeee"}
_ANSI = {"holds": "\033[32m", "fails": "\033[31m", "within noise": "\033[36m", "not comparable": "\033[33m",
         "not run": "\033[2m"}


def verdict_frame(papers: dict[str, Paper], verdicts: list[Verdict]) -> pd.DataFrame:
    """One row per verdict, indexed by (paper, claim id), in plain text (Unicode ± ≥ ≤ Δ)."""
    rows = [{
        "Paper": papers[v.claim.paper].short,
        "Id": v.claim.id,
        "Claim": v.claim.text,
        "Source": v.claim.source,
        "Cell": v.cell + (f", {v.claim.layers} layers" if v.claim.layers is not None else ""),
        "Test": v.claim.test_text(),
        "Ours": ours_text(v),
        "Against": reference_text(v),
        "Margin": margin_text(v),
        "Verdict": v.verdict,
        "Note": v.note,
    } for v in verdicts]
    return pd.DataFrame(rows, columns=["Paper", "Id", *COLUMNS, "Note"])


def _caption(papers: dict[str, Paper], verdicts: list[Verdict], escape: bool) -> str:
    used = dict.fromkeys(v.claim.paper for v in verdicts)
    def text(s: str) -> str:
        return latex_escape(s).translate(_LATEX_SYMBOLS) if escape else s

    cited = "; ".join(f"{text(papers[p].short)}: {text(papers[p].citation)}" for p in used)
    how = "; ".join(f"{k}: {v}" for k, v in CHECKED.items())
    return (f"The papers' claims checked against our results ({verdict_tally(verdicts)}). Ours: mean "
            f"{text('±')} sd over seeds, from summary.csv; margin: what we got against "
            f"what the test asks for; a published number says how it was read ({text(how)}). Sources: {cited}.")


def latex_table(papers: dict[str, Paper], verdicts: list[Verdict]) -> str:
    """The scorecard as a booktabs LaTeX table, one group of rows per paper (the claim's source after
    its sentence; the test is left to the margin column, to fit a page)."""
    frame = verdict_frame(papers, verdicts)
    frame["Claim"] = frame["Claim"] + " (" + frame["Source"] + ")"
    columns = ["Paper", "Id", "Claim", "Cell", "Ours", "Against", "Margin", "Verdict"]
    body = frame[columns].map(lambda s: latex_escape(str(s)).translate(_LATEX_SYMBOLS))
    body = body.set_index(["Paper", "Id"])  # each paper and claim named once, a rule between papers
    body.index.names = [None, None]
    styler = body.style.set_caption(_caption(papers, verdicts, escape=True))
    latex = styler.to_latex(
        hrules=True, label="tab:claims", position_float="centering", environment="table*",
        column_format="p{1.5cm}p{2cm}p{4.4cm}p{2.4cm}lp{2cm}p{1.7cm}l",
        sparse_index=True, multirow_align="naive", clines="skip-last;data",
    )
    latex = re.sub(r"\\cline\{1-\d+\}", lambda _: r"\midrule", latex)  # booktabs' rule between papers
    latex = latex.replace("\\midrule\n\\bottomrule", "\\bottomrule")
    return latex.replace("\\centering\n", "\\centering\n\\scriptsize\\setlength{\\tabcolsep}{3pt}\n", 1)


def html_table(papers: dict[str, Paper], verdicts: list[Verdict]) -> str:
    """The scorecard as a standalone HTML page, verdicts coloured, grouped by paper."""
    frame = verdict_frame(papers, verdicts).set_index(["Paper", "Id", "Cell"])  # unique: a claim per cell
    frame.index.names = [None, None, None]
    styler: Styler = (
        frame.style.map(lambda v: f"background-color: {_HTML_COLOURS[v]}", subset=["Verdict"])
        .format(escape="html").format_index(escape="html", axis=0)
        .set_caption(html.escape(_caption(papers, verdicts, escape=False)))
        .set_table_styles([
            {"selector": "", "props": "border-collapse: collapse; font-family: sans-serif; font-size: 0.85em;"},
            {"selector": "th, td", "props": "border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top;"},
            {"selector": "caption", "props": "caption-side: bottom; text-align: left; padding-top: 6px;"},
        ])
    )
    return styler.to_html(doctype_html=True)


def markdown_table(papers: dict[str, Paper], verdicts: list[Verdict]) -> str:
    """The scorecard as a Markdown table (for a README), one row per verdict."""
    frame = verdict_frame(papers, verdicts)
    return frame[["Id", "Cell", "Ours", "Against", "Margin", "Verdict", "Note"]].to_markdown(index=False)


def print_scorecard(papers: dict[str, Paper], verdicts: list[Verdict], out: TextIO, colour: bool) -> None:
    """The scorecard in the terminal: a heading per paper, then one line per verdict."""
    paint = (lambda v, s: f"{_ANSI[v]}{s}\033[0m") if colour else (lambda v, s: s)
    frame = verdict_frame(papers, verdicts)
    for paper, group in frame.groupby("Paper", sort=False):
        print(f"\n{paper}", file=out)
        for _, row in group.iterrows():
            verdict = paint(row["Verdict"], f"{row['Verdict']:<8}")
            detail = f"ours {row['Ours']}  vs {row['Against']}  margin {row['Margin']}"
            note = f"  [{row['Note']}]" if row["Note"] else ""
            print(f"  {verdict} {row['Id']} ({row['Cell']}): {row['Test']}; {detail}{note}", file=out)
    print(f"\n{verdict_tally(verdicts)}", file=out)


def load_claim_files(paths: list[str | Path | None]) -> tuple[dict[str, Paper], list[Claim]]:
    """The papers and claims of several claims files (``None``: the shipped one), in order; a paper key or
    claim id that two files use is refused, naming it."""
    papers: dict[str, Paper] = {}
    claims: list[Claim] = []
    for path in paths:
        more_papers, more_claims = load_claims(path)
        clash = sorted(set(papers) & set(more_papers)) or sorted({c.id for c in claims} & {c.id for c in more_claims})
        if clash:
            raise UserError(f"claims file {path}: paper key(s) or claim id(s) {clash} are used by another claims file too")
        papers |= more_papers
        claims += more_claims
    return papers, claims


def _claims(args: argparse.Namespace) -> None:
    from dpbench.report.commands import read_summary

    papers, claims = load_claim_files(args.claims or [None])
    verdicts = evaluate(read_summary(args.summary), claims)
    for path, text in ((args.latex, latex_table), (args.html, html_table)):
        if path:
            with atomic_path(path) as tmp:
                Path(tmp).write_text(text(papers, verdicts))
    if args.markdown:
        print(markdown_table(papers, verdicts))
        return
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    print_scorecard(papers, verdicts, sys.stdout, colour)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("claims", help="check the papers' claims against the summary and print the scorecard")
    p.add_argument("--summary", default="results/summary.csv")
    p.add_argument("--claims", action="append",
                   help="a claims YAML file (default: the one shipped with dpbench); give it again to check several")
    p.add_argument("--latex", help="also write the scorecard as a LaTeX table here")
    p.add_argument("--html", help="also write the scorecard as an HTML page here")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table instead (for a README)")
    p.set_defaults(func=_claims)
