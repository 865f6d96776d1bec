"""The tool packages' costs on hostile and ordinary input, as ratios measured in one run.

- ``html_to_text`` (chatfn-tools-web): seconds per MB at 0.25, 1 and 4 MB for deeply
  nested ``<div>``s, unclosed comments and ordinary markup. Goal: flat (linear time).
- ``search_files`` (chatfn-tools-files): a literal and a regex search over a generated
  tree, next to a bare loop over the same lines with ``re`` (the baseline: what the tool
  did before it confined every open and matched with a timeout).

Needs the plugin packages installed (``pip install -e plugins/chatfn-tools-web
-e plugins/chatfn-tools-files``). Run: ``python bench/tool_packages_bench.py``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from assemble_bench import best_of


def html_table() -> None:
    import chatfn_tools_web

    print("html_to_text, seconds per MB (goal: flat from 0.25 MB to 4 MB)")
    print(f"{'input':<28}{'0.25 MB':>10}{'1 MB':>10}{'4 MB':>10}{'4 MB / 0.25 MB':>16}")
    for label, unit in (
        ("nested <div>", "<div>"),
        ("unclosed <!--", "<!--"),
        ("unclosed </", "</"),
        ("ordinary paragraphs", "<p>Some text &amp; a <a href='/x'>link</a>.</p>\n"),
    ):
        per_mb = []
        for megabytes in (0.25, 1, 4):
            document = unit * int(megabytes * 1_000_000 // len(unit))
            per_mb.append(best_of(3, lambda document=document: chatfn_tools_web.html_to_text(document)) / megabytes)
        print(f"{label:<28}" + "".join(f"{value:>10.3f}" for value in per_mb) + f"{per_mb[2] / per_mb[0]:>15.2f}x")


def search_table() -> None:
    import chatfn_tools_files

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for index in range(200):
            directory = root / f"pkg{index % 20}"
            directory.mkdir(exist_ok=True)
            lines = [f"def function_{index}_{n}(value):  # line {n} of module {index}" for n in range(250)]
            (directory / f"module{index}.py").write_text("\n".join(lines) + "\n")
        search = chatfn_tools_files.make_tools(chatfn_tools_files.FilesSettings(root=folder))[2]

        def baseline(pattern: str) -> int:
            matcher, count = re.compile(pattern), 0
            for directory, _, files in os.walk(folder):
                for name in files:
                    for line in Path(directory, name).read_text().splitlines():
                        count += bool(matcher.search(line))
            return count

        print("\nsearch_files over 200 files x 250 lines (seconds; baseline: os.walk + re)")
        print(f"{'search':<36}{'tool':>10}{'baseline':>10}{'ratio':>8}")
        for label, pattern, literal in (("literal 'module 7'", "module 7", True), ("regex r'_1\\d_2\\d\\('", r"_1\d_2\d\(", False)):
            tool = best_of(3, lambda pattern=pattern, literal=literal: search(pattern=pattern, regex=not literal, max_results=1000))
            bare = best_of(3, lambda pattern=pattern, literal=literal: baseline(re.escape(pattern) if literal else pattern))
            print(f"{label:<36}{tool:>10.3f}{bare:>10.3f}{tool / bare:>7.2f}x")


if __name__ == "__main__":
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    html_table()
    search_table()
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
