"""The README's first screen: what it is, the two quickstart commands, code within 15 lines, working links."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_first_code_block_within_15_lines_and_quickstart_is_make_demo_and_make_test() -> None:
    lines = README.splitlines()
    assert any(line.startswith("```") for line in lines[:15])
    quick = README.split("## Quickstart", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make demo", "make test"]


def test_local_links_resolve() -> None:
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def test_python_quickstart_names_are_option_names() -> None:
    from alphacut.option_table import BY_NAME

    block = README.split("```python", 1)[1].split("```", 1)[0]
    for key in re.findall(r"(\w+)=", block):
        assert key in BY_NAME, key
