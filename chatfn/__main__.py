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


if __name__ == "__main__":
    main()
