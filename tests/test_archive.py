"""dpbench.data.archive: safe extraction, truncation and checksum checks, download from a local server."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from anomaly_fixtures import http_server  # noqa: E402

from dpbench.data.archive import ArchiveError, ChecksumError, DownloadError, download, extract  # noqa: E402


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_tar_parent_member_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        _add_bytes(tf, "ok/file.txt", b"fine")
        _add_bytes(tf, "../escape.txt", b"evil")
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match="evil.tar.gz"):
        extract(archive, target)
    assert not (tmp_path / "escape.txt").exists()
    assert not target.exists() or not any(target.iterdir())
    assert _leftovers(tmp_path) == []


def test_tar_absolute_and_link_members_refused(tmp_path):
    for name, kind in (("abs.tar", "abs"), ("link.tar", "link")):
        archive = tmp_path / name
        with tarfile.open(archive, "w") as tf:
            if kind == "abs":
                _add_bytes(tf, "/tmp/dpbench-abs-escape.txt", b"evil")
            else:
                info = tarfile.TarInfo("data/link")
                info.type = tarfile.SYMTYPE
                info.linkname = "../../../etc/passwd"
                tf.addfile(info)
        # the "data" filter strips a leading "/" (safe) or refuses; a link out of the tree is refused
        if kind == "link":
            with pytest.raises(ArchiveError, match=name):
                extract(archive, tmp_path / f"out-{kind}")
        else:
            created = extract(archive, tmp_path / f"out-{kind}")
            assert all(tmp_path in p.resolve().parents for p in created)
            assert not Path("/tmp/dpbench-abs-escape.txt").exists()


def test_tar_refused_without_the_data_filter(tmp_path, monkeypatch):
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        _add_bytes(tf, "top/x.txt", b"fine")
    monkeypatch.delattr(tarfile, "data_filter")  # as on Python < 3.11.4
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"cannot extract .*a\.tar\.gz safely: Python .* lacks tarfile's 'data'"):
        extract(archive, target)
    assert not target.exists() and _leftovers(tmp_path) == []


def test_zip_parent_member_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok/file.txt", b"fine")
        zf.writestr("../escape.txt", b"evil")
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match=r"evil\.zip"):
        extract(archive, target)
    assert not (tmp_path / "escape.txt").exists()
    assert not target.exists() or not any(target.iterdir())
    assert _leftovers(tmp_path) == []


def test_zip_absolute_member_refused(tmp_path):
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("/etc/dpbench-escape"), b"evil")
    with pytest.raises(ArchiveError, match="abs.zip"):
        extract(archive, tmp_path / "out")


@pytest.mark.parametrize("suffix", [".tar.gz", ".zip"])
def test_truncated_archive_detected_and_nothing_left(tmp_path, suffix):
    rng = np.random.default_rng(0)
    payload = rng.integers(0, 256, size=200_000, dtype=np.uint8).tobytes()
    full = tmp_path / f"full{suffix}"
    if suffix == ".zip":
        with zipfile.ZipFile(full, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("top/a.bin", payload)
            zf.writestr("top/b.bin", payload[::-1])
    else:
        with tarfile.open(full, "w:gz") as tf:
            _add_bytes(tf, "top/a.bin", payload)
            _add_bytes(tf, "top/b.bin", payload[::-1])
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    target = tmp_path / "out"
    with pytest.raises(ArchiveError, match=f"cut{suffix}".replace(".", r"\.")):
        extract(cut, target)
    assert not (target / "top").exists()
    assert _leftovers(tmp_path) == []
    # the intact archive extracts fine
    created = extract(full, target)
    assert [p.name for p in created] == ["top"]
    assert (target / "top" / "a.bin").read_bytes() == payload


def test_extract_refuses_to_overwrite(tmp_path):
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tf:
        _add_bytes(tf, "top/x.txt", b"new")
    (tmp_path / "out" / "top").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="top"):
        extract(archive, tmp_path / "out")
    extract(archive, tmp_path / "out", overwrite=True)
    assert (tmp_path / "out" / "top" / "x.txt").read_text() == "new"


def test_unknown_archive_type(tmp_path):
    f = tmp_path / "data.rar"
    f.write_bytes(b"x")
    with pytest.raises(ArchiveError, match="unknown archive type"):
        extract(f, tmp_path / "out")


def test_checksum_mismatch_names_file_and_leaves_nothing(tmp_path):
    served = tmp_path / "srv"
    served.mkdir()
    (served / "blob.bin").write_bytes(b"hello world" * 100)
    dest = tmp_path / "dl" / "blob.bin"
    with http_server(served) as base:
        url = f"{base}/blob.bin"
        with pytest.raises(ChecksumError, match=r"blob\.bin") as exc:
            download(url, dest, sha256="0" * 64, progress=False)
        assert url in str(exc.value)
        assert not dest.exists()
        assert list(dest.parent.iterdir()) == []
        with pytest.raises(ChecksumError, match="md5"):
            download(url, dest, md5="0" * 32, progress=False)
        good = hashlib.sha256((served / "blob.bin").read_bytes()).hexdigest()
        assert download(url, dest, sha256=good, progress=False) == dest
        assert dest.read_bytes() == (served / "blob.bin").read_bytes()


def test_truncated_download_leaves_nothing(tmp_path):
    served = tmp_path / "srv"
    served.mkdir()
    (served / "big.tar.gz").write_bytes(bytes(range(256)) * 400)
    dest = tmp_path / "dl" / "big.tar.gz"
    with http_server(served, truncate=True) as base:
        with pytest.raises(DownloadError, match=r"truncated download of big\.tar\.gz from http://127\.0\.0\.1"):
            download(f"{base}/big.tar.gz", dest, progress=False)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_unpinned_download_records_sha256(tmp_path):
    served = tmp_path / "srv"
    served.mkdir()
    (served / "f.zip").write_bytes(b"abc")
    with http_server(served) as base:
        dest = download(f"{base}/f.zip", tmp_path / "dl" / "f.zip", progress=False)
    assert Path(f"{dest}.sha256").read_text().split()[0] == hashlib.sha256(b"abc").hexdigest()


def test_missing_url_raises_download_error(tmp_path):
    served = tmp_path / "srv"
    served.mkdir()
    with http_server(served) as base, pytest.raises(DownloadError, match=r"nothere\.tar"):
        download(f"{base}/nothere.tar", tmp_path / "nothere.tar", progress=False)
    assert not (tmp_path / "nothere.tar").exists()
