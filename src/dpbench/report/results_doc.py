"""``dpbench results-doc``: ``docs/results.md`` and its figures, written from the run records alone.

Every number of ours that the documentation shows comes from a record of ``docs/runs/``
(:mod:`dpbench.report.records`): per run, what it is, where and when it ran, its scorecard, its
tables, its figures (PNG under ``docs/figures/<run>/``) and the published numbers beside ours. The
README's two generated tables are written the same way, each between its markers: the headline
(``<!-- results:headline -->`` ... ``<!-- /results:headline -->``: the talk's headline claims that a
record could judge, ``holds``, ``fails`` or ``within noise``, the run it was judged on, ours and the paper's, then each
run's count of verdicts) and the presets (``<!-- results:presets -->`` ... ``<!-- /results:presets -->``:
each preset of ``workflow/presets/``, the first sentence of its header comment, and the wall time of
its record; docs/results.md gives each record's data and full description). docs/running.md's presets
table (``<!-- results:preset-commands -->``) is written from the presets alone: the data each header
says it needs and the command it gives. Beside the records,
``docs/gpu/`` holds what each run of the prepared GPU check brought back; ``docs/gpu.md`` is written from
it (:mod:`dpbench.report.gpu_doc`) and checked the same way.

``--check`` writes nothing: it regenerates the page and the README's table in memory and fails,
naming the file, when the committed ones differ (CI runs it through the test suite), so that no
number of ours in the docs can drift from its record. Figures are redrawn only without ``--check``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from dpbench.params import UserError
from dpbench.report.commands import read_summary
from dpbench.report.records import RUNS_DIR, load_record

log = logging.getLogger(__name__)

RESULTS_MD = Path("docs/results.md")
FIGURES_DIR = Path("docs/figures")
README = Path("README.md")
RUNNING = Path("docs/running.md")
PRESETS_DIR = Path("workflow/presets")
HEADLINE_START, HEADLINE_END = "<!-- results:headline -->", "<!-- /results:headline -->"
BLOCKS = ("headline", "presets")
MISSING_LISTED = 12  # missing result files listed by name (the rest counted)


@dataclass
class Run:
    """A record: its ``run.json`` and its summary."""

    name: str
    record: dict[str, Any]
    summary: pd.DataFrame

    @cached_property
    def card(self) -> tuple[str, list[Any]]:
        """Its :func:`scorecard`, evaluated once (the page and the README's headline both show it)."""
        return scorecard(self)


def load_runs(runs_dir: Path = RUNS_DIR) -> list[Run]:
    """Every record under ``runs_dir``, the demo's (``quick``) first, then by name."""
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"no run records in {runs_dir} (make one with `dpbench record NAME`)")
    folders = sorted((p for p in runs_dir.iterdir() if p.is_dir()), key=lambda p: (p.name != "quick", p.name))
    runs = [Run(p.name, load_record(p), read_summary(p / "summary.csv")) for p in folders]
    if not runs:
        raise FileNotFoundError(f"no run records in {runs_dir} (make one with `dpbench record NAME`)")
    return runs


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    minutes = seconds / 60
    return f"{seconds:.0f} s" if seconds < 120 else f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _tasks(summary: pd.DataFrame) -> list[str]:
    from dpbench.report.specs import TASKS

    present = set(summary["task"])
    return [task for task in TASKS if task in present]


