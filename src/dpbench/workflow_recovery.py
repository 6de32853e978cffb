"""Recovery of what a hard kill leaves in Snakemake's working directory.

Snakemake locks a working directory while it runs and removes the lock when it exits; it marks the
outputs of every job it starts as incomplete, and clears the mark when the job has ended. A run
killed with SIGKILL (or a power loss) can do neither. The next run then refuses to start until the
user passes ``--unlock``; and, if a job had written its output in the instant before the kill
(before Snakemake could record that it ended), until ``--rerun-incomplete``.

Every dpbench output is written atomically, so a killed run leaves no partial file behind, and
rerunning the same command is safe once the stale lock is gone and the marked outputs are removed
(their jobs are then redone, as ``--rerun-incomplete`` would). The workflow calls
:func:`recover_interrupted_run` at start-up. It acts only when no other Snakemake process is running
in the same directory: then no job can be running there, so the lock and every mark are stale.

The marks are read where Snakemake's default (file) persistence keeps them, one file per output
under ``.snakemake/incomplete``; under ``--persistence-backend db`` they are left to Snakemake.
"""

from __future__ import annotations

import binascii
import logging
import os
import shutil
from base64 import urlsafe_b64decode
from collections.abc import Iterator
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


def marked_incomplete(workdir: Path) -> Iterator[Path]:
    """The outputs Snakemake has marked incomplete in ``workdir``, whether they exist or not.

    Each mark is a file named by the output's path in URL-safe base64; a name longer than the file
    system allows is split into folders, all but the last part prefixed with ``@``.
    """
    root = workdir / ".snakemake" / "incomplete"
    for mark in sorted(root.rglob("*")) if root.is_dir() else []:
        parts = mark.relative_to(root).parts
        if not mark.is_file() or not all(p.startswith("@") for p in parts[:-1]):
            continue
        try:
            path = urlsafe_b64decode("".join(p[1:] for p in parts[:-1]) + parts[-1]).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue  # not a mark (Snakemake's own "migration_underway")
        yield workdir / path


def recover_interrupted_run(workdir: str | os.PathLike[str] = ".", *, dry_run: bool = False) -> bool:
    """Release the lock and remove the outputs marked incomplete that a killed run left in ``workdir``;
    whether there was any to remove.

    Looks for other Snakemake processes only when there is something to remove, and then does nothing
    (returns False) while another is alive there, or when there is no ``/proc`` to tell. A dry run
    removes no output: it only releases the lock.
    """
    workdir = Path(workdir)
    locks = workdir / ".snakemake" / "locks"
    stale = sorted(locks.glob("*.lock")) if locks.is_dir() else []
    outputs = [] if dry_run else [o for o in marked_incomplete(workdir) if o.exists() or o.is_symlink()]
    if not (stale or outputs) or not Path("/proc").is_dir() or other_snakemake_running(workdir):
        return False
    for lock in stale:
        lock.unlink(missing_ok=True)
    if stale:
        log.warning("removed the stale Snakemake lock of an interrupted run in %s", workdir.resolve())
    for output in outputs:
        if output.is_dir() and not output.is_symlink():
            shutil.rmtree(output)
        else:
            output.unlink()
        log.warning("removed %s: its job was running when the run was killed, and is redone", output)
    return True
