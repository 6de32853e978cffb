"""Helpers shared by the archive and anomaly tests: a local HTTP server and shared-data lookup."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    """``$DPBENCH_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("DPBENCH_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def require_shared(*parts: str) -> Path:
    """Path of a shared data file; skip the test (with the reason) when it is absent."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set DPBENCH_SHARED_DATA)")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _TruncatingHandler(_QuietHandler):
    """Announces the full size but sends only half the file, then closes."""

    def do_GET(self) -> None:  # noqa: N802
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True


@contextlib.contextmanager
def http_server(directory: Path, *, truncate: bool = False) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (free port) in a thread; yield the base URL."""
    handler = functools.partial(_TruncatingHandler if truncate else _QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