def provenance(run: Run) -> str:
    """Where, when, how and from what the run's numbers were made, as a two-column Markdown table."""
    rec = run.record
    commit = (rec.get("commit") or "unknown")[:10] + (" (with uncommitted changes)" if rec.get("uncommitted_changes") else "")
    machine = rec["machine"]
    gpu = ", ".join(machine["gpu"]) if machine.get("gpu") else "no GPU"
    jobs = rec["jobs"]
    missing = jobs["missing"]
    listed = ", ".join(f"`{m}`" for m in missing[:MISSING_LISTED]) + (f" and {len(missing) - MISSING_LISTED} more" if len(missing) > MISSING_LISTED else "")
    per_task = "; ".join(f"{task} {_duration(t['seconds'])} in {int(t['jobs'])} jobs (longest {_duration(t['longest'])})"
                         for task, t in rec.get("job_seconds", {}).items())
    versions = ", ".join(f"{k} {v}" for k, v in rec["versions"].items() if v)
    configs = ", ".join(f"`{c['path']}` (sha256 {c['sha256'][:12]})" for c in rec["configfiles"])
    made = rec.get("results_made", {})
    rows = [
        ("Results made", f"{made.get('first', '?')} to {made.get('last', '?')} (recorded {rec['recorded']})"),
        ("Code", f"commit `{commit}`"),
        ("Machine", f"{machine['cpu']}, {machine['cores']} cores, {machine.get('memory_gib')} GiB, {gpu}"),
        ("Command", f"`{rec['command']}`"),
        ("Config", configs),
        ("Result files", f"{jobs['run']} of {jobs['expected']} made (a job's result file per task)" + (f"; missing: {listed}" if missing else "")),
        ("Wall time", _duration(rec.get("wall_seconds"))),
        ("Job time", per_task or "no benchmark files"),
        ("Versions", versions),
    ] + ([("Note", rec["note"])] if rec.get("note") else [])
    return pd.DataFrame(rows, columns=["", run.name]).to_markdown(index=False, stralign="left")


def scorecard(run: Run) -> tuple[str, list[Any]]:
    """The run's scorecard as Markdown (counts, then one row per checked cell) and its verdicts."""
    from dpbench.report.claims import evaluate, load_claims, verdict_tally
    from dpbench.report.scorecard import verdict_frame

    papers, claims = load_claims()
    tasks = set(run.summary["task"])
    verdicts = evaluate(run.summary, [c for c in claims if c.task in tasks])
    if not verdicts:
        return "No claim of `claims.yaml` concerns this run's tasks.", []
    frame = verdict_frame(papers, verdicts)
    head = verdict_tally(verdicts) + "."
    # a check whose models this run did not run is named, not given a row of dashes
    absent = [v.verdict == "not run" and (v.ours.missing or (v.other is not None and v.other.missing)) for v in verdicts]
    shown = frame[[not a for a in absent]]
    parts = [head]
    if len(shown):
        parts.append(shown[["Id", "Cell", "Ours", "Against", "Margin", "Verdict", "Note"]].to_markdown(index=False, stralign="left"))
    idle = list(dict.fromkeys(v.claim.id for v, a in zip(verdicts, absent) if a))
    if idle:
        parts.append(f"Not run, for want of the models they compare in this run: {', '.join(f'`{i}`' for i in idle)}.")
    return "\n\n".join(parts), verdicts


def task_section(run: Run, task: str, figures_link: str) -> str:
    from dpbench.report.specs import TASKS
    from dpbench.report.tables import markdown_table, task_cells

    cells, bold, caption = task_cells(run.summary, task, "markdown", partial=bool(run.record["jobs"]["missing"]))
    figures = [f"![{name}]({figures_link}/{name}.png)" for name in TASKS[task].figures]
    parts = [f"### {TASKS[task].title}", caption, markdown_table(cells, bold, "model"), *figures]
    if task == "clustering":
        from dpbench.report.clustering_figures import curve_summary

        curves = curve_summary(run.summary)
        if len(curves):
            parts += ["Where each logged run stopped on its curve (a change near 0 means it had flattened):",
                      curves.to_markdown(index=False, stralign="left", disable_numparse=True)]
    return "\n\n".join(parts)


def published_section(run: Run) -> str:
    """The published numbers of the run's datasets beside ours (the paper comparison, in Markdown)."""
    from dpbench.report.paper_comparison import comparison_table, load_reported

    reported = load_reported()
    present = set(zip(run.summary["task"], run.summary["dataset"]))
    reported = reported[[(row.task, row.dataset) in present for row in reported.itertuples()]]
    if reported.empty:
        return ""
    styler = comparison_table(run.summary, reported, "markdown")
    table = styler.data.to_markdown(index=False, stralign="left", disable_numparse=True)
    return "\n\n".join(["### Published numbers beside ours", styler.caption, table])


def run_section(run: Run, figures_link: str) -> str:
    rec = run.record
    parts = [f"## {run.name}", rec.get("description") or "(no description in its preset)", provenance(run)]
    card, _ = run.card
    parts += ["### Scorecard", card]
    parts += [task_section(run, task, f"{figures_link}/{run.name}") for task in _tasks(run.summary)]
    published = published_section(run)
    if published:
        parts.append(published)
    return "\n\n".join(parts)


