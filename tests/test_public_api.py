"""Pins the public surface: `alphacut.__all__` and every CLI command's --help.

A change here is a change for users. Refresh the snapshots on purpose with
`ALPHACUT_UPDATE_SNAPSHOTS=1 pytest tests/test_public_api.py`, and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from click.testing import CliRunner

import alphacut
from alphacut import cli

SNAPSHOT = Path(__file__).parent / "snapshots" / "public_api.json"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    out: dict[str, str] = {}
    runner = CliRunner()
    for name in sorted(group.commands):
        path = (*prefix, name)
        res = runner.invoke(cli.main, [*path, "--help"], terminal_width=100)
        assert res.exit_code == 0, res.output
        out[" ".join(path)] = res.output
        sub = group.commands[name]
        if isinstance(sub, click.Group):
            out.update(_commands(sub, path))
    return out


def current_surface() -> dict[str, object]:
    top = CliRunner().invoke(cli.main, ["--help"], terminal_width=100).output
    return {"__all__": sorted(alphacut.__all__), "cli": {"": top, **_commands(cli.main)}}


def test_public_surface_matches_snapshot():
    surface = current_surface()
    if os.environ.get("ALPHACUT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(surface, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot: run with ALPHACUT_UPDATE_SNAPSHOTS=1 once and commit it"
    assert surface == json.loads(SNAPSHOT.read_text())


def test_every_exported_name_exists():
    for name in alphacut.__all__:
        assert hasattr(alphacut, name), name
