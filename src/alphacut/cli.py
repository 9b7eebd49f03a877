"""The `alphacut` command. Imports stay lazy so `alphacut --help` is instant."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from .config import Settings
    from .errors import AlphacutError

log = logging.getLogger("alphacut")

from .options import FAST_GUIDE_MIN_PIXELS, FAST_MODEL, FAST_RESOLUTION, FAST_RESOLUTION_NO_DOT_PRODUCT


def _fail(exc: AlphacutError) -> NoReturn:
    click.secho(f"error: {exc.code}: {exc.message}", fg="red", err=True)
    if exc.hint:
        click.echo(f"  {exc.hint}", err=True)
    sys.exit(exc.exit_code)


class _Group(click.Group):
    """Turns AlphacutError into a clean message and its exit code: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import AlphacutError

        try:
            return super().invoke(ctx)
        except AlphacutError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


def _settings(ctx: click.Context, **flags: Any) -> Settings:
    from .config import load_settings

    base = dict(ctx.obj or {})
    base.update({k: v for k, v in flags.items() if v is not None})
    return load_settings(base)


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


# ----------------------------------------------------------------------------------------- remove
@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "output", default=None,
              help="Output folder (mirrors input folders), a file name for one input, or - for stdout. "
                   "Default: beside each input as NAME.cutout.EXT.")
@click.option("-f", "--format", "fmt", default="png", show_default=True,
              help="png, webp, jpg (on --bg, white if none) or mask (the alpha as greyscale PNG).")
@click.option("-p", "--preset", default=None, help="ecommerce, id-photo, id-photo-us, avatar, avatar-circle, "
              "sticker (see `alphacut presets`); other flags override it.")
@click.option("--bg", default=None, help="Background: a colour (white, #RRGGBB, r,g,b), transparent, or "
              "blur[:RADIUS] (blur the photo's own background). Default: transparent.")
