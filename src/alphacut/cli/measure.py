"""`alphacut eval` (quality on labelled sets) and `alphacut bench` (speed, against peers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import cli
from ..options import FAST_RESOLUTION, FAST_RESOLUTION_NO_DOT_PRODUCT
from . import RUNTIME_CHOICES, _runtime_option, _settings, main


# ------------------------------------------------------------------------------------------- eval
@main.command("eval")
@click.option("--images", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of images (with --gt).")
@click.option("--gt", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of ground-truth PNGs named like the images.")
@click.option("--root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A folder of sets laid out as <set>/images + <set>/gt (e.g. ../shared/evaldata).")
@click.option("--pred", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Score saved mattes <pred>/<set>/<stem>.png instead of running a model.")
@click.option("--save-pred", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also save the mattes as <dir>/<set>/<stem>.png.")
@click.option("-m", "--model", default=None, help="Model id (default: the catalog default).")
@click.option("--resolution", type=int, default=None, help="Side the model runs at (dynamic models only).")
@click.option("--refine", default=None, help="guided (default), none or matting: how the matte is refined.")
@click.option("--limit", type=int, default=None, help="At most N images per set, evenly spaced.")
@_runtime_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (per-image scores included).")
@click.pass_context
def eval_cmd(ctx: click.Context, images: Path | None, gt: Path | None, root: Path | None, pred: Path | None,
             save_pred: Path | None, model: str | None, resolution: int | None, refine: str | None,
             limit: int | None, runtime: str | None, as_json: bool) -> None:
    """Score cutouts against ground truth: MAE, max/mean F-beta, S-measure, E-measure (+ SAD, MSE, Grad)."""
    import json

    from ..errors import OptionsError
    from ..eval.sets import EvalSet, discover_sets, evaluate, evaluate_dir

    if root is not None:
        sets = discover_sets(root)
    elif images is not None and gt is not None:
        sets = [EvalSet.from_dirs(images, gt)]
    else:
        raise OptionsError("options.invalid", "Give --images and --gt, or --root.",
                           hint="e.g. alphacut eval --root ../shared/evaldata")
    progress = None if as_json else _progress_callback("scoring")
    with progress or _nullcontext() as on_progress:
        if pred is not None:
            report = evaluate_dir(sets, pred, limit=limit, on_progress=on_progress)
        else:
            from ..options import Options

            settings = _settings(ctx, model=model, runtime=runtime)
            remover = cli._remover(settings)
            opts = Options.from_user(resolution=resolution, refine=refine)
            names = {pair.image: (s.name, pair.stem) for s in sets for pair in s.pairs}

            def predict(path: Path) -> Any:
                alpha = remover.matte(path, opts)
                if save_pred is not None:
                    from PIL import Image

                    from ..io.encode import encode_image
                    from ..io.files import write_atomic
                    from ..ops.pixels import float_to_u8
                    from ..options import OutputFormat

                    set_name, stem = names[path]
                    data = encode_image(Image.fromarray(float_to_u8(alpha), "L"), OutputFormat.MASK)
                    write_atomic(save_pred / set_name / f"{stem}.png", data)
                return alpha

            report = evaluate(sets, predict, limit=limit, on_progress=on_progress)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(report.to_markdown())


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress_callback(label: str) -> Any:
    """A context manager yielding on_progress(done, total) that draws a bar on a terminal, else nothing."""
    import contextlib

    @contextlib.contextmanager
    def bar() -> Any:
        if not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True)) as progress:
            task = progress.add_task(label, total=None)
            yield lambda done, total: progress.update(task, completed=done, total=total)

    return bar()


# ------------------------------------------------------------------------------------------ bench
@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--gt", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Ground-truth mattes <stem>.png (default FOLDER/gt; FOLDER/images holds the images).")
@click.option("--compare", default="", help="Peers to run on the same weights and images: rembg,imgly.")
@click.option("--fast", is_flag=True, help=f"Also measure fast mode (the model at --resolution, default {FAST_RESOLUTION}, "
              f"{FAST_RESOLUTION_NO_DOT_PRODUCT} on CPUs without VNNI/AMX).")
@click.option("--resolution", type=int, default=None, help="Resolution of the fast-mode row (implies --fast).")
@click.option("--cutout", is_flag=True, help="Also time the default RGBA PNG cutout (batch only).")
@click.option("-m", "--model", default=None, help="Model id (default: the catalog default).")
@click.option("--threads", type=int, default=None, help="alphacut's inference threads (default: all cores).")
@click.option("--runtime", "runtimes", default=None, metavar="RUNTIME[,RUNTIME...]",
              help="alphacut's inference runtime(s): auto, openvino, onnxruntime (default: the settings'). A second "
                   "one adds its own alphacut rows, run interleaved with the first's.")
@click.option("--repeat", type=int, default=1, show_default=True,
              help="Batch runs per tool, tools alternated; the median is reported.")
@click.option("--make-set", "make_set", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="First build the bench set into FOLDER from this evaldata folder (kept if FOLDER "
                                 "already holds one made from it).")
@click.option("--write", "write", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report (Markdown) to this file, e.g. docs/PERFORMANCE.md.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--peers-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the --compare peers are (or get) installed (default: HOME/peers, HOME = the model cache's "
                   "folder; in a checkout bench/.envs is what bench/setup_peers.sh fills).")
@click.pass_context
def bench(ctx: click.Context, folder: Path, gt: Path | None, compare: str, fast: bool, resolution: int | None,
          cutout: bool, model: str | None, threads: int | None, runtimes: str | None, repeat: int,
          make_set: Path | None, write: Path | None, as_json: bool, peers_dir: Path | None) -> None:
    """alphacut vs peers on FOLDER: images/s, s/image warm, cold start, peak RSS and MAE, each in fresh processes."""
    import json
    import shlex

    from ..errors import OptionsError

    if make_set is not None:
        from ..eval.benchset import ensure_bench_set

        ensure_bench_set(make_set, folder)
    elif not folder.is_dir():
        from ..errors import InputError

        raise InputError("input.not-found", f"{folder} is not a folder.",
                         hint="Pass a folder of images/ + gt/, or add --make-set ../shared/evaldata to build one.")
    peers = tuple(p.strip() for p in compare.split(",") if p.strip())
    runtime_list = tuple(r.strip() for r in (runtimes or "").split(",") if r.strip())
    bad = [r for r in runtime_list if r not in RUNTIME_CHOICES]
    if bad:
        raise OptionsError("options.invalid", f"--runtime {', '.join(bad)}: not one of {', '.join(RUNTIME_CHOICES)}.")
    if repeat < 1:
        raise OptionsError("options.invalid", f"--repeat {repeat} must be at least 1.")
    from ..eval.bench import run_compare
    from ..eval.report import to_json, to_markdown

    command = "alphacut " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    home = (ctx.obj or {}).get("home")
    report = run_compare(folder, gt=gt, peers=peers, fast=fast, resolution=resolution, model=model,
                         threads=threads, home=home, repeats=repeat, cutout=cutout, command=command,
                         peers_dir=peers_dir, runtimes=runtime_list)
    text = to_markdown(report)
    click.echo(json.dumps(to_json(report), indent=2) if as_json else text)
    if write is not None:
        from ..eval.report import splice_report
        from ..io.files import write_atomic

        existing = write.read_text(encoding="utf-8") if write.is_file() else None
        write_atomic(write, splice_report(existing, text).encode())
        click.echo(f"wrote {write}", err=True)
