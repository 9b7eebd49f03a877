"""docs/OPTIONS.md and docs/CLI.md, generated: the option table and every command's --help.

    python -m alphacut.options_doc > docs/OPTIONS.md
    python -m alphacut.options_doc --cli > docs/CLI.md

(`make docs` runs both.) tests/unit/options/test_options_doc.py fails when a committed file is not what
these print.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from enum import Enum
from typing import Any

from .option_table import BY_NAME, OPTION_TABLE, OptionSpec
from .options import Background, Color, Margin, Options

__all__ = ["cli_reference", "options_reference"]

_HEADER = """# Options

Every option of `alphacut remove` and `alphacut video`, of the HTTP API (`/v1/remove`) and of the
Python API (`alphacut.remove(image, bg="white")`, `Remover.remove(image, size="800x600")`,
`Options.from_kwargs(...)`) goes by one name. A flag `--min-area` is the HTTP field `min_area` and
the Python keyword `min_area`; Python also takes the `Options` field's name (`min_area_px`). Presets
(`--preset`, `alphacut presets`) set options by the same names, and your flags override them.

No value can exhaust the machine. Each option has absolute bounds (the "Type and bounds" column),
checked when the options are built, and size-like options are also bounded by each image: `erode`,
`dilate`, `outline` and the blur radius at half the image's shorter side, a margin in px at its longer
side, `min_area` at its pixel count, `roi` inside it (non-empty). Beyond an absolute bound the CLI
exits 2 (`options.invalid`); beyond an image's own limit that file fails (`options.too-large` or
`options.roi-*`, naming the limit for this image; exit 1, the batch goes on); the server answers 400;
all before the model runs. Two options that don't go together (e.g. `fill` without `size`, `bg` and
`bg_image`, or a name and its alias with different values) are `options.conflict`. Erosion and
dilation cost the same at any radius (above 3 px an octagon of four running min/max passes replaces
the disk: `ops/morphology.py`).

This page is generated from `src/alphacut/option_table.py` (`make docs`); don't edit it by hand.
"""


def _default(spec: OptionSpec) -> str:
    if spec.negative_flag or spec.kind == "flag":
        field = next(f for f in fields(Options) if f.name == spec.field)
        value = field.default
        if spec.name == "largest":
            return "off"
        return "true" if value else "false"
    if spec.name == "bg_image":
        return "none"
    field = next(f for f in fields(Options) if f.name == spec.field)
    return _describe(field.default)


def _describe(value: Any) -> str:
    if value is MISSING or value is None:
        return "none"
    if isinstance(value, Background):
        return value.describe()
    if isinstance(value, Color):
        return value.hex()
    if isinstance(value, Margin):
        return "none" if value.max_side_px == 0 else repr(value)
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:_}".replace("_", " ") if isinstance(value, int) else str(value)


def _where(spec: OptionSpec) -> str:
    commands = [c for c in ("remove", "video") if {"remove": "image", "video": "video"}[c] in spec.where
                and not (c == "video" and spec.video_refused)]
    return "" if not commands else f" ({', '.join(commands)})"


def _row(spec: OptionSpec) -> str:
    cli_where = {"image", "video"} & spec.where
    if cli_where:
        names = [d for d in spec.click_decls() if d.startswith("-")]
        cli = " ".join(f"`{n}`" for n in names) + _where(spec)
    else:
        cli = ""
    http = " ".join(f"`{n}`" for n in (spec.name, *spec.http_aliases)) if "http" in spec.where else ""
    own_field = (spec.field,) if BY_NAME[spec.field] is spec else ()  # background is bg's, not bg_image's
    python = " ".join(f"`{n}`" for n in dict.fromkeys((spec.name, *spec.aliases, *own_field)))
    what = f"Off (`false`): {spec.help[0].lower()}{spec.help[1:]}" if spec.negative_flag else spec.help
    cells = [cli, http, python, spec.bounds, _default(spec), what]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def options_reference() -> str:
    """docs/OPTIONS.md: one row per option."""
    lines = [_HEADER, "| CLI flag | HTTP field | Python keyword | Type and bounds | Default | What it does |",
             "|---|---|---|---|---|---|"]
    lines += [_row(spec) for spec in OPTION_TABLE]
    lines += ["", ("Flags marked (remove) only are not flags of `alphacut video`, which refuses the ones that change "
              "a frame's size or framing (--size, --crop, ...) with a clear message. `quality` over HTTP also takes a whole number 1..100, the older alias of "
              "`jpeg_quality`. The server's own flags (`alphacut serve --help`) and every command: "
              "[CLI.md](CLI.md)."), ""]
    return "\n".join(lines)


def cli_reference() -> str:
    """docs/CLI.md: every command's --help, as `alphacut` prints it."""
    import click
    from click.testing import CliRunner

    from .cli import main

    out = ["# Command line", "", ("Every `alphacut` command's `--help`. What each image option means, its HTTP "
           "field and Python keyword: [OPTIONS.md](OPTIONS.md)."), "",
           "This page is generated (`make docs`); don't edit it by hand.", ""]

    def walk(group: click.Group, path: tuple[str, ...]) -> None:
        first = ("remove", "video", "presets", "serve", "models")  # what most readers look for
        for name in sorted(group.commands, key=lambda n: (first.index(n) if n in first else len(first), n)):
            command = group.commands[name]
            sub = (*path, name)
            text = CliRunner().invoke(main, [*sub, "--help"], prog_name="alphacut", terminal_width=100).output
            out.extend([f"## alphacut {' '.join(sub)}", "", "```text", text.rstrip(), "```", ""])
            if isinstance(command, click.Group):
                walk(command, sub)

    top = CliRunner().invoke(main, ["--help"], prog_name="alphacut", terminal_width=100).output
    out.extend(["## alphacut", "", "```text", top.rstrip(), "```", ""])
    walk(main, ())
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(cli_reference() if "--cli" in sys.argv[1:] else options_reference())