@click.option("--bg-image", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Put this picture behind the subject (scaled to cover).")
@click.option("--crop", is_flag=True, default=None, help="Crop to the subject's box (plus --margin).")
@click.option("--margin", default=None, help="Space around a crop: pixels (20) or percent of the subject's longer "
              "side (5%); 2 or 4 values for top/bottom left/right or top right bottom left ('10 20').")
@click.option("--roi", default=None, help="Only this region can be foreground: 'X1 Y1 X2 Y2' in px or % of the "
              "image ('0% 0% 50% 100%').")
@click.option("--scale", default=None, help="Without --size: scale the subject to span this much of the frame "
              "(10%..100%), centred unless --position is given.")
@click.option("--position", default=None, help="Without --size: move the subject in the frame: center, X% (both "
              "axes) or 'X% Y%' (0% left/top, 100% right/bottom).")
@click.option("--max-output-pixels", type=int, default=None,
              help="Scale the result down (aspect kept) to at most this many pixels, after crop and --size.")
@click.option("--size", default=None, help="Output canvas: WxH, one number for a square, or 35x45mm / 2x2in "
              "at 300 dpi.")
@click.option("--fit", default=None, help="fit (letterbox, default) or fill (cover and crop) for --size.")
@click.option("--fill", type=float, default=None, help="With --size: scale the subject to fill this fraction "
              "of the canvas, centred (0.85 for e-commerce).")
@click.option("--shape", default=None, help="rect (default) or circle.")
@click.option("--outline", type=int, default=None, help="Sticker outline width in px (white).")
@click.option("--refine", default=None, help="guided (default: follows the photo's edges when it is at least "
              "2x the model's size), none (bilinear) or matting (guided + closed-form matting of the soft "
              "edge: for hair and fur; adds 0.5-5 s per photo).")
@click.option("--quality", default=None, help="standard (default: one network run) or best (the photo and its "
              "mirror image, averaged: twice the network's time for a higher max F-beta, not a lower MAE; "
              "docs/QUALITY.md).")
@click.option("--no-decontaminate", "decontaminate", flag_value=False, default=None,
              help="Keep the original colours at soft edges (default: remove the old background's tint).")
@click.option("--threshold", type=float, default=None, help="Hard mask at this level (0..1).")
@click.option("--erode", type=int, default=None, help="Shrink the matte by PX.")
@click.option("--dilate", type=int, default=None, help="Grow the matte by PX.")
@click.option("--min-area", type=int, default=None, help="Drop separate specks smaller than PX pixels.")
@click.option("--largest", is_flag=True, default=None, help="Keep the largest subject only.")
@click.option("--subject", default=None, help="Keep one subject: largest, center, or its index (0 = largest).")
@click.option("--layers", is_flag=True, help="Also write one RGBA file per subject: NAME.subject-N.png.")
@click.option("-m", "--model", default=None, help="Model id (see `alphacut models list`).")
@click.option("--resolution", type=int, default=None, help="Side the model runs at (dynamic models only).")
@click.option("--fast", is_flag=True, help=f"Fast mode: the model at {FAST_RESOLUTION} px instead of 1024 "
              f"({FAST_RESOLUTION_NO_DOT_PRODUCT} px on CPUs without VNNI/AMX, e.g. AVX2-only: `alphacut doctor` "
              "says which); about 1.6x faster, a little less accurate on small and thin subjects; masks (-f mask) of "
              "large JPEGs are refined on a 1/2 decode (docs/PERFORMANCE.md).")
@click.option("--threads", type=int, default=None, help="Inference threads (default: all cores).")
@click.option("--max-pixels", type=int, default=None, help="Refuse larger inputs (default 100 MP).")
@click.option("--skip-existing", is_flag=True, help="Keep outputs that already exist.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, only errors and the summary.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the batch summary as JSON on stdout (counts, seconds, per-file outcome and stage times).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the batch on a Ray cluster: auto, host:port or ray://host:10001; alone, a local Ray "
                   "started for the job. Put it after the inputs (or write --ray=ADDRESS). Paths must be on a "
                   "filesystem every node shares. --threads is then each actor's CPUs. Needs alphacut[ray].")
@click.pass_context
def remove(ctx: click.Context, inputs: tuple[str, ...], output: str | None, fmt: str, model: str | None,
           threads: int | None, max_pixels: int | None, skip_existing: bool, overwrite: bool, quiet: bool,
           layers: bool, fast: bool, as_json: bool, ray_address: str | None, **fields: Any) -> None:
    """Cut out INPUTS: files, folders (recursive), globs, or - for stdin."""
    from .errors import OptionsError
    from .options import Options

    if skip_existing and overwrite:
        raise OptionsError("options.conflict", "--skip-existing and --overwrite exclude each other.")
    if fast:
        from .runtime.kernels import fast_resolution

        model = model or FAST_MODEL
        fields["resolution"] = fields.get("resolution") or fast_resolution()
        fields["guide_min_pixels"] = FAST_GUIDE_MIN_PIXELS  # masks of large JPEGs: refined on a 1/2 decode
    settings = _settings(ctx, model=model, threads=threads, max_pixels=max_pixels)
    options = Options.from_user(format=fmt, max_pixels=settings.max_pixels.value, **fields)
    if ray_address is not None:
        if as_json:
            raise OptionsError("options.conflict", "--json is not available with --ray yet.",
                               hint="Drop --json; --ray prints its summary with images per node.")
        _remove_on_ray(inputs, output, options, settings, ray_address, skip_existing=skip_existing,
                       overwrite=overwrite, quiet=quiet, layers=layers)
        return
    if "-" in inputs or output == "-":
        if as_json:
            raise OptionsError("options.conflict", "--json summarizes a batch of files; stdin/stdout mode has none.",
                               hint="Drop --json, or pass files or folders instead of -.")
        _remove_stdio(inputs, output, options, settings, skip_existing=skip_existing, overwrite=overwrite)
        return
    _remove_files(inputs, output, options, settings, skip_existing=skip_existing, overwrite=overwrite,
                  quiet=quiet, layers=layers, as_json=as_json)


@main.command()
def presets() -> None:
    """List the presets and what each one sets."""
    from .presets import PRESETS

    for p in PRESETS.values():
        click.echo(f"{p.name:<14} {p.description}")


def _remover(settings: Settings, *, spin_wait: bool | None = None) -> Any:
    from .api import Remover

    return Remover(settings=settings, spin_wait=spin_wait)


def _stdin_is(path: Path) -> bool:
    """Whether stdin is the file at path (`alphacut remove - -o in.jpg < in.jpg`)."""
    try:
        a, b = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no real stdin (e.g. in-process tests), or no file yet
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _remove_stdio(inputs: tuple[str, ...], output: str | None, options: Any, settings: Settings, *,
                  skip_existing: bool, overwrite: bool) -> None:
    from .errors import OptionsError, OutputError
    from .io.files import write_atomic

    if inputs != ("-",):
        raise OptionsError("options.conflict", "Reading stdin (-) works with exactly one input: -.",
                           hint="Use `alphacut remove - -o out.png < in.jpg` or pass file names.")
    if output not in (None, "-"):
        dst = Path(output)
        if _stdin_is(dst):
            raise OutputError("output.is-input", f"{dst} is the input itself (stdin reads it); alphacut never "
                              "overwrites an input.", hint="Give -o another file name.")
        if dst.is_dir():
            raise OutputError("output.is-directory", f"{dst} is a folder; reading stdin needs a file name for -o.",
                              hint=f"Use e.g. -o {dst / ('stdin' + options.format.extension)}.")
        if dst.exists():
            if skip_existing:
                click.echo(f"skipped: {dst} exists", err=True)
                return
            if not overwrite:
                raise OutputError("output.exists", f"{dst} exists.",
                                  hint="Pass --overwrite to replace it or --skip-existing to keep it.")
    remover = _remover(settings)  # the model loads in the background while stdin is read
    data = sys.stdin.buffer.read()
    result = remover.remove_bytes(data, options)
    if output in (None, "-"):
        sys.stdout.buffer.write(result)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(output), result)


