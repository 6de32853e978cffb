"""Download and extract dataset archives safely.

This is the project's one download/extract module:

* :func:`download` streams a URL to a temporary file beside the destination, hashes it on the
  way, and renames it into place only when the size and checksum are right. A truncated
  download or a checksum mismatch raises an error naming the file and the URL and leaves
  nothing at the destination. When no checksum is pinned, the SHA-256 of the first download is
  logged and recorded in a ``<dest>.sha256`` side file so it can be pinned afterwards.
* :func:`extract` unpacks ``.tar``, ``.tar.gz``/``.tgz`` (also ``.tar.bz2``/``.tar.xz``) and
  ``.zip`` archives into a temporary folder beside the target, refusing members that would land
  outside it (``../`` names, absolute paths, links pointing out of the tree), and moves the
  result into place only when the whole archive was read. A corrupt or truncated archive raises
  an error naming the file and leaves no partial extraction behind. Tar members go through
  tarfile's ``data`` filter; a Python without it (before 3.11.4, 3.10.12) is refused, never
  worked around by extracting unfiltered.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from http.client import HTTPException, IncompleteRead
from pathlib import Path, PurePosixPath, PureWindowsPath

from dpbench.io import new_temporary_file

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)


class DownloadError(ValueError):
    """A download failed, was truncated, or its content did not match the pinned checksum."""


class ChecksumError(DownloadError):
    """A file's checksum differs from the pinned value."""


class ArchiveError(ValueError):
    """An archive is corrupt, truncated, of an unknown type, or holds an unsafe member."""


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
            h.update(chunk)
    return h.hexdigest()


def _expected(sha256: str | None, md5: str | None) -> list[tuple[str, str]]:
    out = []
    if sha256:
        out.append(("sha256", sha256.lower().strip()))
    if md5:
        out.append(("md5", md5.lower().strip()))
    return out


