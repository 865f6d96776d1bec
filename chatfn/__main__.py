"""Entry point for the ``chatfn`` console script and ``python -m chatfn``."""

from __future__ import annotations


def main() -> None:
    """Run the CLI; imported lazily so ``python -m chatfn`` and the script share one path."""
    from chatfn.cli import run

    run()


if __name__ == "__main__":
    main()