def _file_jobs(inputs: tuple[str, ...], output: str | None, options: Any) -> tuple[list[Any], Path | None]:
    """The (src, dst) jobs for INPUTS and -o, as the local batch and --ray both run them."""
    from .io.files import IMAGE_SUFFIXES, Job, collect_jobs

    suffix = options.format.extension
    out_path = Path(output) if output else None
    single_file = (len(inputs) == 1 and Path(inputs[0]).is_file() and out_path is not None
                   and out_path.suffix.lower() in IMAGE_SUFFIXES and not out_path.is_dir())
    if single_file:
        assert out_path is not None
        jobs = [Job(src=Path(inputs[0]), dst=out_path)]
    else:
        jobs = collect_jobs(inputs, out_path, suffix)
    if not jobs:
        click.echo("No images found in the given inputs.", err=True)
        sys.exit(1)
    return jobs, out_path


def _remove_files(inputs: tuple[str, ...], output: str | None, options: Any, settings: Settings, *,
                  skip_existing: bool, overwrite: bool, quiet: bool, layers: bool, as_json: bool = False) -> None:
    jobs, out_path = _file_jobs(inputs, output, options)
    # The model starts loading in a background thread now; importing the pipeline (numpy, Pillow,
    # scipy) and decoding the first image happen in this thread meanwhile. onnxruntime's threads do
    # not spin: the batch's decode and write threads need the cores (docs/PERFORMANCE.md, round s18).
    remover = _remover(settings, spin_wait=False)
    from .batch import Outcome, run_batch

    summary = _run_with_progress(run_batch, remover, jobs, options, skip_existing, overwrite, quiet, layers)
    done, skipped, failed = (summary.count(Outcome.DONE), summary.count(Outcome.SKIPPED),
                             summary.count(Outcome.FAILED))
    for r in summary.failed:
        click.secho(f"failed: {r.job.src}: {r.code}: {r.message}", fg="red", err=True)
    rate = done / summary.seconds if summary.seconds > 0 else 0.0
    where = out_path if out_path is not None else "beside the inputs"
    wait = f", {summary.model_wait_s:.1f} s of it waiting for the model to load" if summary.model_wait_s >= 0.05 else ""
    click.echo(f"{done} done, {skipped} skipped, {failed} failed in {summary.seconds:.1f} s "
               f"({rate:.2f} images/s{wait}); results in {where}", err=True)
    if as_json:
        import json

        click.echo(json.dumps(summary.to_json()))
    if failed:
        sys.exit(1)


