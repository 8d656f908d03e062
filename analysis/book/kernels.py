"""Fresh IPython kernels without paying Python's start-up and the heavy imports per notebook.

A :class:`ForkServer` is one process per build that imports the heavy third-party
packages once (:data:`PRELOAD`: numpy, pandas, scipy, matplotlib, IPython, ipykernel, myst_nb)
and then forks a new kernel process for each notebook (:mod:`analysis.book.forkserver`). A
forked kernel is never reused: the next notebook gets another fork of the same warm parent, so
nothing one notebook does (globals, monkeypatching, ``matplotlib.rcParams``, ``os.chdir``,
``os.environ``) can reach the next one. Each kernel gets exactly the environment and working
folder the build asks for, as if started by ``jupyter_client`` itself.

The server never imports the ``analysis`` package (it refuses to start if a preloaded module
did): the tracker (:mod:`analysis.book.tracking`) records ``analysis`` modules when a notebook
imports them, and a module already imported in the parent would never be imported again.

:class:`ForkKernelManager` is a ``jupyter_client`` kernel manager whose kernels come from a
fork server (through :class:`ForkProvisioner`), so ``nbclient`` drives them as usual: start,
execute, interrupt, kill.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from analysis.book.errors import BuildError

#: Third-party modules the fork server imports once (never ``analysis``). Not
#: ``matplotlib_inline.backend_inline``: importing it wires matplotlib into the kernel that
#: imports it, and that must happen in each kernel, not in the parent.
PRELOAD = (
    "numpy",
    "numpy.random",
    "pandas",
    "scipy",
    "scipy.special",
    "scipy.stats",
    "scipy.optimize",
    "matplotlib",
    "matplotlib.figure",
    "matplotlib.pyplot",
    "yaml",
    "IPython",
    "IPython.display",
    "IPython.core.completer",
    "IPython.core.oinspect",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "jupyter_client.session",
    "psutil",
    "sqlite3",
    "pdb",
    "myst_nb",
    "myst_nb.ext.glue",
)

#: Runs :mod:`analysis.book.forkserver` as a script without adding its folder (or the working
#: folder) to ``sys.path``, exactly like ``ipykernel_launcher`` removes the working folder.
_BOOTSTRAP = (
    "import runpy, sys; del sys.path[0]; path = sys.argv.pop(1); "
    "runpy.run_path(path, run_name='__main__')"
)
SERVER_SCRIPT = Path(__file__).with_name("forkserver.py")


class ForkServer:
    """A warm parent process that forks fresh kernels (see the module doc).

    Parameters
    ----------
    env
        Environment of the server (``PYTHONPATH``, ``MPLBACKEND``): what the preloaded modules
        see when they are imported. Each kernel gets its own environment.
    cwd
        Working folder of the server.
    log
        File that receives the server's stderr.
    preload
        Modules imported once in the server.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        preload: Sequence[str] = PRELOAD,
    ) -> None:
        self.log = log
        self._lock = threading.Lock()
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(SERVER_SCRIPT), *preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                env=dict(env), cwd=cwd, text=True, bufsize=1,
            )  # fmt: skip
        self._ready: dict | None = None

    def wait_ready(self) -> dict:
        """Wait until the preloaded modules are imported; return the server's first answer
        (``{"ready": true, "seconds": ..., "failed": {module: error}}``).

        The server imports them while the build does other work (validating the data).
        """
        if self._ready is None:
            ready = self._read()
            if "error" in ready:
                self.kill()
                raise BuildError(f"the kernel fork server did not start: {ready['error']}")
            self._ready = ready
        return self._ready

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-20:]
            raise BuildError(
                "the kernel fork server exited unexpectedly"
                + (":\n" + "\n".join(tail) if tail else "")
            )
        return json.loads(line)

    def fork(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> int:
        """Fork a kernel with arguments ``argv``; return its process id."""
        request = {"argv": list(argv), "env": dict(env), "cwd": str(cwd), "log": str(log)}
        with self._lock:
            self.wait_ready()
            if self.process.poll() is not None:
                raise BuildError("the kernel fork server is no longer running")
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self._read()
        if "pid" not in answer:
            raise BuildError(f"the kernel fork server could not fork: {answer.get('error')}")
        return int(answer["pid"])

    def close(self) -> None:
        """Stop the server; it kills every kernel it forked that is still running."""
        if self.process.poll() is None:
            try:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:  # pragma: no cover - a broken pipe at exit
                    pass

    def kill(self) -> None:
        """Kill the server at once (SIGTERM makes it kill its kernels first)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class ForkedProcess:
    """The part of :class:`subprocess.Popen` a provisioner uses, for a kernel the server forked.

    The kernel is the server's child, not ours: it is watched through a pidfd (readable once it
    exited) and signalled by pid. Its exit status stays with the server; ``returncode`` is the
    negated signal when this object killed it, else 0.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None
        self._signal: int | None = None
        try:
            self._pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None
            self.returncode = 0

    def _exited(self, timeout: float | None) -> bool:
        if self._pidfd is None:
            return True
        readable, _, _ = select.select([self._pidfd], [], [], timeout)
        if readable:
            os.close(self._pidfd)
            self._pidfd = None
            self.returncode = -self._signal if self._signal else 0
            return True
        return False

    def poll(self) -> int | None:
        """The return code, or None while the kernel runs."""
        return self.returncode if self._exited(0) else None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait until the kernel exited."""
        if not self._exited(timeout):
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Send ``signum`` to the kernel."""
        if self.returncode is None:
            if signum in (signal.SIGKILL, signal.SIGTERM):
                self._signal = signum
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launch the kernel by asking a :class:`ForkServer` for a fork, not by ``Popen``."""

    fork_server: ForkServer | None = None
    kernel_log: Path | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        """Fork a kernel with the arguments ``cmd`` gives ``ipykernel_launcher``."""
        if self.fork_server is None or self.kernel_log is None:
            raise BuildError("ForkProvisioner needs a fork server and a kernel log file")
        try:
            argv = cmd[cmd.index("ipykernel_launcher") + 1 :]
        except ValueError:
            raise BuildError(f"not an ipykernel command line: {cmd}") from None
        env = kwargs.get("env") or dict(os.environ)
        cwd = Path(kwargs.get("cwd") or Path.cwd())
        pid = self.fork_server.fork(argv, env, cwd, self.kernel_log)
        self.process = ForkedProcess(pid)
        self.pid = pid
        self.pgid = pid  # the kernel starts its own session
        self.cwd = str(cwd)
        return self.connection_info


class ForkKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` for the ``python3`` kernel whose kernels a fork server forks.

    Parameters
    ----------
    fork_server
        Where the kernel comes from.
    kernel_log
        File for the kernel's own stdout/stderr (not the notebook's outputs).
    """

    def __init__(self, fork_server: ForkServer, kernel_log: Path, **kwargs: Any) -> None:
        super().__init__(kernel_name="python3", **kwargs)
        self._fork_server = fork_server
        self._kernel_log = kernel_log

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            provisioner = ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
            provisioner.fork_server = self._fork_server
            provisioner.kernel_log = self._kernel_log
            self.provisioner = provisioner
        return await super()._async_pre_start_kernel(**kw)
