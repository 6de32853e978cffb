"""The workflow on a real (single-node, localhost) SLURM cluster, through the project's SLURM profile.

Starts munged + slurmctld + slurmd from Debian's slurm-wlm (installed with apt-get when missing and
we are root; skipped otherwise), runs the quick preset's clustering task with seeds 0 and 1, single start, through
``--profile`` derived from ``workflow/profiles/slurm`` (the node has no GPU and 2 CPUs, so GPU
requests are set to 0 and threads to 1), then checks that

- every non-local job went through ``sbatch``: each job id Snakemake reports as submitted appears in
  SLURM's job-completion log (jobcomp/filetxt) as COMPLETED on this node, with the run's job name,
  and no rule marked local was submitted;
- ``summary.csv`` equals a local run's: kmeans and sklearn_kmeans exactly, kmeansnet within float
  tolerance.

The daemons are stopped by a finaliser, also when the test fails.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
SEEDS = [0, 1]
MODELS = ["kmeans", "sklearn_kmeans", "kmeansnet"]
RUN_TIMEOUT = 500  # seconds per Snakemake run; both run at once (the whole test stays under 10 minutes)

pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.timeout(600)]


def _load_minicluster():
    spec = importlib.util.spec_from_file_location("dpbench_minicluster", REPO / "tests" / "slurm" / "minicluster.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


minicluster = _load_minicluster()


@pytest.fixture(scope="module")
def slurm(tmp_path_factory, request):
    reason = minicluster.install_if_missing()
    if reason:
        pytest.skip(reason)
    if os.geteuid() != 0:
        pytest.skip("the test cluster runs its daemons as root (SlurmUser=root)")
    work = tmp_path_factory.mktemp("slurm")
    cluster = minicluster.MiniCluster(work)
    request.addfinalizer(cluster.stop)  # registered first: runs even if start() fails half-way
    try:
        cluster.start(timeout=60)
    except (RuntimeError, subprocess.SubprocessError, OSError) as err:
        pytest.fail(f"could not start the single-node SLURM cluster: {err}\n{cluster.logs()}")
    return cluster


def subset_config(path: Path) -> Path:
    """The quick preset's clustering task on two seeds; every other task switched off."""
    merged = yaml.safe_load((REPO / "config.yaml").read_text())
    merged.update(yaml.safe_load((REPO / "workflow" / "presets" / "quick.yaml").read_text()))
    config = {"seeds": SEEDS, "clustering": {"enabled": True, "datasets": ["digits"], "cnn_features": [], "models": MODELS,
                                 "seeds": SEEDS, "n_init": [1]}}  # quick.yaml gives clustering ten seeds
    for key, value in merged.items():
        if key != "clustering" and isinstance(value, dict) and "enabled" in value:
            config[key] = {"enabled": False}
    path.write_text(yaml.safe_dump(config))
    return path


def node_profile(directory: Path, cluster) -> Path:
    """workflow/profiles/slurm adapted to the test node: no GPU, 1 thread a job, memory that fits."""
    profile = yaml.safe_load(PROFILE.read_text())
    assert profile["executor"] == "slurm"
    cap = cluster.mem_mb // 4
    defaults = dict(profile.get("default-resources", {}))
    defaults["mem_mb"] = min(int(defaults.get("mem_mb", cap)), cap)
    defaults["slurm_partition"] = "debug"
    profile["default-resources"] = defaults
    resources = {rule: dict(res) for rule, res in profile.get("set-resources", {}).items()}
    for rule in ("cluster_fit", "features"):  # the rules that ask for GPUs
        resources.setdefault(rule, {})["gpu"] = 0
    for res in resources.values():
        if "mem_mb" in res:
            res["mem_mb"] = min(int(res["mem_mb"]), cap)
    profile["set-resources"] = resources
    profile["set-threads"] = {rule: 1 for rule in ("prepare", "features", "cluster_fit", "cluster_evaluate")}
    profile.update(
        {
            "jobs": 4,
            "latency-wait": 10,
            "retries": 0,
            "slurm-status-command": "squeue",  # no slurmdbd here, so no sacct
            "slurm-init-seconds-before-status-checks": 2,
            "slurm-logdir": str(directory / "slurm_logs"),
            "slurm-keep-successful-logs": True,
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile))
    return directory


