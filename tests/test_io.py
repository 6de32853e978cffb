"""Atomic writes (dpbench.io): the file appears whole or not at all, with the mode a plain write gives it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dpbench.io import atomic_path, read_json, save_tensors, write_json


@pytest.fixture
def umask():
    """Set the process's umask for one test (``umask(0o027)``), restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o027, 0o640), (0o077, 0o600)])
def test_result_files_get_the_mode_of_a_plain_write(tmp_path, umask, mask, expected):
    umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_json(tmp_path / "sub" / "metrics.json", {"acc": 0.5})
    save_tensors(tmp_path / "pred.pt", {"n": 3})
    with atomic_path(tmp_path / "summary.csv") as tmp:
        tmp.write_text("a,b\n")
    assert _mode(plain) == expected  # what the kernel gives open(path, "w") under this umask
    for name in ("sub/metrics.json", "pred.pt", "summary.csv"):
        assert _mode(tmp_path / name) == expected, name


def test_a_failed_write_leaves_neither_the_file_nor_its_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_json(target, {"ok": True})
    assert read_json(target) == {"ok": True} and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_download_gets_the_mode_of_a_plain_write(tmp_path, umask):
    from dpbench.data.archive import download

    umask(0o002)
    source = tmp_path / "src.bin"
    source.write_bytes(b"data" * 100)
    dest = download(source.as_uri(), tmp_path / "raw" / "file.bin", progress=False)
    assert dest.read_bytes() == source.read_bytes() and _mode(dest) == 0o664
