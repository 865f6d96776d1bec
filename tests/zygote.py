"""Start chatfn processes by forking a warm interpreter instead of starting a cold one.

``python -m chatfn chat`` spends about 0.9 s of CPU importing the openai SDK before
it does anything, and the tests that need a real chatfn process (ptys, signals,
process groups) start well over a hundred. A zygote, as Android starts its apps and
``multiprocessing``'s forkserver its workers, imports chatfn and the SDK once; each
process a test asks for is forked from it. What the test gets is a real process:
its own pid, session, controlling terminal, descriptors 0-2, environment, working
directory, signals and exit status; it only skips the imports.

What a fork cannot give, tests must not ask of it: import costs, which modules a
command imports, the replay cache's record of them, interpreter options
(``PYTHON*`` variables read at start-up) and ``.pth`` files installed after the
zygote started. Those tests start ``python -m chatfn`` themselves.

The zygote runs this file as a script; it serves one test process over a
``SOCK_SEQPACKET`` socket pair and ends when that process closes its end.
"""

from __future__ import annotations

import array
import io
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

PRELOAD = (
    "openai",
    "chatfn.cli",
    "chatfn.cli.chat_cmd",
    "chatfn.chat",
    "chatfn.terminal.session",
    "chatfn.terminal.render",
    "chatfn.terminal.markdown",
    "chatfn.terminal.approval",
    "chatfn.wire.endpoint",
    "chatfn.wire.sse",
    "chatfn.log.store",
    "chatfn.plugins.host",
    "chatfn.tools.run",
    "chatfn.mcp.pool",
)
"""What a chat or an MCP-backed ``tools call`` imports anyway (never readline: it reads the terminal it starts on)."""

_MAX_MESSAGE = 1 << 20
_MAX_FDS = 4


# --------------------------------------------------------------------------- the test's side


