"""Recovery of Snakemake's directory lock after a hard kill.

Snakemake locks a working directory while it runs and removes the lock when it exits. A run killed
with SIGKILL (or a power loss) cannot remove it, and the next run then refuses to start until the
user passes ``--unlock``. Every dpbench output is written atomically, so a killed run leaves no
partial file behind, and rerunning the same command is safe once the stale lock is gone. The
workflow calls :func:`release_stale_lock` at start-up: it removes the lock only when no other
Snakemake process is running in the same directory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def _ancestors(pid: int) -> set[int]:
    """``pid`` and its parent processes."""
    chain = set()
    while pid > 1 and pid not in chain:
        chain.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


def other_snakemake_running(workdir: Path) -> bool:
    """Whether a Snakemake process other than this one (and its parents) works in ``workdir``."""
    own = _ancestors(os.getpid())
    workdir = workdir.resolve()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in own:
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            cwd = (proc / "cwd").resolve()
        except OSError:
            continue
        if b"snakemake" in cmdline and cwd == workdir:
            return True
    return False


def release_stale_lock(workdir: str | os.PathLike[str] = ".") -> bool:
    """Remove Snakemake's lock files in ``workdir`` if no other Snakemake process is alive there."""
    workdir = Path(workdir)
    locks = workdir / ".snakemake" / "locks"
    stale = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    if not stale or not Path("/proc").is_dir() or other_snakemake_running(workdir):
        return False
    for lock in stale:
        lock.unlink(missing_ok=True)
    log.warning("removed the stale Snakemake lock of an interrupted run in %s", workdir.resolve())
    return True
