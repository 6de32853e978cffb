"""The job server: PyTorch, scikit-learn, pandas and the plotting stack imported once per workflow run.

Every job of the workflow is one process, ``python -m dpbench COMMAND ...``, and a small job spends
most of its time importing (PyTorch alone takes seconds on a small CPU). On a local run the workflow
starts one server process (the Snakefile's ``onstart``) that imports every command's module once and
listens on a Unix socket named by ``$DPBENCH_JOB_SERVER``. A job's ``python -m dpbench`` then hands the
server its command line, working folder, environment, umask and its standard streams (the file
descriptors themselves, so that ``2> log`` still writes the job's own log), and the server forks a
child that runs the command as the job would have, in the state of a fresh process, and reports its
exit status back. The job stays what it was: one process per cell, its own log, benchmark file and
result files, so resuming, ``--allowed-rules`` and ``snakemake figures`` work as before.

- A job that finds no server (no ``$DPBENCH_JOB_SERVER``, a socket nobody answers, a server running
  another Python or another copy of dpbench) runs in its own process, as without a server.
- A job cancelled or killed (Ctrl-C, Snakemake stopping it) takes its child with it: when a job's
  connection closes before its child ended, the server sends the child SIGTERM, then SIGKILL.
- The server ends with the workflow (``onsuccess``/``onerror``), or by itself once the process that
  started it is gone; it never runs a command twice (it says "accepted" before it forks, and a job
  that lost its server after that reports a failure instead of running the command itself).
- Snakemake's ``benchmark:`` files still time each job's wall clock (column ``s``); their memory and
  CPU columns then count the job's own small process, not the child (the server's log has each
  child's CPU time and peak memory).

Not used under ``--sdm conda`` (a job must run in its rule's environment) nor on cluster executors
(jobs run on other machines); the config's ``job_server: false`` turns it off.

This module imports only the standard library: every job imports it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SOCKET_ENV = "DPBENCH_JOB_SERVER"
PROTOCOL = 1
_HEADER = struct.Struct("!I")
_STREAMS = (0, 1, 2)
KILL_GRACE_S = 5.0  # between SIGTERM and SIGKILL of a cancelled job's child


# ---------------------------------------------------------------------------------------------------
# messages: a 4-byte length, then JSON; the request carries the job's stdin, stdout and stderr


def _send(sock: socket.socket, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    data = json.dumps(message).encode()
    header = _HEADER.pack(len(data))
    if fds:
        socket.send_fds(sock, [header], list(fds))
    else:
        sock.sendall(header)
    sock.sendall(data)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(left)
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket, with_fds: bool = False) -> tuple[dict[str, Any], list[int]]:
    if with_fds:
        header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, len(_STREAMS))
        if not header:
            raise ConnectionError("connection closed")
        header += _recv_exactly(sock, _HEADER.size - len(header))
    else:
        header, fds = _recv_exactly(sock, _HEADER.size), []
    (length,) = _HEADER.unpack(header)
    return json.loads(_recv_exactly(sock, length)), list(fds)


def _identity() -> dict[str, str]:
    """What must match between a job and the server: the interpreter and the dpbench sources."""
    return {"executable": os.path.realpath(sys.executable), "prefix": os.path.realpath(sys.prefix),
            "package": str(Path(__file__).resolve().parent)}


# ---------------------------------------------------------------------------------------------------
# the job's side


def run_on_server(argv: list[str]) -> int | None:
    """Run ``dpbench argv`` on the job server; its exit status, or None when no server took the job
    (then run it in this process)."""
    path = os.environ.get(SOCKET_ENV)
    if not path or not os.path.exists(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        umask = os.umask(0)
        os.umask(umask)
        request = {"protocol": PROTOCOL, "argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "umask": umask,
                   **_identity()}
        _send(sock, request, _STREAMS)
        reply, _ = _recv(sock)
    except OSError:  # no server listening, or it went away before taking the job: run it here
        sock.close()
        return None
    if reply.get("refused"):
        sock.close()
        return None
    try:  # accepted: from now on the server runs the command, never this process
        result, _ = _recv(sock)
        return int(result["exit"])
    except (OSError, ValueError, KeyError):
        print(f"dpbench: the job server ({path}) ended while it ran this job", file=sys.stderr)
        return 1
    finally:
        sock.close()


# ---------------------------------------------------------------------------------------------------
# the server's side


# what jobs import only when they get there: PyTorch's optimisers import torch._dynamo (and SymPy with it)
# at their first step, seconds in every training job; the metrics and data modules import theirs in the
# functions that use them
DEFERRED_IMPORTS = [
    "torch._dynamo", "torch.optim", "scipy.optimize", "scipy.io", "sklearn.metrics", "sklearn.linear_model",
    "sklearn.pipeline", "sklearn.preprocessing", "sklearn.cluster", "sklearn.decomposition", "sklearn.datasets",
    "sklearn.feature_extraction.image", "skimage.metrics", "skimage.color", "threadpoolctl", "torchvision.datasets",
    "torchvision.models", "PIL.Image", "matplotlib.lines",
]


def preload(log: Any = None, between: Callable[[], None] | None = None) -> list[str]:
    """Import every module of dpbench (every command's, PyTorch, scikit-learn, pandas, matplotlib and
    seaborn with them) and :data:`DEFERRED_IMPORTS`, so that a child starts with them; nothing is
    computed (a fork must not inherit a started thread pool). ``between()`` runs after each module
    (the server takes the jobs already waiting: they start with what is imported so far and import
    the rest themselves). Returns the modules that failed: their jobs fail as they would alone, in
    their own logs."""
    import importlib
    import pkgutil

    import dpbench

    names = [m.name for m in pkgutil.walk_packages(dpbench.__path__, "dpbench.") if not m.name.endswith("__main__")]
    names.sort(key=lambda name: not name.startswith(("dpbench.data", "dpbench.tasks.anomaly")))  # a run's first jobs
    failed = []
    for module in [*DEFERRED_IMPORTS, *names]:
        try:
            importlib.import_module(module)
        except Exception as err:  # an optional package missing, say
            failed.append(module)
            if log:
                print(f"preload: {module}: {type(err).__name__}: {err}", file=log, flush=True)
        if between is not None:
            between()
    return failed


def _limit_threads(env: dict[str, str]) -> None:
    """The job's thread count (Snakemake's ``threads`` in ``OMP_NUM_THREADS``) for PyTorch and the BLAS
    pools, which read it when they were loaded, in the server."""
    threads = env.get("OMP_NUM_THREADS")
    if not threads or not threads.isdigit() or int(threads) < 1:
        return
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(threads))
    except ImportError:
        pass


def _child(request: dict[str, Any], fds: list[int], inherited: list[socket.socket]) -> None:
    """In the forked child: become the job (its streams, folder, environment, umask), run it, exit."""
    rc = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        for sock in inherited:
            sock.close()
        for stream, fd in zip(_STREAMS, fds):
            os.dup2(fd, stream)
        for fd in fds:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(int(request["umask"]))
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p and p not in sys.path]
        sys.path[:0] = extra  # the job's own PYTHONPATH entries, as its interpreter would have put them first
        sys.argv = ["dpbench", *request["argv"]]
        _limit_threads(request["env"])
        import logging

        logging.root.handlers.clear()  # the job configures its own logging (dpbench.cli.main)
        from dpbench.cli import main

        rc = main(request["argv"])
    except SystemExit as stop:
        code = stop.code
        rc = code if isinstance(code, int) else (0 if code is None else 1)
        if isinstance(code, str):
            print(code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
        rc = 1
    finally:
        try:
            import atexit
            import logging

            atexit._run_exitfuncs()  # what a normal interpreter exit runs (logging flushes its handlers)
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(rc)


class _Job:
    def __init__(self, pid: int, conn: socket.socket, argv: list[str]) -> None:
        self.pid, self.conn, self.argv = pid, conn, argv
        self.start = time.monotonic()
        self.kill_at: float | None = None


class JobServer:
    """The server's state: the listening socket and the running children (see the module docstring)."""

    def __init__(self, path: str, watch_pid: int | None = None, log: Any = None) -> None:
        self.path, self.watch_pid, self.log = path, watch_pid, log or sys.stderr
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(128)
        self.jobs: dict[int, _Job] = {}
        self.stopping = False
        import selectors

        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)

    def say(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", file=self.log, flush=True)

    def poll(self, timeout: float = 0.0) -> None:
        """Take the jobs waiting (forking each), notice cancelled ones and reap the ended, waiting at most
        ``timeout`` seconds for something to happen."""
        for key, _ in self.selector.select(timeout=timeout):
            if key.data is None:
                self._accept(self.selector)
            else:
                self._job_connection_event(self.selector, key.data)
        self._reap(self.selector)

    def serve(self) -> None:
        """Take jobs until told to stop (SIGTERM) or until the process to watch is gone."""
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        try:
            while not self.stopping:
                self.poll(timeout=0.02)
                if self.watch_pid and not pid_alive(self.watch_pid):
                    self.say(f"process {self.watch_pid} is gone: stopping")
                    break
        finally:
            for job in self.jobs.values():
                _signal(job.pid, signal.SIGTERM)
            self.listener.close()
            self.say(f"stopped ({len(self.jobs)} job(s) still running were sent SIGTERM)")

    def _accept(self, selector: Any) -> None:
        import selectors

        conn, _ = self.listener.accept()
        conn.settimeout(30)
        fds: list[int] = []
        try:
            request, fds = _recv(conn, with_fds=True)
            mismatch = {k: (request.get(k), v) for k, v in _identity().items() if request.get(k) != v}
            if request.get("protocol") != PROTOCOL or mismatch or len(fds) != len(_STREAMS):
                _send(conn, {"refused": f"protocol {request.get('protocol')} / {mismatch} / {len(fds)} streams"})
                raise ConnectionError(f"refused a job: {mismatch or 'protocol'}")
            _send(conn, {"accepted": True})
        except (OSError, ValueError) as err:
            self.say(f"no job taken: {err}")
            for fd in fds:
                os.close(fd)
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, fds, [self.listener, conn, *(job.conn for job in self.jobs.values())])
        for fd in fds:
            os.close(fd)
        self.jobs[pid] = _Job(pid, conn, request["argv"])
        selector.register(conn, selectors.EVENT_READ, pid)
        self.say(f"job {pid} started: dpbench {' '.join(request['argv'])[:300]}")

    def _job_connection_event(self, selector: Any, pid: int) -> None:
        """The job's side of a connection spoke or closed: it was cancelled, so end its child."""
        job = self.jobs.get(pid)
        if job is None:
            return
        selector.unregister(job.conn)
        if job.kill_at is None:
            self.say(f"job {pid}: its process went away; sending SIGTERM")
            _signal(pid, signal.SIGTERM)
            job.kill_at = time.monotonic() + KILL_GRACE_S

    def _reap(self, selector: Any) -> None:
        for pid, job in list(self.jobs.items()):
            try:
                done, status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                done, status, usage = pid, 0, None
            if done == 0:
                if job.kill_at is not None and time.monotonic() > job.kill_at:
                    _signal(pid, signal.SIGKILL)
                    job.kill_at = float("inf")
                continue
            code = os.waitstatus_to_exitcode(status)
            rc = code if code >= 0 else 128 - code
            cpu = f", cpu {usage.ru_utime + usage.ru_stime:.1f} s, max rss {usage.ru_maxrss / 1024:.0f} MiB" if usage else ""
            self.say(f"job {pid} ended: exit {rc}, wall {time.monotonic() - job.start:.1f} s{cpu}")
            del self.jobs[pid]
            try:
                if job.kill_at is None:
                    selector.unregister(job.conn)
                    _send(job.conn, {"exit": rc})
            except (OSError, KeyError, ValueError):
                pass
            job.conn.close()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is still running: it exists, and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not Path("/proc").is_dir():  # macOS: the signal test is all there is
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:  # it ended between the two tests
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def serve(path: str, watch_pid: int | None, log_path: str | None, imports: bool = True) -> None:
    """Bind ``path``, import every command's module (unless ``imports`` is false: each child then imports
    what its command needs, as a job alone would), then take jobs (see :class:`JobServer`)."""
    log = open(log_path, "a", buffering=1) if log_path else sys.stderr  # noqa: SIM115 - the server's lifetime
    server = JobServer(path, watch_pid, log)  # bound first: a job that connects early waits for the imports
    start = time.perf_counter()
    failed = preload(log, between=server.poll) if imports else []
    server.say(f"job server on {path}, pid {os.getpid()}: imported {'every' if imports else 'no'} command's module in "
               f"{time.perf_counter() - start:.1f} s{f' (failed: {failed})' if failed else ''}")
    try:
        server.serve()
    finally:
        Path(path).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            Path(path).parent.rmdir()  # the private folder start() made, once empty
        log.flush()
        os._exit(0)  # nothing to tear down: an interpreter that imported PyTorch & co. takes seconds to exit


