"""The Snakemake workflow: config validation, the full DAG, and the quick preset end to end."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(repo: Path, *args: str, timeout: int = 900, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=repo, capture_output=True, text=True, timeout=timeout, env=env)


def with_mylab(repo: Path) -> dict[str, str]:
    """The environment with examples/mylab importable (as after ``pip install -e examples/mylab``)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo / "examples/mylab"), os.environ.get("PYTHONPATH")]))}


def test_unknown_config_key_fails_before_any_job(repo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clustering:\n  enabled: true\n  datasets: [digits]\n  models: [kmeans]\n  n_clusterz: 3\n")
    proc = snakemake(repo, "-n", "--cores", "1", "--configfile", str(bad))
    assert proc.returncode != 0
    assert "n_clusterz" in proc.stdout + proc.stderr
    assert "rule " not in proc.stdout  # no job was scheduled


def test_wrong_type_and_unknown_model_are_named(repo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [0]\nclustering:\n  enabled: true\n  datasets: [digits]\n  models: [kmeanz]\n")
    proc = snakemake(repo, "-n", "--cores", "1", "--configfile", str(bad))
    assert proc.returncode != 0 and "kmeanz" in proc.stdout + proc.stderr
    bad.write_text("seeds: zero\n")
    proc = snakemake(repo, "-n", "--cores", "1", "--configfile", str(bad))
    assert proc.returncode != 0 and "seeds" in proc.stdout + proc.stderr


def test_full_reproduction_dry_run_shows_the_whole_dag(repo):
    proc = snakemake(repo, "-n", "--cores", "all", "--quiet", "rules")
    assert proc.returncode == 0, proc.stderr
    for rule in ("download", "prepare", "features", "cluster_fit", "cluster_evaluate", "aggregate", "table", "figure"):
        assert rule in proc.stdout, rule


@pytest.mark.slow
def test_quick_preset_end_to_end_then_figures_only(repo, tmp_path):
    """The quick preset at test size, with the worked example of docs/adding-a-model.md layered on it:
    models of one's own (examples/mylab/benchmark.yaml) through every task they declare, every table,
    figure and the scorecard."""
    results, data = tmp_path / "results", tmp_path / "data"
    size = "tests/quick_test_size.yaml"  # fewer seeds than make demo, the same jobs
    own = "examples/mylab/benchmark.yaml"  # mylab.models:LISTACPTied and scikit-learn's MiniBatchKMeans, and their claims
    common = ["--configfile", "workflow/presets/quick.yaml", size, own, "--config", f"results_dir={results}", f"data_dir={data}"]
    env = with_mylab(repo)
    proc = snakemake(repo, "--cores", "2", *common, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "job server on" in (results / "logs/job_server.log").read_text()  # the jobs ran in forks of one process
    summary = pd.read_csv(results / "summary.csv")
    tied, minibatch = "mylab.models:LISTACPTied", "sklearn.cluster:MiniBatchKMeans"
    ran = summary[summary.status == "ok"].groupby("model")["task"].unique().map(set)
    assert ran[tied] == {"synthetic", "reconstruction", "classification_unsupervised", "classification_supervised", "anomaly"}
    assert ran[minibatch] == {"clustering"}
    for task, label in [("synthetic", "LISTA-CP (tied W)"), ("reconstruction", "LISTA-CP (tied W)"), ("anomaly", "LISTA-CP (tied W)"),
                        ("classification_supervised", "LISTA-CP (tied W)"), ("clustering", "k-means (mini-batch, scikit-learn)")]:
        assert f">{label}</th>" in (results / "tables" / f"{task}.html").read_text(), task
    scorecard = (results / "tables" / "claims.html").read_text()
    assert "tied-w-close-to-lista-cp" in scorecard and "LISTA-CP (tied W) at most 3 worse than LISTA-CP" in scorecard
    acc = summary[(summary.task == "clustering") & (summary.metric == "acc")]
    assert set(acc.model) >= {"kmeans", "kmeansnet"} and acc.seed.nunique() >= 3
    kmeans_acc = acc[acc.model == "kmeans"].value
    assert kmeans_acc.between(0.70, 0.85).all()  # the range scikit-learn's KMeans gives on digits
    assert (results / "tables" / "clustering.tex").exists()
    assert (results / "figures" / "clustering_scores.pdf").exists()

    # the HTML report embeds each table as HTML, the summary as CSV (the viewer shows no .tex)
    proc = snakemake(repo, "--cores", "1", *common, "--report", str(tmp_path / "report.html"), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    embedded = report_items(tmp_path / "report.html")
    tables = sorted(path.name for path in (results / "tables").glob("*.html"))
    assert {"clustering.html", "paper_comparison.html"} <= set(tables) and len(tables) == len(list((results / "tables").glob("*.tex")))
    for table in tables:
        mime, content = embedded[table]
        assert mime == "text/html" and content == (results / "tables" / table).read_bytes() and b"<table" in content, table
    assert "±".encode() in embedded["clustering.html"][1]  # mean ± sd over the seeds
    assert embedded["summary.csv"][1] == (results / "summary.csv").read_bytes()

    # regenerate the report from saved results only: no training job may run
    for folder in ("tables", "figures"):
        for f in (results / folder).iterdir():
            f.unlink()
    proc = snakemake(repo, "figures", "--cores", "1", *common, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = proc.stderr
    assert "rule figure" in ran or "figure" in ran
    for rule in ("cluster_fit", "cluster_evaluate", "prepare", "aggregate"):
        assert f"rule {rule}:" not in ran, rule
    assert (results / "tables" / "clustering.tex").exists()
    assert (results / "tables" / "paper_comparison.tex").exists()
    assert "lista-beats-fista" in (results / "tables" / "claims.html").read_text()  # the scorecard, recomputed

    # after a config change, make figures (--allowed-rules) still only redraws; plain snakemake would retrain
    changed = tmp_path / "changed.yaml"
    changed.write_text((repo / "workflow/presets/quick.yaml").read_text().replace("train: {epochs: 6,", "train: {epochs: 7,"))
    (results / "tables" / "clustering.tex").unlink()
    changed_args = ["--configfile", str(changed), size, own, "--config", f"results_dir={results}", f"data_dir={data}"]
    proc = snakemake(repo, "figures", "-n", "--cores", "1", *changed_args, "--allowed-rules", *makefile_report_rules(repo), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rule table:" in proc.stdout and "images_run" not in proc.stdout

    # every training job of the run has its measured time: the estimate has nothing left to guess
    proc = subprocess.run([sys.executable, "-m", "dpbench", "estimate", *common], cwd=repo, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    total = next(line for line in proc.stdout.splitlines() if line.startswith("| total")).strip("|").split("|")
    assert int(total[1]) == int(total[2]) > 0 and "no measured seed" not in proc.stdout


def report_items(report: Path) -> dict[str, tuple[str, bytes]]:
    """The files a self-contained Snakemake report embeds (base64 data URIs): name -> (MIME type, bytes)."""
    uris = re.findall(r"data:([\w.+-]+/[\w.+-]+);charset=[^;]*;filename=([^;]+);base64,([A-Za-z0-9+/=]+)", report.read_text())
    return {name: (mime, base64.b64decode(data)) for mime, name, data in uris}


def makefile_report_rules(repo: Path) -> list[str]:
    line = next(line for line in (repo / "Makefile").read_text().splitlines() if line.startswith("REPORT_RULES"))
    return line.split(":=", 1)[1].split()


@pytest.mark.parametrize(
    "text, culprit",
    [
        ("clustering: {enabled: true, datasets: [mnsit], models: [kmeans]}\n", "mnsit"),
        ("synthetic:\n  problem: {lam: -0.1}\n", "-0.1"),
        ("anomaly: {enabled: true, datasets: [ucsd_ped3], models: [ista]}\n", "ucsd_ped3"),
        ("images:\n  lam: -1\n", "-1"),
        ("images:\n  models: [sc2nett]\n", "sc2nett"),
    ],
)
def test_bad_dataset_names_and_negative_lambda_are_refused(repo, tmp_path, text, culprit):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = snakemake(repo, "-n", "--cores", "1", "--configfile", str(bad))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert culprit in out and "rule " not in proc.stdout
