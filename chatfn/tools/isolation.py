"""Running one tool call in a worker process that can be killed.

A sync tool runs in a thread, and a thread cannot be stopped: code that holds the GIL
(a backtracking regex, a C parser) freezes the whole process past the tool's timeout
and ignores Ctrl-C. A tool registered with ``isolated=True`` runs here instead, in a
fresh ``spawn`` process per call; at the timeout, on Ctrl-C or when chatfn exits the
process is killed, and chatfn goes on. The price is a process start per call (tens of
milliseconds plus the plugin's import) and that the function, its arguments and its
result must be picklable.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from typing import Any

__all__ = ["IsolatedCall", "stop_all"]

_live: set[Any] = set()
_live_lock = threading.Lock()


def _work(connection: Any, function: Any, arguments: dict[str, Any]) -> None:  # pragma: no cover - in the child
    """The worker's whole life: call, send back ("ok", value) or ("error", description), exit."""
    try:
        value = function(**arguments)
        try:
            connection.send(("ok", value))
        except Exception as error:  # an unpicklable result
            connection.send(("error", f"the result could not be sent back: {type(error).__name__}: {error}"))
    except BaseException as error:  # noqa: BLE001 - everything the tool raises is reported
        text = " ".join(str(error).split())
        connection.send(("error", f"{type(error).__name__}: {text}" if text else type(error).__name__))
    finally:
        connection.close()


class IsolatedCall:
    """One call started in its own process; :meth:`result` waits for it, at most ``timeout`` seconds."""

    def __init__(self, function: Any, arguments: dict[str, Any]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._receiver, sender = context.Pipe(duplex=False)
        self._process = context.Process(target=_work, args=(sender, function, arguments), daemon=True)
        with _live_lock:
            _live.add(self._process)
        self._process.start()
        sender.close()

    def result(self, timeout: float) -> tuple[str, Any]:
        """``("ok", value)``, ``("error", text)``, or ``("timeout", None)``; the worker is gone after."""
        try:
            if self._receiver.poll(max(0.0, timeout)):
                try:
                    return self._receiver.recv()
                except EOFError:
                    code = self._process.exitcode
                    self._process.join(1)
                    code = self._process.exitcode if code is None else code
                    return "error", f"the worker process died (exit code {code})"
            return "timeout", None
        finally:
            self.stop()

    def ready(self) -> bool:
        """True when the worker has sent its answer (or died): :meth:`result` will not wait."""
        try:
            return bool(self._receiver.poll(0))
        except (OSError, ValueError):  # already stopped
            return False

    def stop(self) -> None:
        """Kill the worker if it still runs, and reap it."""
        process = self._process
        if process.is_alive():
            process.kill()
        process.join(5)
        with contextlib.suppress(Exception):
            self._receiver.close()
        with _live_lock:
            _live.discard(process)


@atexit.register
def stop_all() -> None:
    """Kill every worker still running: none outlives chatfn."""
    with _live_lock:
        processes = list(_live)
    for process in processes:
        with contextlib.suppress(Exception):
            if process.is_alive():
                process.kill()
            process.join(1)