class Forked:
    """A process forked by the zygote, with the parts of :class:`subprocess.Popen` the tests use."""

    def __init__(self, zygote: Zygote, pid: int, args: list[str]) -> None:
        self._zygote = zygote
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self.text = False
        self.stdin: io.FileIO | None = None
        self.stdout: io.FileIO | None = None
        self.stderr: io.FileIO | None = None

    def poll(self) -> int | None:
        """The exit status (negative: the signal that ended it) or None while it runs."""
        if self.returncode is None:
            self.returncode = self._zygote._status(self.pid, timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit status; :class:`subprocess.TimeoutExpired` after ``timeout`` seconds."""
        if self.returncode is None:
            status = self._zygote._status(self.pid, timeout=timeout)
            if status is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = status
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Read the piped stdout and stderr to their end and wait, as :meth:`subprocess.Popen.communicate`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.stdin is not None:
            self.stdin.close()
        read: dict[int, list[bytes]] = {}
        with selectors.DefaultSelector() as selector:
            for stream in (self.stdout, self.stderr):
                if stream is not None and not stream.closed:
                    selector.register(stream, selectors.EVENT_READ)
                    read[stream.fileno()] = []
            while selector.get_map():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in selector.select(remaining):
                    stream = key.fileobj
                    assert isinstance(stream, io.FileIO)
                    data = stream.read(65536)
                    if data:
                        read[stream.fileno()].append(data)
                    else:
                        selector.unregister(stream)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        outputs = []
        for stream in (self.stdout, self.stderr):
            if stream is None or stream.fileno() not in read:
                outputs.append(None)
                continue
            data = b"".join(read[stream.fileno()])
            stream.close()
            outputs.append(data.decode("utf-8", "replace") if self.text else data)
        return outputs[0], outputs[1]

    def send_signal(self, signum: int) -> None:
        """Signal the process unless it has ended (the zygote reaps at once, so it may be gone unreported)."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """A warm interpreter that forks chatfn processes on request (one per test process)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ)
        if env.get("PYTHONPATH"):  # the zygote runs in /: keep `PYTHONPATH=.` meaning this folder
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(entry) for entry in env["PYTHONPATH"].split(os.pathsep) if entry)
        self._process = subprocess.Popen(
            [sys.executable, __file__, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,  # a Ctrl-C meant for a test's chatfn never reaches it
        )
        theirs.close()
        self._socket = ours
        self._lock = threading.Lock()
        self._exited: dict[int, int] = {}
        ready = self._receive(timeout=120)
        if ready != {"ready": True}:
            raise RuntimeError(f"the zygote did not start: {ready!r}")

    def spawn(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str],
        stdin: int,
        stdout: int,
        stderr: int,
        cwd: str | Path | None = None,
        controlling_terminal: int | None = None,
    ) -> Forked:
        """``python -m chatfn ARGS`` in a new session, descriptors 0-2 taken from the three given.

        ``controlling_terminal`` (a pty's slave descriptor) becomes the process's
        ``/dev/tty``, as ``preexec_fn`` with ``TIOCSCTTY`` gives a subprocess.
        """
        fds = [stdin, stdout, stderr]
        if controlling_terminal is not None:
            fds.append(controlling_terminal)
        request = {
            "args": list(args),
            "env": dict(env),
            "cwd": str(cwd) if cwd is not None else os.getcwd(),
            "controlling_terminal": controlling_terminal is not None,
        }
        with self._lock:
            self._socket.sendmsg(
                [json.dumps(request).encode()],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))],
            )
            while True:
                message = self._read(timeout=30)
                if message is None:
                    raise RuntimeError("the zygote did not answer a spawn request in 30 s")
                if "spawned" in message:
                    return Forked(self, message["spawned"], ["chatfn", *args])
                self._note(message)

    def close(self) -> None:
        """End the zygote (the processes it forked keep running)."""
        self._socket.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _status(self, pid: int, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while pid not in self._exited:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                message = self._read(timeout=remaining)
                if message is None:
                    return None
                self._note(message)
            return self._exited.pop(pid)

    def _note(self, message: dict[str, Any]) -> None:
        if "exited" in message:
            self._exited[message["exited"]] = message["status"]
        else:
            raise RuntimeError(f"unexpected message from the zygote: {message!r}")

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        with self._lock:
            return self._read(timeout)

    def _read(self, timeout: float | None) -> dict[str, Any] | None:
        ready, _, _ = select.select([self._socket], [], [], timeout)
        if not ready:
            return None
        data = self._socket.recv(_MAX_MESSAGE)
        if not data:
            raise RuntimeError(f"the zygote ended (exit status {self._process.poll()})")
        message: dict[str, Any] = json.loads(data)
        return message


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()


def zygote() -> Zygote:
    """This test process's zygote, started on first use and ended when the process ends."""
    global _zygote
    with _zygote_lock:
        if _zygote is None:
            import atexit

            _zygote = Zygote()
            atexit.register(_zygote.close)
        return _zygote


def popen_chatfn(
    *args: str,
    env: Mapping[str, str],
    stdin: int | IO[Any] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
    text: bool = False,
    cwd: str | Path | None = None,
) -> Forked:
    """``subprocess.Popen([python, "-m", "chatfn", *args], ..., start_new_session=True)``, forked from the zygote.

    ``stdin``, ``stdout`` and ``stderr`` take what ``Popen`` takes: None (this
    process's own), ``subprocess.PIPE``, ``subprocess.DEVNULL``, a descriptor or a file.
    """
    ours: list[int] = []
    theirs: list[int] = []
    pipes: list[tuple[str, int]] = []
    for index, given in enumerate((stdin, stdout, stderr)):
        if given is None:
            theirs.append(index)
        elif given == subprocess.PIPE:
            read, write = os.pipe()
            child_end, our_end = (read, write) if index == 0 else (write, read)
            theirs.append(child_end)
            ours.append(child_end)
            pipes.append((("stdin", "stdout", "stderr")[index], our_end))
        elif given == subprocess.DEVNULL:
            devnull = os.open(os.devnull, os.O_RDWR)
            theirs.append(devnull)
            ours.append(devnull)
        elif isinstance(given, int):
            theirs.append(given)
        else:
            theirs.append(given.fileno())
    try:
        process = zygote().spawn(args, env=env, stdin=theirs[0], stdout=theirs[1], stderr=theirs[2], cwd=cwd)
    except BaseException:
        for _, fd in pipes:
            os.close(fd)
        raise
    finally:
        for fd in ours:
            os.close(fd)
    process.text = text
    for name, fd in pipes:
        setattr(process, name, io.FileIO(fd, "wb" if name == "stdin" else "rb"))
    return process


# --------------------------------------------------------------------------- the zygote's side


def _serve(fd: int) -> None:
    """Preload, then fork a chatfn process for each request until the test process hangs up."""
    import importlib

    # What every process sees: not this folder, nor the zygote's own PYTHONPATH (chatfn may
    # come from there, already imported); each child gets its own PYTHONPATH in front.
    own = {os.path.abspath(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry}
    base_path = [entry for entry in sys.path[1:] if os.path.abspath(entry) not in own]
    for name in PRELOAD:
        importlib.import_module(name)
    control = socket.socket(fileno=fd)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    control.send(json.dumps({"ready": True}).encode())
    while True:
        ready, _, _ = select.select([control, wake_read], [], [])
        if wake_read in ready:
            while True:
                try:
                    if not os.read(wake_read, 4096):
                        break
                except BlockingIOError:
                    break
            _reap(control)
        if control in ready:
            try:
                data, ancillary, _, _ = control.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(_MAX_FDS * 4))
            except ConnectionResetError:
                data, ancillary = b"", []
            if not data:
                return  # the test process is gone
            fds = array.array("i")
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            pid = os.fork()
            if pid == 0:
                _child(json.loads(data), list(fds), base_path, closing=(control.fileno(), wake_read, wake_write))
            for received in fds:
                os.close(received)
            control.send(json.dumps({"spawned": pid}).encode())


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        control.send(json.dumps({"exited": pid, "status": os.waitstatus_to_exitcode(status)}).encode())


def _child(request: dict[str, Any], fds: list[int], base_path: list[str], closing: tuple[int, ...]) -> None:
    """Become ``python -m chatfn ARGS`` in a new session; never returns."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)
        os.setsid()
        for target, fd in zip((0, 1, 2), fds[:3]):
            os.dup2(fd, target)
        if request["controlling_terminal"]:
            import fcntl
            import termios

            fcntl.ioctl(fds[3], termios.TIOCSCTTY, 0)
        for fd in set(fds) - {0, 1, 2}:
            os.close(fd)
        cwd = request["cwd"]
        os.chdir(cwd)
        env: dict[str, str] = request["env"]
        os.environ.clear()
        os.environ.update(env)
        python_path = [os.path.abspath(entry) for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [cwd, *python_path, *base_path]
        import importlib

        importlib.invalidate_caches()
        sys.argv = ["-m", *request["args"]]  # runpy puts the module's path first, as -m does
        sys.stdin, sys.stdout, sys.stderr = _standard_streams(env)
    except BaseException:  # the fork is broken, not chatfn: say so where the test will look
        import traceback

        traceback.print_exc()
        os._exit(70)
    import runpy

    os._exit(_run_as_interpreter(lambda: runpy.run_module("chatfn", run_name="__main__", alter_sys=True)))


def _standard_streams(env: Mapping[str, str]) -> tuple[Any, Any, Any]:
    """``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` as an interpreter starting with ``env`` makes them."""
    import locale

    encoding, _, errors = env.get("PYTHONIOENCODING", "").partition(":")
    encoding = encoding or locale.getpreferredencoding(False)
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))

    def stream(fd: int, mode: str, stream_errors: str, line_buffering: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffer: Any = raw
        if mode == "rb" or not unbuffered:
            buffer = io.BufferedReader(raw) if mode == "rb" else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            buffer,
            encoding=encoding,
            errors=stream_errors,
            line_buffering=line_buffering,
            write_through=unbuffered and mode == "wb",
        )

    return (
        stream(0, "rb", errors or "strict", False),
        stream(1, "wb", errors or "strict", os.isatty(1)),
        stream(2, "wb", "backslashreplace", True),
    )


def _run_as_interpreter(main: Any) -> int:
    """Run ``main`` and end as the interpreter ends a script: its exit status, threads, atexit, flush."""
    import atexit
    import traceback

    code = 0
    interrupted = False
    try:
        main()
    except SystemExit as done:
        if done.code is None:
            code = 0
        elif isinstance(done.code, int):
            code = done.code & 0xFF
        else:
            sys.stderr.write(f"{done.code}\n")
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        interrupted = True
    except BaseException:
        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # wait for threads that are not daemons, as Py_Finalize does
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            code = 120  # what the interpreter returns when flushing stdout fails
    if interrupted:  # die of SIGINT, as the interpreter does after an uncaught KeyboardInterrupt
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