def start_snakemake(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # a file, not a pipe: nobody reads while the other run is awaited
        return subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, log: Path, t0: float) -> tuple[int, str]:
    """Wait for a run (killing it past RUN_TIMEOUT from t0); return its exit status and output."""
    killed = ""
    try:
        proc.wait(timeout=max(1.0, RUN_TIMEOUT - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        proc.terminate()  # Snakemake cancels its SLURM jobs on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        killed = f"\n[killed after {RUN_TIMEOUT}s]"
    return proc.returncode, log.read_text(errors="replace") + killed


def clustering_rows(path: Path) -> pd.DataFrame:
    summary = pd.read_csv(path)
    rows = summary[(summary.task == "clustering") & ~summary.metric.str.endswith("_seconds")]  # not timings
    keys = [c for c in ("dataset", "features", "model", "seed", "metric") if c in rows.columns]
    return rows.sort_values(keys).reset_index(drop=True)


def test_quick_clustering_through_sbatch_matches_local_run(slurm, tmp_path):
    config = subset_config(tmp_path / "subset.yaml")
    common = ["--configfile", "workflow/presets/quick.yaml", str(config), "--config"]  # targets go first

    # --- on SLURM, through the project's profile (adapted to this node), and at the same time the
    # same subset locally with the same threads (the two runs share nothing but the checkout)
    slurm_dir, local_dir = tmp_path / "slurm_run", tmp_path / "local_run"
    profile = node_profile(tmp_path / "profile", slurm)
    target = slurm_dir / "results" / "summary.csv"
    local_target = local_dir / "results" / "summary.csv"
    t0 = time.monotonic()
    on_cluster = start_snakemake(
        [str(target), "--profile", str(profile), *common, f"results_dir={slurm_dir / 'results'}", f"data_dir={slurm_dir / 'data'}"],
        env=slurm.env(),
        log=tmp_path / "snakemake_slurm.log",
    )
    here = start_snakemake(
        [str(local_target), "--cores", "2", "--set-threads", "cluster_fit=1", "features=1", "cluster_evaluate=1", "prepare=1",
         *common, f"results_dir={local_dir / 'results'}", f"data_dir={local_dir / 'data'}"],
        env={k: v for k, v in os.environ.items() if not k.startswith("SLURM_")},
        log=tmp_path / "snakemake_local.log",
    )
    local_rc, local_out = finish(here, tmp_path / "snakemake_local.log", t0)
    rc, out = finish(on_cluster, tmp_path / "snakemake_slurm.log", t0)
    seconds = time.monotonic() - t0
    assert rc == 0, out[-4000:] + "\n" + slurm.logs()
    assert local_rc == 0, local_out[-4000:]

    # every submitted job id, as the executor reports it (`Job <n> has been submitted with SLURM jobid <id>`)
    submitted = dict(re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", out))
    # prepare, features, and one group job (fit + evaluate, see the profile's `groups`) per model x seed
    n_remote = 1 + 1 + len(SEEDS) * len(MODELS)
    assert len(submitted) == n_remote, out[-4000:]
    completed = {job["JobId"]: job for job in slurm.completed_jobs()}
    for jobid in submitted.values():
        assert jobid in completed, f"SLURM job {jobid} missing from {slurm.jobcomp}"
        assert completed[jobid]["JobState"] == "COMPLETED", completed[jobid]
        assert completed[jobid]["NodeList"] == slurm.host
    assert len({completed[j]["Name"] for j in submitted.values()}) == 1  # the run's uuid names them all
    # local rules ran here, not through sbatch
    assert "localrule download:" in out and "localrule aggregate:" in out
    assert not re.search(r"\nrule (download|aggregate):", out)

    on_slurm, local = clustering_rows(target), clustering_rows(local_dir / "results" / "summary.csv")
    assert len(on_slurm) == len(local) > 0
    assert set(on_slurm.model) == set(MODELS) and set(on_slurm.seed) == set(SEEDS)
    key_cols = [c for c in on_slurm.columns if c != "value"]
    pd.testing.assert_frame_equal(on_slurm[key_cols], local[key_cols])
    exact = on_slurm.model.isin(["kmeans", "sklearn_kmeans"])
    assert (on_slurm.value[exact] == local.value[exact]).all(), pd.concat([on_slurm[exact], local.value[exact]], axis=1)
    pd.testing.assert_series_equal(on_slurm.value[~exact], local.value[~exact], rtol=1e-5, atol=1e-6)
    print(f"SLURM + local runs: {seconds:.0f}s, {len(submitted)} sbatch jobs")
