"""A throw-away single-node SLURM cluster on localhost, for tests.

Everything it writes (slurm.conf, munge key and socket, state, spool, logs, pid files, the
job-completion log) lies under one work directory; it never touches /etc/slurm or a system munged.
Daemons run as root (SlurmUser=root, SlurmdUser=root), so starting one needs root.

    cluster = MiniCluster(Path("/tmp/slurm"))
    cluster.start()            # munged, slurmctld, slurmd; waits until the node is idle
    env = cluster.env()        # os.environ + SLURM_CONF: pass to sbatch/squeue/snakemake
    ...
    cluster.stop()             # stops exactly the daemons it started

Also usable by hand: ``python tests/slurm/minicluster.py start|stop <workdir>``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from dpbench.jobserver import pid_alive

DAEMONS = ("slurmctld", "slurmd", "munged", "mungekey", "sbatch", "squeue", "scontrol", "sinfo", "srun")
APT_PACKAGES = ("slurm-wlm", "munge")

SLURM_CONF = """\
# written by dpbench tests/slurm/minicluster.py: a single-node test cluster
ClusterName=dpbench-test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={work}/slurmctld.pid
SlurmdPidFile={work}/slurmd.pid
SlurmctldLogFile={work}/slurmctld.log
SlurmdLogFile={work}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# no slurmdbd: job accounting is a plain completion log that the tests read back
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc={work}/jobcomp.log
# keep finished jobs visible to squeue/scontrol (the executor may poll with squeue)
MinJobAge=3600
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_tools() -> list[str]:
    return [tool for tool in DAEMONS if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]