# ---------------------------------------------------------------------------------------------------
# the workflow's side: start it, stop it


class Handle:
    """A started server: its process and socket (``stop()`` ends both)."""

    def __init__(self, process: Any, path: str) -> None:
        self.process, self.path = process, path

    def stop(self, timeout: float = 10.0) -> None:
        import shutil
        import subprocess

        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(Path(self.path).parent, ignore_errors=True)


def start(log_path: str | None = None, imports: bool = True, watch_pid: int | None = None) -> Handle:
    """Start a server for this process's jobs: it listens in a fresh private folder (mode 0700: only
    this user's jobs can reach it) and stops by itself when this process is gone. Export
    ``{SOCKET_ENV: handle.path}`` to the jobs. ``imports``: see :func:`serve`; ``watch_pid``: the process
    whose end stops the server (default: this one)."""
    import subprocess
    import tempfile

    folder = tempfile.mkdtemp(prefix="dpbench-jobs-")
    path = os.path.join(folder, "socket")
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "dpbench.jobserver", "--socket", path, "--watch", str(watch_pid or os.getpid())]
    command += (["--log", log_path] if log_path else []) + ([] if imports else ["--no-imports"])
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=None, env=env)
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return Handle(process, path)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m dpbench.jobserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", required=True, help="the Unix socket to listen on")
    parser.add_argument("--watch", type=int, help="stop when the process with this id is gone")
    parser.add_argument("--log", help="append what the server does to this file (default: stderr)")
    parser.add_argument("--no-imports", action="store_true", help="import no command's module up front (tests)")
    args = parser.parse_args(argv)
    serve(args.socket, args.watch, args.log, imports=not args.no_imports)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
