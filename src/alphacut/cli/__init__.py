"""The `alphacut` command. Imports stay lazy so `alphacut --help` is instant.

This module holds the group (`main`), the console script (`entry`) and what several commands share;
each command lives in the module of its group and registers itself on `main` when imported below:
remove.py (remove: batch, stdin/stdout, --ray), video.py, models.py, serve.py, measure.py (eval,
bench), info.py (presets, doctor).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from ..config import Settings
    from ..errors import AlphacutError

log = logging.getLogger("alphacut")
_F = TypeVar("_F", bound=Callable[..., Any])

#: --runtime's choices (config.RUNTIMES; spelled out here so that `--help` imports nothing more).
RUNTIME_CHOICES = ("auto", "openvino", "onnxruntime")


def _runtime_option(f: Any) -> Any:
    return click.option("--runtime", type=click.Choice(RUNTIME_CHOICES), default=None,
                        help="Inference runtime: auto (OpenVINO where it runs on this CPU, else onnxruntime), "
                             "openvino or onnxruntime (ALPHACUT_RUNTIME; `alphacut doctor` says which runs).")(f)


def _fail(exc: AlphacutError) -> NoReturn:
    click.secho(f"error: {exc.code}: {exc.message}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  {exc.hint}", err=True)
    sys.exit(exc.exit_code)


class _Group(click.Group):
    """Turns AlphacutError into a clean message and its exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import AlphacutError

        try:
            return super().invoke(ctx)
        except AlphacutError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def _settings(ctx: click.Context, **flags: Any) -> Settings:
    from ..config import load_settings

    base = dict(ctx.obj or {})
    base.update({k: v for k, v in flags.items() if v is not None})
    return load_settings(base)


def _table_options(command: str, *names: str) -> Callable[[_F], _F]:
    """The click options of `names`, derived from the option table (alphacut.option_table), in order.

    command: "image" (`alphacut remove`) or "video"; a video-refused option is a hidden flag there,
    so `alphacut video` can refuse it with a clear message.
    """
    from ..option_table import option_for

    types: dict[str, Any] = {"int": int, "float": float, "file": click.Path(exists=True, dir_okay=False)}

    def decorate(f: _F) -> _F:
        for name in reversed(names):
            spec = option_for(name)
            kw: dict[str, Any] = {"default": spec.cli_default, "show_default": spec.show_default}
            if spec.negative_flag:
                kw["flag_value"] = False
            elif spec.kind == "flag":
                kw["is_flag"] = True
            elif spec.kind in types:
                kw["type"] = types[spec.kind]
            if command == "video" and spec.video_refused:
                kw["hidden"] = True
            else:
                kw["help"] = spec.help_for(command)
            f = click.option(*spec.click_decls(), **kw)(f)
        return f

    return decorate


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="alphacut")
@click.option("--offline", is_flag=True, default=None, help="Never touch the network (ALPHACUT_OFFLINE=1).")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model cache folder (ALPHACUT_HOME).")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.pass_context
def main(ctx: click.Context, offline: bool | None, home: Path | None, verbose: int) -> None:
    """alphacut: remove image backgrounds on your own machine. No upload, no telemetry."""
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"offline": offline, "home": home}


def _remover(settings: Settings, *, spin_wait: bool | None = None, options: Any = None) -> Any:
    """The command's Remover; `options` (those of every image) let the model be compiled for their
    resolution (--fast, --resolution) while it loads, instead of at the first image.

    The command modules call it as `cli._remover`, looked up at each call, so that tests replace
    it in one place (monkeypatch alphacut.cli._remover) for every command."""
    from ..api import Remover

    return Remover(settings=settings, spin_wait=spin_wait, options=options)


def _store(ctx: click.Context) -> Any:
    """The model store of --home / --offline (called as `cli._store`, like `_remover`, for the tests)."""
    from ..models.store import ModelStore

    settings = _settings(ctx.find_root())
    return ModelStore(settings.home_path, offline=bool(settings.offline.value))


def entry() -> NoReturn:
    """The `alphacut` console script: main(), then leave without tearing the process down.

    Once a command has returned, every result is written (write_atomic closes and renames its
    files) and only stdout/stderr may hold buffered text. Python's own exit would then destroy the
    onnxruntime session (its arena and thread pool) and every module, a large share of a cold start
    (docs/studies/performance-rounds.md, "Cold start: where it went and what is left"). The streams
    and logging are flushed and os._exit ends the process; the kernel reclaims the memory.
    In-process callers (tests, CliRunner) use `main`, which exits normally.
    """
    code: int = 0
    try:
        main()
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    finally:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
                code = code or 1
    os._exit(code)


# The commands, each registered on `main` by its module (`alphacut --help` lists them sorted by name).
from . import info, measure, models, remove, serve, video  # noqa: F401  (after main and the helpers they use)