def install_if_missing(timeout: float = 600) -> str | None:
    """Install Debian's slurm-wlm and munge when they are missing; return why it cannot, else None."""
    if not missing_tools():
        return None
    if os.geteuid() != 0:
        return f"SLURM tools missing ({', '.join(missing_tools())}) and not root, cannot apt-get install"
    if shutil.which("apt-get") is None:
        return f"SLURM tools missing ({', '.join(missing_tools())}) and no apt-get to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES]
        proc = subprocess.run(install, env=env, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:  # package lists may be missing on a fresh image
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=timeout)
            proc = subprocess.run(install, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "apt-get install slurm-wlm munge timed out"
    if proc.returncode != 0:
        return f"apt-get install slurm-wlm munge failed: {proc.stderr.strip()[-500:]}"
    if missing_tools():
        return f"still missing after apt-get install: {', '.join(missing_tools())}"
    return None


def _sbin(tool: str) -> str:
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or tool


class MiniCluster:
    def __init__(self, work: Path, cpus: int | None = None, mem_mb: int | None = None):
        self.work = Path(work).resolve()
        self.host = socket.gethostname().split(".")[0]
        self.cpus = cpus or os.cpu_count() or 1
        if mem_mb is None:
            total_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
            mem_mb = max(1024, total_kb // 1024 - 2048)  # leave the OS some room
        self.mem_mb = mem_mb
        self.conf = self.work / "slurm.conf"
        self.munge_socket = self.work / "munge" / "munge.socket"
        self.jobcomp = self.work / "jobcomp.log"
        self._pids: dict[str, int] = {}

    # ---- environment -------------------------------------------------------------------------
    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = str(self.conf)
        # the slurm-jobstep executor runs each job as `srun ...` with every SLURM_* variable removed
        # (SLURM_CONF too); real clusters have /etc/slurm/slurm.conf, this one has a shim that puts it back
        env["PATH"] = f"{self.work / 'bin'}:{env.get('PATH', os.defpath)}"
        for var in [v for v in env if v.startswith(("SLURM_JOB", "SBATCH_", "SRUN_"))]:
            env.pop(var)  # never inherit an enclosing real allocation
        return env

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=timeout)

    # ---- start/stop --------------------------------------------------------------------------
    def _write_config(self) -> None:
        for sub in ("state", "spool", "munge"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.work / "munge", 0o755)  # munged wants its socket directory traversable
        (self.work / "bin").mkdir(exist_ok=True)
        shim = self.work / "bin" / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {_sbin("srun")} "$@"\n')
        shim.chmod(0o755)
        self.conf.write_text(
            SLURM_CONF.format(
                host=self.host,
                ctld_port=_free_port(),
                slurmd_port=_free_port(),
                munge_socket=self.munge_socket,
                state=self.work / "state",
                spool=self.work / "spool",
                work=self.work,
                cpus=self.cpus,
                mem_mb=self.mem_mb,
            )
        )

    def _start_munged(self) -> None:
        key = self.work / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
            os.chmod(key, 0o400)
        pidfile = self.work / "munge" / "munged.pid"
        cmd = [
            _sbin("munged"),
            "--force",
            f"--key-file={key}",
            f"--socket={self.munge_socket}",
            f"--pid-file={pidfile}",
            f"--log-file={self.work / 'munge' / 'munged.log'}",
            f"--seed-file={self.work / 'munge' / 'munged.seed'}",
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=30)  # daemonises
        self._pids["munged"] = self._wait_pidfile(pidfile, "munged")

    def _wait_pidfile(self, pidfile: Path, name: str, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pidfile.exists():
                text = pidfile.read_text().strip()
                if text.isdigit():
                    return int(text)
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not write {pidfile} within {timeout}s; log:\n{self.logs()}")

    def start(self, timeout: float = 60) -> None:
        self._write_config()
        try:
            self._start_munged()
            # -c: clean start (no saved state); -f: our config; both daemonise and write pid files
            subprocess.run([_sbin("slurmctld"), "-c", "-f", str(self.conf)], env=self.env(), check=True,
                           capture_output=True, text=True, timeout=30)
            self._pids["slurmctld"] = self._wait_pidfile(self.work / "slurmctld.pid", "slurmctld")
            subprocess.run([_sbin("slurmd"), "-c", "-f", str(self.conf), "-N", self.host], env=self.env(),
                           check=True, capture_output=True, text=True, timeout=30)
            self._pids["slurmd"] = self._wait_pidfile(self.work / "slurmd.pid", "slurmd")
            self.wait_idle(timeout)
        except BaseException:
            self.stop()
            raise

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            proc = self.run("sinfo", "-h", "-N", "-o", "%T")
            state = proc.stdout.strip()
            if proc.returncode == 0 and state.startswith("idle"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node not idle after {timeout}s (state {state!r}); logs:\n{self.logs()}")

    def stop(self) -> None:
        """Stop the daemons this object started (by pid), slurmd first; never others."""
        if "slurmd" in self._pids or "slurmctld" in self._pids:
            self.run("scancel", "--full", "--user", "root", timeout=10) if self.conf.exists() else None
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self._pids.pop(name, None)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.2)
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def logs(self, tail: int = 40) -> str:
        out = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.work / name
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-tail:]
                out.append(f"--- {name}\n" + "\n".join(lines))
        return "\n".join(out)

    def completed_jobs(self) -> list[dict[str, str]]:
        """The job-completion log (jobcomp/filetxt): one dict per finished job (JobId, Name, JobState, NodeList, ...)."""
        if not self.jobcomp.exists():
            return []
        jobs = []
        for line in self.jobcomp.read_text().splitlines():
            fields = {}
            for token in line.split():
                key, sep, value = token.partition("=")
                if sep:
                    fields[key] = value
            if fields:
                jobs.append(fields)
        return jobs


if __name__ == "__main__":  # manual use: start a cluster and leave it running, or stop one
    action, work = sys.argv[1], Path(sys.argv[2])
    cluster = MiniCluster(work)
    if action == "start":
        cluster.start()
        print(f"export SLURM_CONF={cluster.conf}")
    elif action == "stop":
        cluster.conf = work / "slurm.conf"
        for name, pidfile in (("slurmd", "slurmd.pid"), ("slurmctld", "slurmctld.pid"), ("munged", "munge/munged.pid")):
            if (work / pidfile).exists():
                cluster._pids[name] = int((work / pidfile).read_text().strip())
        cluster.stop()
