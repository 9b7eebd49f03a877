"""docs/OPTIONS.md and docs/CLI.md are what `make docs` (alphacut.options_doc) generates today."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphacut.options_doc import cli_reference, options_reference

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.mark.parametrize(("name", "make"), [("OPTIONS.md", options_reference), ("CLI.md", cli_reference)])
def test_generated_doc_is_current(name: str, make: object) -> None:
    text = make()  # type: ignore[operator]
    assert (DOCS / name).read_text(encoding="utf-8") == text, \
        f"docs/{name} is stale: run `make docs` (python -m alphacut.options_doc{' --cli' if name == 'CLI.md' else ''})"


def test_every_option_has_a_row() -> None:
    from alphacut.option_table import OPTION_TABLE

    text = options_reference()
    for spec in OPTION_TABLE:
        assert f"`{spec.name}`" in text, spec.name
