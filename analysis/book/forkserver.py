"""A warm process that forks one fresh IPython kernel per notebook (run as a script).

The build starts this file as a script (``python -c <bootstrap> forkserver.py MODULE...``, see
:mod:`analysis.book.kernels`), never as ``analysis.book.forkserver``: the process must not
import the ``analysis`` package, so that every ``analysis`` module a notebook uses is imported
in the notebook's own kernel, where the tracker records it.

At start it imports the given third-party modules (numpy, pandas, scipy, matplotlib, IPython,
ipykernel, ...), then reads one JSON request a line on stdin and answers one JSON line on
stdout:

``{"argv": [...], "env": {...}, "cwd": "...", "log": "..."}``
    Fork a child that becomes an IPython kernel (``IPKernelApp`` with ``argv``, e.g.
    ``["-f", "<connection file>"]``) in its own session, with exactly the environment ``env``,
    working folder ``cwd`` and its stdout/stderr in the file ``log``; answer ``{"pid": N}``.

Each child is a new process that starts from the state the imports left, and nothing a notebook
does in its kernel (globals, monkeypatched modules, matplotlib settings, working folder,
environment) reaches the server or any other kernel. The server reaps its children, kills
them when stdin closes or on SIGTERM (the build ended or was interrupted), and ignores SIGINT
(Ctrl-C in a terminal reaches the whole process group; the build decides what to do).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import sys
import time
import traceback

CHILDREN: set[int] = set()


def _reap(*_: object) -> None:
    """Collect every child that exited (no zombies: the build polls them by pidfd)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        CHILDREN.discard(pid)


def _kill_children() -> None:
    for pid in list(CHILDREN):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    CHILDREN.clear()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (best effort)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _become_kernel(request: dict) -> None:
    """In the forked child: set up the process like a fresh kernel's, run the kernel, exit."""
    os.setsid()
    _die_with_parent()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = list(request["argv"])
    launcher = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [launcher.origin if launcher and launcher.origin else "ipykernel_launcher", *argv]
    random_module = sys.modules.get("numpy.random")
    if random_module is not None:
        random_module.seed()  # a fresh process seeds numpy's global generator from the OS
    from ipykernel.kernelapp import IPKernelApp

    code = 0
    try:
        app = IPKernelApp.instance()
        app.initialize(argv)
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        import atexit

        try:
            atexit._run_exitfuncs()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _fork(request: dict) -> int:
    # SIGCHLD waits until the child is in CHILDREN (else a quick exit would be reaped first).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid = os.fork()
        if pid == 0:  # the child never returns
            try:
                _become_kernel(request)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        CHILDREN.add(pid)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    return pid


def _answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(preload: list[str]) -> int:
    """Import ``preload``, then answer fork requests until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (_kill_children(), os._exit(0)))
    signal.signal(signal.SIGCHLD, _reap)
    _die_with_parent()
    start = time.perf_counter()
    failed = {}
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional package only costs time later
            failed[name] = f"{type(exc).__name__}: {exc}"
    leaked = sorted(m for m in sys.modules if m == "analysis" or m.startswith("analysis."))
    if leaked:  # the tracker would miss these modules in every kernel
        _answer({"error": f"the preloaded modules imported {', '.join(leaked)}"})
        return 1
    _answer({"ready": True, "seconds": round(time.perf_counter() - start, 3), "failed": failed})
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            _answer({"pid": _fork(json.loads(line))})
        except Exception as exc:
            _answer({"error": f"{type(exc).__name__}: {exc}"})
    _kill_children()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
