"""GPU slot assignment (dpbench.gpu_slots), on CPU with fake device lists."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from argparse import Namespace
from pathlib import Path

import pytest

from dpbench import gpu_slots
from dpbench.gpu_slots import GpuSlotTimeout, gpu_slot, slot_for_args, wants_slot

pytestmark = pytest.mark.timeout(120)

HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from dpbench.gpu_slots import gpu_slot
    devices, lock_dir, out, hold = sys.argv[1].split(","), sys.argv[2], sys.argv[3], float(sys.argv[4])
    with gpu_slot(devices, lock_dir=lock_dir, jobs_per_gpu=int(sys.argv[5]), timeout=60, poll=0.05) as slot:
        t0 = time.time()
        open(out, "w").write(f"{os.environ['CUDA_VISIBLE_DEVICES']} {slot.slot} {t0}\\n")
        time.sleep(hold)
        with open(out, "a") as f:
            f.write(f"{time.time()}\\n")
    """
)


def spawn_holder(devices, lock_dir, out, hold, jobs_per_gpu=1):
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, ",".join(devices), str(lock_dir), str(out), str(hold), str(jobs_per_gpu)],
        env=env,
    )


def wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} not written in {timeout}s")


def test_slot_sets_and_restores_cuda_visible_devices(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    with gpu_slot(["0", "1", "2"], lock_dir=tmp_path) as slot:
        assert os.environ["CUDA_VISIBLE_DEVICES"] == slot.device == "0"
        with gpu_slot(["0", "1", "2"], lock_dir=tmp_path) as second:  # another holder in this process
            assert second.device == "1"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1,2"
    with gpu_slot(["0", "1", "2"], lock_dir=tmp_path) as again:  # released: first GPU free again
        assert again.device == "0"


def test_all_busy_waits_then_times_out(tmp_path):
    with gpu_slot(["7"], lock_dir=tmp_path, set_env=False):
        t0 = time.monotonic()
        with pytest.raises(GpuSlotTimeout, match="busy"):
            with gpu_slot(["7"], lock_dir=tmp_path, timeout=0.5, poll=0.05, set_env=False):
                pass
        assert time.monotonic() - t0 >= 0.5


def test_jobs_per_gpu_fills_each_gpu_before_doubling_up(tmp_path):
    with gpu_slot(["0", "1"], lock_dir=tmp_path, jobs_per_gpu=2, set_env=False) as a, \
         gpu_slot(["0", "1"], lock_dir=tmp_path, jobs_per_gpu=2, set_env=False) as b, \
         gpu_slot(["0", "1"], lock_dir=tmp_path, jobs_per_gpu=2, set_env=False) as c, \
         gpu_slot(["0", "1"], lock_dir=tmp_path, jobs_per_gpu=2, set_env=False) as d:
        assert [(s.device, s.slot) for s in (a, b, c, d)] == [("0", 0), ("1", 0), ("0", 1), ("1", 1)]
        with pytest.raises(GpuSlotTimeout):
            with gpu_slot(["0", "1"], lock_dir=tmp_path, jobs_per_gpu=2, timeout=0.2, poll=0.05, set_env=False):
                pass


def test_processes_never_share_a_slot(tmp_path):
    """Four processes on two fake GPUs: at most two at once, never two on the same GPU."""
    lock_dir = tmp_path / "locks"
    outs = [tmp_path / f"p{i}.txt" for i in range(4)]
    procs = [spawn_holder(["0", "1"], lock_dir, out, hold=1.0) for out in outs]
    for p in procs:
        assert p.wait(timeout=60) == 0
    spans = []
    for out in outs:
        first, end = out.read_text().splitlines()
        device, slot, start = first.split()
        spans.append((device, float(start), float(end)))
    assert {d for d, _, _ in spans} == {"0", "1"}
    for i, (d1, s1, e1) in enumerate(spans):
        for d2, s2, e2 in spans[i + 1 :]:
            if d1 == d2:
                assert e1 <= s2 or e2 <= s1, f"GPU {d1} shared: {spans}"
    # with two slots and four 1-s jobs, the last one cannot start before the first one ended
    starts = sorted(s for _, s, _ in spans)
    ends = sorted(e for _, _, e in spans)
    assert starts[2] >= ends[0]


def test_killed_holder_releases_its_slot(tmp_path):
    lock_dir = tmp_path / "locks"
    out = tmp_path / "holder.txt"
    holder = spawn_holder(["0"], lock_dir, out, hold=300)
    try:
        assert wait_for(out).split()[0] == "0"
        with pytest.raises(GpuSlotTimeout):  # held by the other process
            with gpu_slot(["0"], lock_dir=lock_dir, timeout=0.3, poll=0.05, set_env=False):
                pass
        holder.send_signal(signal.SIGKILL)  # no clean-up code runs: the kernel drops the flock
        holder.wait(timeout=10)
        with gpu_slot(["0"], lock_dir=lock_dir, timeout=10, poll=0.05, set_env=False) as slot:
            assert slot.device == "0"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_visible_gpus_follows_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,GPU-abc")
    assert gpu_slots.visible_gpus() == ["2", "GPU-abc"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert gpu_slots.visible_gpus() == []


def test_uuid_devices_get_safe_lock_names(tmp_path):
    with gpu_slot(["MIG-1/2:3"], lock_dir=tmp_path, set_env=False) as slot:
        assert slot.lock_path.parent == tmp_path and "/" not in slot.lock_path.name[:-5].replace("gpu", "", 1)


def test_when_a_command_takes_a_slot(monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("DPBENCH_GPU_SLOTS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert wants_slot("auto") and wants_slot("cuda")
    assert not wants_slot("cpu") and not wants_slot("cuda:1") and not wants_slot(None)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")  # one GPU: nothing to choose
    assert not wants_slot("cuda")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # SLURM assigned the GPUs already
    assert not wants_slot("cuda")
    monkeypatch.delenv("SLURM_JOB_ID")
    monkeypatch.setenv("DPBENCH_GPU_SLOTS", "0")
    assert not wants_slot("cuda")
    # commands without --device never take one
    monkeypatch.delenv("DPBENCH_GPU_SLOTS")
    assert isinstance(slot_for_args(Namespace(command="table")), contextlib.nullcontext)


def test_cli_takes_a_slot_around_the_command(tmp_path, monkeypatch):
    """cli.main() runs a --device command inside a slot: it sees exactly one GPU."""
    from dpbench import cli

    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    monkeypatch.setenv("DPBENCH_GPU_LOCK_DIR", str(tmp_path))
    seen = {}

    def fake_command(args):
        seen["cvd"] = os.environ["CUDA_VISIBLE_DEVICES"]

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda command=None: _Wrapped(parser, fake_command))
    assert cli.main(["fake", "--device", "cuda"]) == 0
    assert seen["cvd"] == "3"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5"


class _Wrapped:
    """A parser whose parse_args returns a fake command with a --device argument."""

    def __init__(self, parser, func):
        self.parser, self.func = parser, func

    def parse_args(self, argv):
        return Namespace(command="fake", device=argv[argv.index("--device") + 1], func=self.func, verbose=False, tf32=False, compile=False,
                         cuda_graphs=False)