def results_page(runs: list[Run], figures_link: str = "figures") -> str:
    """The whole ``docs/results.md``."""
    index = pd.DataFrame([{
        "Run": f"[{r.name}](#{r.name.lower()})",
        "What it is": r.record.get("description") or "",
        "Result files": f"{r.record['jobs']['run']} / {r.record['jobs']['expected']}",
        "Wall time": _duration(r.record.get("wall_seconds")),
        "Machine": f"{r.record['machine']['cores']} cores" + (", GPU" if r.record["machine"].get("gpu") else ""),
    } for r in runs]).to_markdown(index=False, stralign="left")
    head = (
        "# Results\n\n<!-- generated by `dpbench results-doc` from docs/runs/*/ (run.json, summary.csv): do not edit -->\n\n"
        "Every number of ours on this page is read from a run record in `docs/runs/` (made by `dpbench record` from a "
        "finished run) and the page is regenerated from those records by `dpbench results-doc`; the test suite fails when "
        "this page differs from what the records give. Published numbers carry their source and how they were read "
        "(`src/dpbench/report/reported_results.csv`, `src/dpbench/report/claims.yaml`). A claim is judged only on cells "
        "run under the setting its number was published for; elsewhere it is `not comparable`, the difference named.\n\n"
        + index
    )
    return "\n\n".join([head, *[run_section(r, figures_link) for r in runs]]) + "\n"


def headline(runs: list[Run]) -> str:
    """The README's table: the talk's headline claims (``headline: true`` in claims.yaml) that a record
    judged (holds, fails or within noise), with the run and cell, then every run's count of verdicts."""
    from dpbench.report.claims import JUDGED, ours_text, reference_text, verdict_tally

    rows, counts = [], []
    for run in runs:
        _, verdicts = run.card
        for v in verdicts:
            if v.claim.headline and v.verdict in JUDGED:
                rows.append({"Claim": v.claim.text, "Run": f"[{run.name}](docs/results.md#{run.name.lower()})", "Cell": v.cell,
                             "Ours": ours_text(v), "Against": reference_text(v), "Verdict": v.verdict})
        if verdicts:
            counts.append(f"[{run.name}](docs/results.md#{run.name.lower()}): {verdict_tally(verdicts)}")
    table = (pd.DataFrame(rows).to_markdown(index=False, stralign="left") if rows else
             "No headline claim has been judged by a recorded run yet.")
    every = ("Every claim, by run: " + "; ".join(counts) + ".") if counts else ""
    return "\n\n".join(filter(None, [table, every]))


def _first_sentence(text: str) -> str:
    """The first sentence of a preset's description (up to its first full stop)."""
    for stop in (". ",):
        if stop in text:
            text = text[: text.index(stop)]
    return text.rstrip(".") + "."


def presets_table(runs: list[Run], presets_dir: Path = PRESETS_DIR) -> str:
    """The README's presets table: each preset, what its header says it is and needs, and its record's wall time."""
    from dpbench.report.records import preset_header

    recorded = {run.name: run.record for run in runs}
    rows = []
    for path in _presets(presets_dir):
        header, rec = preset_header(path), recorded.get(path.stem)
        time = (f"{_duration(rec.get('wall_seconds'))} on {rec['machine']['cores']} cores"
                + (f" ({rec['jobs']['run']} of {rec['jobs']['expected']} results)" if rec["jobs"]["missing"] else "")
                + f", [record](docs/results.md#{path.stem.lower()})") if rec else "no record yet"
        rows.append({"Preset": f"`{path.stem}`", "What it is": _first_sentence(header["description"]), "Time": time})
    return pd.DataFrame(rows).to_markdown(index=False, stralign="left")


def preset_commands(presets_dir: Path = PRESETS_DIR) -> str:
    """docs/running.md's table of presets: each preset, the data its header says it needs, and the command
    its header gives (a preset layered on another names both)."""
    from dpbench.report.records import preset_header

    rows = []
    for path in _presets(presets_dir):
        header = preset_header(path)
        rows.append({"Preset": f"`{path.stem}`", "Data it needs": header["data"] or "(not stated)",
                     "Run it": f"`{header['usage']}`" if header["usage"] else "(no command in its header)"})
    return pd.DataFrame(rows).to_markdown(index=False, stralign="left")


