"""`alphacut presets` and `alphacut doctor`: what the presets set, and what this machine runs."""

from __future__ import annotations

import click

from .. import cli
from . import _runtime_option, _settings, main


@main.command()
def presets() -> None:
    """List the presets and what each one sets."""
    from ..presets import PRESETS

    for p in PRESETS.values():
        click.echo(f"{p.name:<14} {p.description}")


@main.command()
@_runtime_option
@click.pass_context
def doctor(ctx: click.Context, runtime: str | None) -> None:
    """Versions, CPU features, the inference runtime (which, precision, ISA, why), settings, cache, offline state."""
    from ..doctor import report

    for line in report(_settings(ctx, runtime=runtime), cli._store(ctx)):
        click.echo(line)
