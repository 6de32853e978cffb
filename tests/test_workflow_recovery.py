"""What a killed run leaves in Snakemake's working directory is recovered at the next start: outputs
Snakemake marked incomplete are read from its own persistence, and removed so that their jobs rerun
(tests/test_interruption.py kills a real run; tests/test_workflow_jobs.py covers the lock)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from snakemake.persistence.file import FilePersistence

from dpbench.workflow_recovery import marked_incomplete, recover_interrupted_run


def mark(workdir: Path, *outputs: str) -> None:
    """Mark ``outputs`` incomplete as Snakemake does when it starts their job."""
    persistence = FilePersistence(nolock=True, path=workdir / ".snakemake")
    for output in outputs:
        persistence._mark_incomplete(output, None)


def test_the_marks_snakemake_writes_are_read_back_as_paths(tmp_path):
    long = "results/" + "a" * 300 + "/seed0.json"  # longer than a file name may be: Snakemake splits it
    mark(tmp_path, "results/x/seed0.json", "/elsewhere/y.json", long)
    (tmp_path / ".snakemake" / "incomplete" / "migration_underway").touch()  # Snakemake's own, not a mark
    assert set(marked_incomplete(tmp_path)) == {tmp_path / "results/x/seed0.json", Path("/elsewhere/y.json"), tmp_path / long}


@pytest.fixture
def killed_run(tmp_path) -> Path:
    """A folder as a killed run leaves it: a stale lock, two marked outputs that exist (a file and a
    folder), one marked that does not, and one finished output."""
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.output.lock").touch()
    (tmp_path / "results").mkdir()
    for name in ("written.json", "finished.json"):
        (tmp_path / "results" / name).write_text("{}")
    (tmp_path / "data" / "raw" / "mnist").mkdir(parents=True)
    (tmp_path / "data" / "raw" / "mnist" / "file").touch()
    mark(tmp_path, "results/written.json", "data/raw/mnist", "results/never_written.json")
    return tmp_path


def test_a_killed_runs_marked_outputs_are_removed_and_its_finished_ones_kept(killed_run):
    assert recover_interrupted_run(killed_run) is True
    assert not (killed_run / "results" / "written.json").exists()
    assert not (killed_run / "data" / "raw" / "mnist").exists()
    assert (killed_run / "results" / "finished.json").exists()
    assert not list((killed_run / ".snakemake" / "locks").iterdir())


def test_a_dry_run_removes_no_output(killed_run):
    assert recover_interrupted_run(killed_run, dry_run=True) is True
    assert (killed_run / "results" / "written.json").exists() and (killed_run / "data" / "raw" / "mnist").is_dir()
    assert not list((killed_run / ".snakemake" / "locks").iterdir())


def test_nothing_is_removed_while_another_snakemake_works_there(killed_run):
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "snakemake"], cwd=killed_run)
    try:
        proc = Path(f"/proc/{other.pid}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            b"snakemake" in proc.joinpath("cmdline").read_bytes() and proc.joinpath("cwd").resolve() == killed_run.resolve()
        ):
            time.sleep(0.05)
        assert recover_interrupted_run(killed_run) is False
        assert (killed_run / "results" / "written.json").exists()
        assert list((killed_run / ".snakemake" / "locks").iterdir())
    finally:
        other.kill()
        other.wait()