def _presets(presets_dir: Path) -> list[Path]:
    """The preset files of ``presets_dir``, the demo's (``quick``) first, then by name."""
    return sorted(presets_dir.glob("*.yaml"), key=lambda p: (p.stem != "quick", p.stem))


def replace_block(text: str, name: str, block: str, path: Path) -> str:
    """``text`` with the part between the markers ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` replaced by ``block``."""
    opening, closing = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    start, end = text.find(opening), text.find(closing)
    if start < 0 or end < start:
        raise UserError(f"{path} lacks the markers {opening} ... {closing} around its {name} table")
    return text[: start + len(opening)] + "\n" + block + "\n" + text[end:]


def draw_figures(runs: list[Run], figures_dir: Path) -> None:
    """Each run's figures as PNG under ``figures_dir/<run>/`` (the PDFs the workflow also draws are not kept)."""
    from dpbench.report.figures import write_figure
    from dpbench.report.specs import TASKS

    with tempfile.TemporaryDirectory() as tmp:
        for run in runs:
            for task in _tasks(run.summary):
                for name in TASKS[task].figures:
                    png = figures_dir / run.name / f"{name}.png"
                    png.parent.mkdir(parents=True, exist_ok=True)
                    write_figure(run.summary, name, Path(tmp) / f"{name}.pdf", png)


def write_docs(runs_dir: Path, output: Path, figures_dir: Path, readme: Path | None, check: bool,
               presets_dir: Path = PRESETS_DIR, running: Path | None = None) -> list[str]:
    """Regenerate (or with ``check``, compare) the results page, the README's tables and the presets
    table of ``running`` (docs/running.md); return the files that differ from what the records and
    presets give (``check``) or were written."""
    from dpbench.io import atomic_path

    runs = load_runs(runs_dir)
    link = Path(os.path.relpath(figures_dir, output.parent)).as_posix()
    wanted = {output: results_page(runs, link)}
    gpu_dir = runs_dir.parent / "gpu"
    if gpu_dir.is_dir():
        from dpbench.report.gpu_doc import gpu_page

        wanted[output.parent / "gpu.md"] = gpu_page(gpu_dir)
    if readme is not None:
        text = readme.read_text() if readme.exists() else ""
        text = replace_block(text, "headline", headline(runs), readme)
        wanted[readme] = replace_block(text, "presets", presets_table(runs, presets_dir), readme)
    if running is not None:
        wanted[running] = replace_block(running.read_text(), "preset-commands", preset_commands(presets_dir), running)
    changed = [str(path) for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if check:
        return changed
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)
    draw_figures(runs, figures_dir)
    return changed


def _command(args: argparse.Namespace) -> None:
    readme = None if args.no_readme else Path(args.readme)
    running = None if args.no_readme else Path(args.running)
    changed = write_docs(Path(args.runs_dir), Path(args.output), Path(args.figures_dir), readme, args.check, Path(args.presets_dir),
                         running)
    if args.check and changed:
        raise UserError(f"{', '.join(changed)} differ(s) from what the run records give: run `dpbench results-doc` and commit")
    print("up to date" if args.check else f"wrote {args.output} and {args.figures_dir}/" + (f"; changed: {', '.join(changed)}" if changed else ""))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results-doc", help="write docs/results.md (and the README's generated tables) from the run records")
    p.add_argument("--runs-dir", default=str(RUNS_DIR))
    p.add_argument("--output", default=str(RESULTS_MD))
    p.add_argument("--figures-dir", default=str(FIGURES_DIR))
    p.add_argument("--readme", default=str(README), help="the README whose headline table is regenerated")
    p.add_argument("--running", default=str(RUNNING), help="the page whose presets table (data, command) is regenerated")
    p.add_argument("--no-readme", action="store_true", help="leave the README and the running page alone")
    p.add_argument("--presets-dir", default=str(PRESETS_DIR), help="the presets the README's presets table lists")
    p.add_argument("--check", action="store_true", help="write nothing; fail if the committed page or table differ")
    p.set_defaults(func=_command)