def _remove_on_ray(inputs: tuple[str, ...], output: str | None, options: Any, settings: Settings,
                   address: str, *, skip_existing: bool, overwrite: bool, quiet: bool, layers: bool) -> None:
    """`remove --ray`: the same jobs, names and rules as the local batch, run by alphacut.distributed."""
    from .errors import OptionsError

    if "-" in inputs or output == "-":
        raise OptionsError("options.conflict", "--ray works on files and folders, not stdin/stdout (-).",
                           hint="Pass file or folder names and an output folder with -o.")
    from .distributed import import_ray

    import_ray()  # the missing extra is reported before any file is looked at
    from .distributed.uris import is_uri, uri_jobs

    jobs: Any
    if any(is_uri(x) for x in (*inputs, output or "")):  # s3://, gs://, abfs://, file:// via pyarrow
        if not output:
            raise OptionsError("options.conflict", "With a URI input, give the output location with -o.",
                               hint="e.g. -o s3://bucket/cutouts/")
        jobs, out_path = uri_jobs(inputs, output, options.format.extension), output
        if not jobs:
            click.echo("No images found in the given inputs.", err=True)
            sys.exit(1)
    else:
        jobs, out_path = _file_jobs(inputs, output, options)
    from .batch import Outcome
    from .distributed import run_jobs

    summary = run_jobs(jobs, options, address=address or None, model=settings.model.value,
                       skip_existing=skip_existing, overwrite=overwrite, layers=layers,
                       cpus_per_actor=settings.threads.value or 1,
                       progress=not quiet and sys.stderr.isatty(), settings=settings)
    batch = summary.batch
    done, skipped, failed = batch.count(Outcome.DONE), batch.count(Outcome.SKIPPED), batch.count(Outcome.FAILED)
    for r in sorted(batch.failed, key=lambda r: str(r.job.src)):
        click.secho(f"failed: {r.job.src}: {r.code}: {r.message}", fg="red", err=True)
    for node in summary.nodes:
        rate = node.images / node.busy_s if node.busy_s > 0 else 0.0
        click.echo(f"node {node.node_ip} ({node.node_id[:8]}): {node.images} images, {node.failed} failed, "
                   f"{node.busy_s:.1f} s in its actors ({rate:.2f} images/s per actor-second)", err=True)
    rate = done / batch.seconds if batch.seconds > 0 else 0.0
    where = out_path if out_path is not None else "beside the inputs"
    click.echo(f"{done} done, {skipped} skipped, {failed} failed in {batch.seconds:.1f} s on Ray "
               f"({rate:.2f} images/s, first result after {summary.first_result_s:.1f} s); results in {where}",
               err=True)
    if failed:
        sys.exit(1)


