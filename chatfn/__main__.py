"""Entry point for the ``chatfn`` console script and ``python -m chatfn``."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the CLI; a bare ``--version`` answers before Typer is even imported.

    Help screens and ``tools list`` are answered from the last identical run when
    nothing they depend on has changed (:mod:`chatfn.replay`), again without Typer.
    """
    argv = sys.argv[1:]
    if argv == ["--version"]:
        from chatfn import __version__

        sys.stdout.write(f"chatfn {__version__}\n")
        return
    from chatfn import replay

    if replay.replayable(argv):
        if replay.replay(argv):
            return
        replay.record(argv, _run)
        return
    _run()


def _run() -> None:
    from chatfn.cli import run

    run()


if __name__ == "__main__":
    main()
