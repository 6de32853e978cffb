"""benchmarks/demo_timing.py: the timing records of make demo and the tables of docs/speed.md made from them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("demo_timing", REPO / "benchmarks" / "demo_timing.py")
demo_timing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(demo_timing)

LOG = """\
rule cluster_fit:
    output: r/clustering/digits/pixels/kmeans/init1/seed0/pred.pt
    benchmark: results/benchmarks/clustering/digits/pixels/kmeans/init1/seed0/fit.tsv
    resources: tmpdir=/tmp, gpu=1
localrule aggregate:
    output: results/summary.csv
    benchmark: results/benchmarks/report/aggregate.tsv
rule synthetic:
    benchmark: results/benchmarks/synthetic/a/lista/seed0.tsv
180 of 180 steps (100%) done
"""


def _record(folder: Path, name: str, date: str, times: list[tuple[str, str, float]], wall: float) -> None:
    record = {"name": name, "commit": "abc1234", "date": date, "machine": {"cpu": "CPU", "cores": 2, "python": "3.11"},
              "commands": [], "wall_s": {"workflow": wall, "report": 2.0, "total": wall + 2.0}, "cpu_s": 2 * wall, "jobs": 180,
              "benchmarked_jobs": len(times), "load_average_before": [0.1], "load_average_after": [2.0], "job_server": True, "note": ""}
    (folder / f"{name}.json").write_text(json.dumps(record))
    pd.DataFrame(times, columns=["rule", "benchmark", "s"]).to_csv(folder / f"{name}.csv", index=False)


def test_job_times_come_from_the_benchmark_files_the_log_names(tmp_path):
    results = tmp_path / "results"
    for path, seconds in (("clustering/digits/pixels/kmeans/init1/seed0/fit.tsv", 1.5), ("report/aggregate.tsv", 0.25)):
        (results / "benchmarks" / path).parent.mkdir(parents=True, exist_ok=True)
        (results / "benchmarks" / path).write_text(f"s\th:m:s\n{seconds}\t0:00:01\n")
    times = demo_timing.job_times(LOG, results)
    assert times.to_dict("records") == [
        {"rule": "cluster_fit", "benchmark": "clustering/digits/pixels/kmeans/init1/seed0/fit.tsv", "s": 1.5},
        {"rule": "aggregate", "benchmark": "report/aggregate.tsv", "s": 0.25},
    ]  # the synthetic job's file is missing: not counted


def test_the_speed_page_tables_are_generated_between_their_markers(tmp_path):
    records = tmp_path / "speed"
    records.mkdir()
    _record(records, "before", "2026-01-01 10:00 UTC", [("cluster_fit", "a/seed0.tsv", 6.0), ("cluster_fit", "a/seed1.tsv", 4.0)], 700.0)
    _record(records, "after", "2026-01-02 10:00 UTC", [("cluster_fit", "a/seed0.tsv", 1.0), ("figure", "f.tsv", 0.5)], 150.0)
    page = tmp_path / "speed.md"
    page.write_text(f"# Speed\n\nprose kept\n\n{demo_timing.BEGIN}\nold\n{demo_timing.END}\n\nafter the tables\n")
    demo_timing.render(page, records)
    text = page.read_text()
    assert "prose kept" in text and "after the tables" in text and "\nold\n" not in text
    runs = text.split("### The runs", 1)[1].split("### Per rule", 1)[0]
    assert runs.index("before") < runs.index("after") and "11 min 42.0 s" in runs and "2 min 32.0 s" in runs
    rules = text.split("### Per rule", 1)[1]
    row = next(line for line in rules.splitlines() if line.startswith("| cluster_fit"))
    assert [c.strip() for c in row.strip("|").split("|")] == ["cluster_fit", "2", "10.0", "5.0", "1", "1.0", "1.0"]
    figure = next(line for line in rules.splitlines() if line.startswith("| figure"))
    assert [c.strip() for c in figure.strip("|").split("|")] == ["figure", "", "", "", "1", "0.5", "0.5"]  # no such rule before
    page.write_text("no markers")
    with pytest.raises(SystemExit, match="lacks the markers"):
        demo_timing.render(page, records)