def _run_with_progress(run_batch: Any, remover: Any, jobs: Any, options: Any, skip_existing: bool,
                       overwrite: bool, quiet: bool, layers: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return run_batch(remover, jobs, options, skip_existing=skip_existing, overwrite=overwrite, layers=layers)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    class _Rate(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task: Any) -> Any:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} img/s" if speed else "-- img/s")

    columns = (TextColumn("[bold]cutting"), BarColumn(), MofNCompleteColumn(), _Rate(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("remove", total=len(jobs))
        return run_batch(remover, jobs, options, skip_existing=skip_existing, overwrite=overwrite,
                         layers=layers, on_item=lambda _r: progress.advance(task))


# ------------------------------------------------------------------------------------------ video
@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True,
              help="A folder/ (one RGBA PNG per frame: 000000.png, ...), .webm (VP9 with alpha), .mov (ProRes "
                   "4444 with alpha) or .mp4 (H.264 on --bg, white if none).")
@click.option("-f", "--format", "fmt", default="png", show_default=True,
              help="png (cut-outs) or mask (the mattes: greyscale PNGs, or a greyscale video).")
@click.option("--bg", default=None, help="Background: a colour (white, #RRGGBB, r,g,b), green (the chroma-key "
              "green #00B140), transparent, or blur[:RADIUS]. Default: transparent; white for .mp4.")
@click.option("--bg-image", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Put this picture behind the subject (scaled to cover).")
@click.option("--refine", default=None, help="guided (default), none or matting (slow: seconds per frame).")
@click.option("--no-decontaminate", "decontaminate", flag_value=False, default=None,
              help="Keep the original colours at soft edges.")
@click.option("--threshold", type=float, default=None, help="Hard mask at this level (0..1).")
@click.option("--erode", type=int, default=None, help="Shrink the matte by PX.")
@click.option("--dilate", type=int, default=None, help="Grow the matte by PX.")
@click.option("-m", "--model", default=None, help="Model id (see `alphacut models list`).")
@click.option("--resolution", type=int, default=None, help="Side the model runs at (dynamic models only).")
@click.option("--fast", is_flag=True, help="Fast mode: the network on every 2nd frame (= --keyframes 2, at the "
              "model's usual resolution; add --resolution 768 for more speed), optical flow carries the matte "
              "between (see docs/VIDEO.md for what it costs).")
@click.option("--keyframes", type=click.IntRange(1, 30), default=None,
              help="Run the network on every Nth frame only (and on cuts); flow carries the matte between.")
@click.option("--no-steady", "steady", flag_value=False, default=True,
              help="Cut every frame on its own (no temporal steadying).")
@click.option("--no-audio", "audio", flag_value=False, default=True, help="Leave the sound out.")
@click.option("--threads", type=int, default=None, help="Inference threads (default: all cores).")
@click.option("--skip-existing", is_flag=True, help="Folder output: keep frames already written (resume).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
# refused for video with a clear message (they change a frame's size or framing):
@click.option("-p", "--preset", default=None, hidden=True)
@click.option("--crop", is_flag=True, default=None, hidden=True)
@click.option("--size", default=None, hidden=True)
@click.option("--fill", type=float, default=None, hidden=True)
@click.option("--shape", default=None, hidden=True)
@click.option("--outline", type=int, default=None, hidden=True)
@click.pass_context
def video(ctx: click.Context, source: Path, output: str, fmt: str, model: str | None, fast: bool,
          keyframes: int | None, steady: bool, audio: bool, threads: int | None, skip_existing: bool,
          overwrite: bool, quiet: bool, **fields: Any) -> None:
    """Cut out every frame of a video SOURCE (MP4, MOV, WebM, MKV, GIF), steady from frame to frame.

    \b
    alphacut video talk.mp4 -o talk.webm              # VP9 with alpha, for the web
    alphacut video talk.mp4 -o talk.mov               # ProRes 4444 with alpha, for editors
    alphacut video talk.mp4 -o talk-green.mp4 --bg green
    alphacut video talk.mp4 -o frames/ -f mask        # one matte PNG per frame
    """
    from .errors import OptionsError
    from .options import Options

    if skip_existing and overwrite:
        raise OptionsError("options.conflict", "--skip-existing and --overwrite exclude each other.")
    from .video._deps import require_av, require_cv2

    require_av()
    require_cv2()
    from .video.job import CHROMA_GREEN, VideoOptions, cut_video
    from .video.steady import SteadyOptions

    if fast:  # the network at a lower resolution failed on whole frames of 2 of 6 clips (docs/VIDEO.md)
        keyframes = keyframes or 2
    if str(fields.get("bg") or "").strip().lower() == "green":
        fields["bg"] = CHROMA_GREEN.hex()
    settings = _settings(ctx, model=model, threads=threads)
    options = Options.from_user(format=fmt, **fields)
    vopts = VideoOptions(steady=SteadyOptions(enabled=steady, keyframe_interval=keyframes or 1), audio=audio,
                         overwrite=overwrite, skip_existing=skip_existing)
    from .video.job import check_video_options

    check_video_options(options)
    remover = _remover(settings)
    if quiet or not sys.stderr.isatty():
        report = cut_video(source, output, remover, options, vopts)
    else:
        report = _video_with_progress(cut_video, source, output, remover, options, vopts)
    fps = report.frames / report.seconds if report.seconds > 0 else 0.0
    skipped = f" ({report.skipped} already there)" if report.skipped else ""
    click.echo(f"{report.frames} frames{skipped} in {report.seconds:.1f} s ({fps:.2f} fps, network on "
               f"{report.inferred}); written to {report.output}", err=True)


def _video_with_progress(run: Any, source: Path, output: str, remover: Any, options: Any, vopts: Any) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    class _Fps(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task: Any) -> Any:
            from rich.text import Text

            speed = task.finished_speed or task.speed
            return Text(f"{speed:.2f} fps" if speed else "-- fps")

    columns = (TextColumn("[bold]video"), BarColumn(), MofNCompleteColumn(), _Fps(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("video", total=None)

        def on_progress(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total if total and total >= done else None)

        return run(source, output, remover, options, vopts, on_progress=on_progress)


# ----------------------------------------------------------------------------------------- models
@main.group()
def models() -> None:
    """List, fetch, verify and add models."""


def _store(ctx: click.Context) -> Any:
    from .models.store import ModelStore

    settings = _settings(ctx.find_root())
    return ModelStore(settings.home_path, offline=bool(settings.offline.value))


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def models_list(ctx: click.Context, as_json: bool) -> None:
    """Every model in the catalog, whether it is cached, and its source."""
    import json

    store = _store(ctx)
    rows = []
    for spec, cached in store.entries():
        rows.append({"id": spec.id, "default": spec.id == store.catalog.default, "cached": cached,
                     "verified_here": spec.verified, "input_size": spec.input_size,
                     "size_mb": round(spec.size_bytes / 1e6, 1) if spec.size_bytes else None,
                     "source": spec.sources[0].describe(), "licence": spec.licence,
                     "origin": spec.origin, "description": spec.description})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r["id"]) for r in rows), default=0)
    for r in rows:
        flags = ("*" if r["default"] else " ") + ("C" if r["cached"] else " ")
        note = "" if r["verified_here"] or "not verified" in r["description"] else \
            "  [not verified on alphacut's machines]"
        size = f"{r['size_mb']:.0f} MB" if r["size_mb"] else "?"
        click.echo(f"{flags} {r['id']:<{width}} {r['input_size']:>5}px {size:>7}  {r['description']}{note}")
        click.echo(f"   {'':<{width}} licence: {r['licence']}")
        click.echo(f"   {'':<{width}} from:    {r['source']}")
    click.echo("\n* default   C cached   (docs/MODELS.md explains each licence)", err=True)


@models.command("fetch")
@click.argument("model_ids", nargs=-1)
@click.option("--force", is_flag=True, help="Fetch again even if cached.")
@click.pass_context
def models_fetch(ctx: click.Context, model_ids: tuple[str, ...], force: bool) -> None:
    """Download and verify MODEL_IDS (default: the default model)."""
    store = _store(ctx)
    for model_id in model_ids or (store.catalog.default,):
        if not force and store.is_cached(model_id):
            path = store.ensure(model_id)
            click.echo(f"{model_id}: cached and verified at {path}")
            continue
        click.echo(f"{model_id}: fetching ...", err=True)
        path = store.fetch(model_id, force=force)
        click.echo(f"{model_id}: verified at {path}")


@models.command("verify")
@click.argument("model_ids", nargs=-1)
@click.pass_context
def models_verify(ctx: click.Context, model_ids: tuple[str, ...]) -> None:
    """Re-hash cached models against the catalog (default: all cached)."""
    store = _store(ctx)
    ids = model_ids or tuple(spec.id for spec, cached in store.entries() if cached)
    if not ids:
        click.echo("No model is cached yet. Run `alphacut models fetch`.")
        return
    bad = 0
    for model_id in ids:
        result = store.verify(model_id)
        bad += not result.ok
        click.echo(f"{model_id}: {'ok' if result.ok else 'MISMATCH'} {result.detail}".rstrip())
    if bad:
        from .errors import ModelError

        raise ModelError("model.hash-mismatch", f"{bad} of {len(ids)} model(s) failed verification.",
                         hint="Fetch them again: `alphacut models fetch MODEL_ID`.")


@models.command("add")
@click.argument("model_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input-size", type=int, required=True, help="Square input side the model was trained on.")
@click.option("--mean", default="0.485,0.456,0.406", show_default=True, help="Per-channel mean of x/255.")
@click.option("--std", default="0.229,0.224,0.225", show_default=True, help="Per-channel std of x/255.")
@click.option("--output-index", type=int, default=0, show_default=True)
@click.option("--activation", type=click.Choice(["none", "sigmoid"]), default="none", show_default=True)
@click.option("--description", default="", help="One line for `models list`.")
@click.pass_context
def models_add(ctx: click.Context, model_id: str, file: Path, input_size: int, mean: str, std: str,
               output_index: int, activation: str, description: str) -> None:
    """Add your own ONNX model FILE as MODEL_ID (copied into the cache, hashed)."""
    from .errors import OptionsError

    def triple(text: str, name: str) -> tuple[float, float, float]:
        try:
            vals = [float(v) for v in text.split(",")]
        except ValueError:
            vals = []
        if len(vals) != 3:
            raise OptionsError("options.invalid", f"--{name} needs three numbers like 0.5,0.5,0.5.")
        return (vals[0], vals[1], vals[2])

    spec = _store(ctx).add(model_id, file, input_size=input_size, mean=triple(mean, "mean"),
                           std=triple(std, "std"), output_index=output_index, activation=activation,
                           description=description)
    click.echo(f"added {spec.id} ({spec.checksum})")


@models.command("remove")
@click.argument("model_id")
@click.pass_context
def models_remove(ctx: click.Context, model_id: str) -> None:
    """Delete a cached model (and the catalog entry of a model you added)."""
    _store(ctx).remove(model_id)
    click.echo(f"removed {model_id}")


@models.command("path")
@click.argument("model_id", required=False)
@click.pass_context
def models_path(ctx: click.Context, model_id: str | None) -> None:
    """Print the cache folder, or where MODEL_ID's file is."""
    store = _store(ctx)
    click.echo(store.path(model_id) if model_id else store.path(store.catalog.default).parent)


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON (per-image scores included).")
@click.pass_context
def eval_cmd(ctx: click.Context, images: Path | None, gt: Path | None, root: Path | None, pred: Path | None,
             save_pred: Path | None, model: str | None, resolution: int | None, refine: str | None,
             limit: int | None, as_json: bool) -> None:
    """Score cutouts against ground truth: MAE, max/mean F-beta, S-measure, E-measure (+ SAD, MSE, Grad)."""
    import json

    from .errors import OptionsError
    from .eval.sets import EvalSet, discover_sets, evaluate, evaluate_dir

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
            from .options import Options

            settings = _settings(ctx, model=model)
            remover = _remover(settings)
            opts = Options.from_user(resolution=resolution, refine=refine)
            names = {pair.image: (s.name, pair.stem) for s in sets for pair in s.pairs}

            def predict(path: Path) -> Any:
                alpha = remover.matte(path, opts)
                if save_pred is not None:
                    from PIL import Image

                    from .io.encode import encode_image
                    from .io.files import write_atomic
                    from .ops.pixels import float_to_u8
                    from .options import OutputFormat

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
          cutout: bool, model: str | None, threads: int | None, repeat: int, make_set: Path | None,
          write: Path | None, as_json: bool, peers_dir: Path | None) -> None:
    """alphacut vs peers on FOLDER: images/s, s/image warm, cold start, peak RSS and MAE, each in fresh processes."""
    import json
    import shlex

    from .errors import OptionsError

    if make_set is not None:
        from .eval.benchset import ensure_bench_set

        ensure_bench_set(make_set, folder)
    elif not folder.is_dir():
        from .errors import InputError

        raise InputError("input.not-found", f"{folder} is not a folder.",
                         hint="Pass a folder of images/ + gt/, or add --make-set ../shared/evaldata to build one.")
    peers = tuple(p.strip() for p in compare.split(",") if p.strip())
    if repeat < 1:
        raise OptionsError("options.invalid", f"--repeat {repeat} must be at least 1.")
    from .eval.bench import run_compare
    from .eval.report import to_json, to_markdown

    command = "alphacut " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    home = (ctx.obj or {}).get("home")
    report = run_compare(folder, gt=gt, peers=peers, fast=fast, resolution=resolution, model=model,
                         threads=threads, home=home, repeats=repeat, cutout=cutout, command=command,
                         peers_dir=peers_dir)
    text = to_markdown(report)
    click.echo(json.dumps(to_json(report), indent=2) if as_json else text)
    if write is not None:
        from .eval.report import splice_report
        from .io.files import write_atomic

        existing = write.read_text(encoding="utf-8") if write.is_file() else None
        write_atomic(write, splice_report(existing, text).encode())
        click.echo(f"wrote {write}", err=True)


# ----------------------------------------------------------------------------------------- doctor
@main.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Versions, CPU features, providers, settings, cache contents, offline state."""
    from .doctor import report

    for line in report(_settings(ctx), _store(ctx)):
        click.echo(line)


# ------------------------------------------------------------------------------------------ serve
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback exposes the server to your network.")
@click.option("--port", type=int, default=7000, show_default=True)
@click.option("--api-key", envvar="ALPHACUT_API_KEY", default=None,
              help="Require this X-Api-Key on API requests (ALPHACUT_API_KEY). The page itself stays public.")
@click.option("--workers", type=int, default=2, show_default=True, help="Images cut out at once (threads).")
@click.option("--queue", type=int, default=8, show_default=True, help="Requests that may wait; more get 503.")
@click.option("--max-upload-mb", type=float, default=25, show_default=True, help="Largest request body.")
@click.option("--timeout", type=float, default=120, show_default=True, help="Seconds per request before 504.")
@click.option("-m", "--model", default=None, help="Model id (default: the catalog default).")
@click.option("--threads", type=int, default=None, help="Inference threads per image (default: cores / workers).")
@click.option("--max-pixels", type=int, default=None, help="Refuse larger inputs (default 100 MP).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Also answer to this Host name (repeatable). Accepted without it: localhost, 127.0.0.1, "
                   "[::1] and the --host address; with --host 0.0.0.0 or ::, any IP address too. A port, if "
                   "sent, must be --port.")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="Also let the web page at this origin (http://host:port) call the API, with CORS "
                   "(repeatable). Without it, browsers may call only from the server's own page.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, api_key: str | None, workers: int, queue: int,
          max_upload_mb: float, timeout: float, model: str | None, threads: int | None,
          max_pixels: int | None, allow_hosts: tuple[str, ...], allow_origins: tuple[str, ...]) -> None:
    """Run the local server: the web page at /, /v1/remove, a remove.bg-compatible /v1.0/removebg, /docs.

    Other websites can't use it: a request whose Host is not this server's (DNS rebinding) or whose
    Origin is another page's is refused (403) before any work.
    """
    try:
        import uvicorn

        from .server.app import build_remover, create_app, default_model_file
        from .server.schemas import ServerSettings
    except ImportError as exc:
        from .errors import BackendError

        raise BackendError("backend.missing-extra", f"The server needs its extra: {exc.name} is missing.",
                           hint="pip install 'alphacut[server]'") from exc
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    settings = _settings(ctx, model=model, threads=threads, max_pixels=max_pixels)
    server_settings = ServerSettings(host=host, port=port, api_key=api_key or None, workers=workers, queue=queue,
                                     max_upload_bytes=int(max_upload_mb * 1024 * 1024), timeout_s=timeout,
                                     max_pixels=settings.max_pixels.value, allow_hosts=allow_hosts,
                                     allow_origins=allow_origins)
    if not server_settings.is_loopback:
        click.secho(f"WARNING: binding {host}: every machine that can reach this one can use the server"
                    f"{'' if api_key else ' (and no --api-key is set)'}. Use --host 127.0.0.1 to keep it local. "
                    "Other machines must address it by IP, or by a name given with --allow-host.",
                    fg="red", bold=True, err=True)
    logging.getLogger("alphacut.server").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # the page's private-mode model comes from the same cache (--home) as the server's own
    app = create_app(lambda: build_remover(settings), server_settings,
                     model_file=lambda model_id: default_model_file(model_id, settings))
    click.echo(f"alphacut serving on http://{'[' + host + ']' if ':' in host else host}:{port}/ "
               f"({workers} workers, {threads} threads each)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, server_header=False, log_level="warning")


def entry() -> NoReturn:
    """The `alphacut` console script: main(), then leave without tearing the process down.

    Once a command has returned, every result is written (write_atomic closes and renames its
    files) and only stdout/stderr may hold buffered text. Python's own exit would then destroy the
    onnxruntime session (its arena and thread pool) and every module: 0.8-1.1 s after a cutout on
    a loaded 2-core machine, i.e. a third of a cold start. The streams and logging are flushed and
    os._exit ends the process; the kernel reclaims the memory. In-process callers (tests,
    CliRunner) use `main`, which exits normally.
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


if __name__ == "__main__":  # pragma: no cover
    entry()
