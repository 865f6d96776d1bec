"""Entry point for the ``chatfn`` console script and ``python -m chatfn``."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI; a bare ``--version`` answers before Typer is even imported."""
    if sys.argv[1:] == ["--version"]:
        from chatfn import __version__

        sys.stdout.write(f"chatfn {__version__}\n")
        return
    from chatfn.cli import run

    run()


def entry() -> None:
    """The ``chatfn`` process: :func:`main`, with what only a whole process may do.

    Help screens and ``tools list`` are answered from the last identical run when
    nothing they depend on has changed (:mod:`chatfn.replay`), before Typer is
    imported; and the process ends without the interpreter's teardown
    (:func:`_exit_now`). :func:`main` alone can run inside another process, as the
    in-process test runner does, where neither would be right.
    """
    from chatfn import replay

    argv = sys.argv[1:]
    try:
        if not replay.replayable(argv):
            main()
        elif not replay.replay(argv):
            replay.record(argv, main)
    except SystemExit as done:
        _exit_now(done.code)
        raise
    _exit_now(0)


def _exit_now(code: object) -> None:
    """End the process with ``code`` once the command is done, skipping the interpreter's teardown.

    Tearing down an interpreter that imported the openai SDK (thousands of pydantic
    classes) takes longer than a one-shot chat's own work. Everything a normal exit
    does that anyone can see is done here first: the ``atexit`` handlers run (MCP
    servers, isolated tool workers, a plugin's process groups are stopped there) and
    every open file is flushed. When a thread that is not a daemon is still running,
    which a normal exit would wait for, or when something fails here, this returns
    and the normal exit follows.
    """
    if not isinstance(code, (int, type(None))):
        return
    threading = sys.modules.get("threading")
    if threading is not None:
        current = threading.current_thread()
        if any(thread is not current and not thread.daemon and thread.is_alive() for thread in threading.enumerate()):
            return
    import atexit
    import gc
    import io
    import os

    try:
        atexit._run_exitfuncs()  # what Py_Finalize would run first; it forgets them, so a normal exit runs none twice
        kinds = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
        for stream in [sys.stdout, sys.stderr, *(item for item in gc.get_objects() if type(item) in kinds)]:
            if stream is not None and not stream.closed and stream.writable():
                stream.flush()
    except Exception:  # a closed pipe, say: let the normal exit report it as it always has
        return
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