def verify_checksum(path: str | os.PathLike[str], *, sha256: str | None = None, md5: str | None = None, url: str | None = None) -> None:
    """Raise :class:`ChecksumError` (naming the file, and the URL when given) on a mismatch."""
    path = Path(path)
    for algo, want in _expected(sha256, md5):
        got = file_digest(path, algo)
        if got != want:
            src = f" downloaded from {url}" if url else ""
            raise ChecksumError(f"checksum mismatch for {path.name}{src}: expected {algo} {want}, got {got}")


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` atomically and verify its checksum; return ``dest``.

    An existing ``dest`` whose checksum matches is kept (no network access). An existing file
    that does not match is downloaded again. Without a pinned checksum an existing file is
    trusted. The SHA-256 of every fresh download is logged; when no SHA-256 was pinned it is
    also written to ``<dest>.sha256``.
    """
    dest = Path(dest)
    expected = _expected(sha256, md5)
    if dest.exists():
        if not expected:
            log.info("%s exists (no checksum pinned): not downloading again", dest)
            return dest
        try:
            verify_checksum(dest, sha256=sha256, md5=md5)
            log.info("%s exists and matches its checksum", dest)
            return dest
        except ChecksumError as err:
            log.warning("%s; downloading again", err)
            dest.unlink()

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = new_temporary_file(dest)  # the mode of a plain write (the umask's), not mkstemp's 0600
    hashes = {"sha256": hashlib.sha256(), **{algo: hashlib.new(algo) for algo, _ in expected}}
    received = 0
    try:
        with open(tmp, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "dpbench"})
                with urllib.request.urlopen(request, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    log.info("downloading %s -> %s (%s)", url, dest, _human(total) if total else "size unknown")
                    start = last = time.monotonic()
                    while True:
                        chunk = resp.read(CHUNK_SIZE)
                        if not chunk:
                            break
                        out.write(chunk)
                        for h in hashes.values():
                            h.update(chunk)
                        received += len(chunk)
                        now = time.monotonic()
                        if progress and now - last >= 5.0:
                            last = now
                            rate = received / max(now - start, 1e-9)
                            pct = f" ({100 * received / total:.0f}%)" if total else ""
                            log.info("%s: %s%s at %s/s", dest.name, _human(received), pct, _human(rate))
            except IncompleteRead as err:
                raise DownloadError(f"truncated download of {dest.name} from {url}: connection closed after {received + len(err.partial)} bytes") from err
            except (urllib.error.URLError, HTTPException, OSError) as err:
                raise DownloadError(f"download of {dest.name} from {url} failed after {_human(received)}: {err}") from err
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise DownloadError(f"truncated download of {dest.name} from {url}: got {received} of {total} bytes")
        for algo, want in expected:
            got = hashes[algo].hexdigest()
            if got != want:
                raise ChecksumError(f"checksum mismatch for {dest.name} downloaded from {url}: expected {algo} {want}, got {got}")
        digest = hashes["sha256"].hexdigest()
        os.replace(tmp, dest)
        log.info("downloaded %s (%s, sha256 %s)", dest, _human(received), digest)
        if not sha256:
            Path(f"{dest}.sha256").write_text(f"{digest}  {dest.name}\n")
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def _human(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"


def archive_kind(archive: str | os.PathLike[str]) -> str:
    """``"tar"`` or ``"zip"`` from the file name; :class:`ArchiveError` otherwise."""
    name = Path(archive).name.lower()
    if name.endswith(TAR_SUFFIXES):
        return "tar"
    if name.endswith(ZIP_SUFFIXES):
        return "zip"
    raise ArchiveError(f"unknown archive type for {archive}: expected one of {TAR_SUFFIXES + ZIP_SUFFIXES}")


def _check_zip_member(name: str, root: Path, archive: Path) -> None:
    if not name or "\x00" in name:
        raise ArchiveError(f"unsafe member {name!r} in archive {archive}: empty or NUL in name")
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or name.startswith(("/", "\\")):
        raise ArchiveError(f"unsafe member {name!r} in archive {archive}: absolute path")
    if ".." in posix.parts or ".." in win.parts:
        raise ArchiveError(f"unsafe member {name!r} in archive {archive}: '..' leads outside the target")
    resolved = (root / name).resolve()
    if resolved != root and root not in resolved.parents:
        raise ArchiveError(f"unsafe member {name!r} in archive {archive}: resolves outside the target")


def require_tar_data_filter(archive: str | os.PathLike[str]) -> None:
    """Refuse to go on without tarfile's ``data`` extraction filter (feature-detected: it was also
    backported to some older patch releases), naming the archive and this Python's version."""
    if not hasattr(tarfile, "data_filter"):
        raise ArchiveError(
            f"cannot extract {archive} safely: Python {platform.python_version()} lacks tarfile's 'data' "
            "extraction filter (added in Python 3.12 and 3.11.4, 3.10.12); upgrade Python, or extract the "
            "archive yourself and place its contents in the data folder"
        )


def _extract_tar(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    except tarfile.FilterError as err:
        raise ArchiveError(f"unsafe member in archive {archive}: {err}") from err
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ArchiveError(f"corrupt or truncated archive {archive}: {err}") from err


def _extract_zip(archive: Path, dest: Path) -> None:
    root = dest.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_zip_member(info.filename, root, archive)
                mode = (info.external_attr >> 16) & 0o170000
                if mode == 0o120000:
                    raise ArchiveError(f"unsafe member {info.filename!r} in archive {archive}: symbolic link")
            for info in infos:
                zf.extract(info, dest)
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, OSError, ValueError) as err:
        raise ArchiveError(f"corrupt or truncated archive {archive}: {err}") from err


def extract(archive: str | os.PathLike[str], target_dir: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
    """Extract ``archive`` into ``target_dir``; return the top-level paths it created.

    Everything is first extracted into a temporary folder beside ``target_dir``; only when the
    whole archive was read and every member was safe are the top-level entries moved into
    ``target_dir``. An entry that already exists there raises :class:`FileExistsError` unless
    ``overwrite`` is set (then it is replaced).
    """
    archive = Path(archive)
    target_dir = Path(target_dir)
    if not archive.is_file():
        raise FileNotFoundError(f"missing archive: {archive}")
    kind = archive_kind(archive)
    if kind == "tar":
        require_tar_data_filter(archive)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.extract-", dir=target_dir.parent))
    try:
        log.info("extracting %s -> %s", archive, target_dir)
        if kind == "tar":
            _extract_tar(archive, tmp)
        else:
            _extract_zip(archive, tmp)
        entries = sorted(tmp.iterdir())
        target_dir.mkdir(parents=True, exist_ok=True)
        clashes = [target_dir / e.name for e in entries if (target_dir / e.name).exists() or (target_dir / e.name).is_symlink()]
        if clashes and not overwrite:
            raise FileExistsError(f"extracting {archive} would overwrite existing {', '.join(map(str, clashes))}")
        for path in clashes:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        created = []
        for entry in entries:
            os.replace(entry, target_dir / entry.name)
            created.append(target_dir / entry.name)
        return created
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
