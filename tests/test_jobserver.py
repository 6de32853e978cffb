"""The job server (dpbench.jobserver): a job's ``python -m dpbench`` runs in a fork of one process that
imported everything once, as it would have run alone: its streams, folder, environment, umask, thread
count and exit status; the same result files; a cancelled job takes its child with it; no server (or
another dpbench's) means the job runs in its own process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpbench import jobserver

TINY = {"m": 8, "n": 16, "n_layers": 3, "n_test": 20, "fista_iters": 20, "schedule": "joint", "n_steps": 5}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module, with every command's module imported up front, as the workflow's."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    handle = jobserver.start(str(log))
    yield handle, log
    handle.stop()


def dpbench(args: list[str], cwd: Path, socket: str | None, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != jobserver.SOCKET_ENV} | env
    if socket:
        environ[jobserver.SOCKET_ENV] = socket
    return subprocess.run([sys.executable, "-m", "dpbench", *args], cwd=cwd, env=environ, capture_output=True, text=True,
                          timeout=timeout)


def synthetic(output: str, seed: int = 0) -> list[str]:
    return ["synthetic", "--model", "lista", "--seed", str(seed), "--params", json.dumps(TINY), "--device", "cpu", "--output", output]


def test_a_job_on_the_server_is_the_job_run_alone(server, tmp_path):
    handle, log = server
    old = os.umask(0o027)
    try:
        # Snakemake sets both to a job's threads; a caller's MKL_NUM_THREADS=1 would otherwise cap the job run alone
        threads = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
        served = dpbench(synthetic("served/r.json"), tmp_path, handle.path, **threads)
        alone = dpbench(synthetic("alone/r.json"), tmp_path, None, **threads)
    finally:
        os.umask(old)
    assert served.returncode == alone.returncode == 0, served.stderr + alone.stderr
    assert "LISTA trained" in served.stderr  # the job's own stderr (its log file in the workflow)
    a, b = (json.loads((tmp_path / d / "r.json").read_text()) for d in ("served", "alone"))
    timing = {"train_seconds"}
    assert [r for r in a["records"] if r["metric"] not in timing] == [r for r in b["records"] if r["metric"] not in timing]
    assert a["meta"]["torch_threads"] == b["meta"]["torch_threads"] == 2  # the job's OMP_NUM_THREADS (Snakemake's threads)
    assert stat.S_IMODE((tmp_path / "served/r.json").stat().st_mode) == 0o640  # the job's umask, its working folder
    assert "dpbench synthetic --model lista" in log.read_text()  # it did run on the server


def test_exit_status_and_errors_are_the_jobs(server, tmp_path):
    handle, _ = server
    proc = dpbench(["table", "--summary", "missing.csv", "--task", "synthetic", "--output", "t.tex"], tmp_path, handle.path)
    assert proc.returncode == 1 and "error: missing summary file: missing.csv" in proc.stderr
    proc = dpbench(["nosuchcommand"], tmp_path, handle.path)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    start = time.perf_counter()
    proc = dpbench(["--help"], tmp_path, handle.path)
    assert proc.returncode == 0 and "cluster-fit" in proc.stdout and time.perf_counter() - start < 5


def test_a_cancelled_job_takes_its_child_with_it(server, tmp_path):
    handle, log = server
    params = {**TINY, "n_steps": 10**7, "log_every": 0}
    args = ["synthetic", "--model", "lista", "--seed", "0", "--params", json.dumps(params), "--device", "cpu", "--output", "r.json"]
    env = {k: v for k, v in os.environ.items() if k != jobserver.SOCKET_ENV} | {jobserver.SOCKET_ENV: handle.path}
    job = subprocess.Popen([sys.executable, "-m", "dpbench", *args], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while "--output r.json" not in log.read_text() or "started" not in log.read_text().split("--output r.json")[0][-400:]:
        assert time.monotonic() < deadline, "the job never reached the server"
        time.sleep(0.1)
    child = int(log.read_text().split("--output r.json")[0].rsplit("job ", 1)[1].split()[0])
    job.send_signal(signal.SIGTERM)  # as Snakemake cancels a job
    job.wait(30)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the child outlived its job"
        time.sleep(0.1)
    assert not (tmp_path / "r.json").exists()
    assert f"job {child}: its process went away" in log.read_text()


def test_without_a_server_the_job_runs_alone(tmp_path, monkeypatch):
    proc = dpbench(synthetic("r.json"), tmp_path, str(tmp_path / "no-such-socket"))
    assert proc.returncode == 0 and (tmp_path / "r.json").exists()
    monkeypatch.setenv(jobserver.SOCKET_ENV, str(tmp_path / "no-such-socket"))
    assert jobserver.run_on_server(["--help"]) is None


def test_a_server_of_another_dpbench_refuses_the_job_which_then_runs_alone(tmp_path, monkeypatch):
    handle = jobserver.start(str(tmp_path / "server.log"), imports=False)
    try:
        monkeypatch.setenv(jobserver.SOCKET_ENV, handle.path)
        monkeypatch.setattr(jobserver, "_identity", lambda: {"executable": sys.executable, "package": "/another/checkout/dpbench"})
        assert jobserver.run_on_server(["--help"]) is None
    finally:
        handle.stop()
    assert "no job taken: refused a job" in (tmp_path / "server.log").read_text()
    assert not Path(handle.path).parent.exists()  # its private folder is gone with it


def test_the_server_ends_with_the_process_it_serves(tmp_path):
    watched = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    handle = jobserver.start(str(tmp_path / "server.log"), imports=False, watch_pid=watched.pid)
    try:
        assert Path(handle.path).exists()
        watched.kill()
        watched.wait()
        handle.process.wait(timeout=20)
        assert "is gone: stopping" in (tmp_path / "server.log").read_text()
    finally:
        handle.stop()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="zombies are told apart through /proc")
def test_a_zombie_is_not_alive():
    from dpbench.jobserver import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().split()[2] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)  # it exits and stays a zombie until reaped
    assert not pid_alive(child.pid)
    child.wait()
    assert not pid_alive(child.pid) and pid_alive(os.getpid())
