"""The `alphacut` command. Imports stay lazy so `alphacut --help` is instant."""

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

from ..options import FAST_GUIDE_MIN_PIXELS, FAST_MODEL, FAST_RESOLUTION, FAST_RESOLUTION_NO_DOT_PRODUCT

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


# ----------------------------------------------------------------------------------------- remove
@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", "output", default=None,
              help="Output folder (mirrors input folders), a file name for one input, or - for stdout. "
                   "Default: beside each input as NAME.cutout.EXT.")
@_table_options("image", "format", "preset", "bg", "bg_image", "crop", "margin", "roi", "scale", "position",
                "max_output_pixels", "size", "fit", "fill", "shape", "outline", "refine", "quality",
                "decontaminate", "threshold", "erode", "dilate", "min_area", "largest", "subject")
@click.option("--layers", is_flag=True, help="Also write one RGBA file per subject: NAME.subject-N.png.")
@click.option("-m", "--model", default=None, help="Model id (see `alphacut models list`).")
@_table_options("image", "resolution")
@click.option("--fast", is_flag=True, help=f"Fast mode: the model at {FAST_RESOLUTION} px instead of 1024 "
              f"({FAST_RESOLUTION_NO_DOT_PRODUCT} px on CPUs without VNNI/AMX, e.g. AVX2-only: `alphacut doctor` "
              "says which); about 1.6x faster, a little less accurate on small and thin subjects; masks (-f mask) of "
              "large JPEGs are refined on a 1/2 decode (docs/PERFORMANCE.md).")
@click.option("--threads", type=int, default=None, help="Inference threads (default: all cores).")
@_runtime_option
@_table_options("image", "max_pixels")
@click.option("--max-bytes", default=None, metavar="SIZE",
              help="Refuse larger files or stdin, read no further (default 400M; ALPHACUT_MAX_BYTES).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Refuse an image whose estimated peak memory is above this (default: the memory available "
                   "now; ALPHACUT_MAX_MEMORY). docs/LIMITS.md.")
@click.option("--skip-existing", is_flag=True, help="Keep outputs that already exist.")
@click.option("--overwrite", is_flag=True, help="Replace outputs that already exist.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, only errors and the summary.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the batch summary as JSON on stdout (counts, seconds, per-file outcome and stage times).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the batch on a Ray cluster: auto, host:port or ray://host:10001; alone, a local Ray "
                   "started for the job. Put it after the inputs (or write --ray=ADDRESS). Paths must be on a "
                   "filesystem every node shares. --threads is then each actor's CPUs. Needs alphacut[ray].")
@click.pass_context  # type: ignore[arg-type]  # mypy: **fields vs click's ParamSpec
def remove(ctx: click.Context, inputs: tuple[str, ...], output: str | None, fmt: str, model: str | None,
           threads: int | None, runtime: str | None, max_pixels: int | None, max_bytes: str | None, max_memory: str | None,
           skip_existing: bool, overwrite: bool, quiet: bool,
           layers: bool, fast: bool, as_json: bool, ray_address: str | None, **fields: Any) -> None:
    """Cut out INPUTS: files, folders (recursive), globs, or - for stdin.

    A folder is walked recursively, leaving out hidden entries and the output folder when it lies
    inside it (-o tree/out). Symbolic links are followed only within the folder: a link to a file
    inside it is processed, a link to a folder is not walked (what it points to inside the folder is
    walked anyway), and a link that leads outside is skipped and listed in the summary.
    """
    from ..errors import OptionsError
    from ..options import Options

    if skip_existing and overwrite:
        raise OptionsError("options.conflict", "--skip-existing and --overwrite exclude each other.")
    if fast:
        from ..runtime.kernels import fast_resolution

        model = model or FAST_MODEL
        fields["resolution"] = fields.get("resolution") or fast_resolution()
        fields["guide_min_pixels"] = FAST_GUIDE_MIN_PIXELS  # masks of large JPEGs: refined on a 1/2 decode
    settings = _settings(ctx, model=model, threads=threads, max_pixels=max_pixels, max_bytes=max_bytes,
                         max_memory=max_memory, runtime=runtime)
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
    from ..presets import PRESETS

    for p in PRESETS.values():
        click.echo(f"{p.name:<14} {p.description}")


def _remover(settings: Settings, *, spin_wait: bool | None = None, options: Any = None) -> Any:
    """The command's Remover; `options` (those of every image) let the model be compiled for their
    resolution (--fast, --resolution) while it loads, instead of at the first image."""
    from ..api import Remover

    return Remover(settings=settings, spin_wait=spin_wait, options=options)


def _stdin_is(path: Path) -> bool:
    """Whether stdin is the file at path (`alphacut remove - -o in.jpg < in.jpg`)."""
    try:
        a, b = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no real stdin (e.g. in-process tests), or no file yet
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _remove_stdio(inputs: tuple[str, ...], output: str | None, options: Any, settings: Settings, *,
                  skip_existing: bool, overwrite: bool) -> None:
    from ..errors import OptionsError, OutputError
    from ..io.files import write_atomic

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
    from ..io.decode import read_bounded

    remover = _remover(settings, options=options)  # the model loads in the background while stdin is read
    data = read_bounded(sys.stdin.buffer, int(settings.max_bytes.value), "stdin")
    limit = _memory_limit(settings)()
    if limit is not None:
        remover._check_memory(data, options, limit[0], limit_text=limit[1], hint=limit[2])
    result = remover.remove_bytes(data, options)
    if output in (None, "-"):
        sys.stdout.buffer.write(result)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(output), result)


def _memory_limit(settings: Settings) -> Any:
    """What each image's estimated peak memory is checked against: --max-memory, else what is available now."""
    from ..cost import available_memory_bytes

    hint = ("Lower --resolution or --max-pixels, downscale the image, close other programs, or set --max-memory "
            "if the estimate is too careful (docs/LIMITS.md).")
    fixed = settings.max_memory.value

    def limit() -> tuple[int, str, str] | None:
        if fixed is not None:
            return int(fixed), f"--max-memory ({settings.max_memory.source.value})", hint
        available = available_memory_bytes()
        return (available, "the memory available now", hint) if available is not None else None

    return limit


def _file_jobs(inputs: tuple[str, ...], output: str | None, options: Any) -> tuple[list[Any], Path | None]:
    """The (src, dst) jobs for INPUTS and -o, as the local batch and --ray both run them."""
    from ..io.files import IMAGE_SUFFIXES, Job, collect_jobs

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
    remover = _remover(settings, spin_wait=False, options=options)
    from ..batch import Outcome, run_batch
    from ..io.files import SYMLINK_OUTSIDE

    summary = _run_with_progress(run_batch, remover, jobs, options, skip_existing, overwrite, quiet, layers,
                                 memory_limit=_memory_limit(settings))
    done, skipped, failed = (summary.count(Outcome.DONE), summary.count(Outcome.SKIPPED),
                             summary.count(Outcome.FAILED))
    for r in summary.results:
        if r.outcome is Outcome.SKIPPED and r.code == SYMLINK_OUTSIDE:
            click.echo(f"skipped: {r.message}", err=True)
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
    from ..errors import OptionsError

    if "-" in inputs or output == "-":
        raise OptionsError("options.conflict", "--ray works on files and folders, not stdin/stdout (-).",
                           hint="Pass file or folder names and an output folder with -o.")
    from ..distributed import import_ray

    import_ray()  # the missing extra is reported before any file is looked at
    from ..distributed.uris import is_uri, uri_jobs

    jobs: Any
    out_path: str | Path | None
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
    from ..batch import Outcome
    from ..distributed import run_jobs

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
                       overwrite: bool, quiet: bool, layers: bool, memory_limit: Any = None) -> Any:
    if quiet or not sys.stderr.isatty():
        return run_batch(remover, jobs, options, skip_existing=skip_existing, overwrite=overwrite, layers=layers,
                         memory_limit=memory_limit)
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
                         layers=layers, on_item=lambda _r: progress.advance(task), memory_limit=memory_limit)


# ------------------------------------------------------------------------------------------ video
@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True,
              help="A folder/ (one RGBA PNG per frame: 000000.png, ...), .webm (VP9 with alpha), .mov (ProRes "
                   "4444 with alpha) or .mp4 (H.264 on --bg, white if none).")
@_table_options("video", "format", "bg", "bg_image", "refine", "decontaminate", "threshold", "erode", "dilate")
@click.option("-m", "--model", default=None, help="Model id (see `alphacut models list`).")
@_table_options("video", "resolution")
@click.option("--fast", is_flag=True, help="Fast mode: the network on every 2nd frame (= --keyframes 2, at the "
              "model's usual resolution; add --resolution 768 for more speed), optical flow carries the matte "
              "between (see docs/VIDEO.md for what it costs).")
@click.option("--keyframes", type=click.IntRange(1, 30), default=None,
              help="Run the network on every Nth frame only (and on cuts); flow carries the matte between.")
@click.option("--no-steady", "steady", flag_value=False, default=True,
              help="Cut every frame on its own (no temporal steadying).")
@click.option("--no-audio", "audio", flag_value=False, default=True, help="Leave the sound out.")
@click.option("--threads", type=int, default=None, help="Inference threads (default: all cores).")
@_runtime_option
@click.option("--skip-existing", is_flag=True, help="Folder output: keep frames already written (resume).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
# refused for video with a clear message (they change a frame's size or framing):
@_table_options("video", "preset", "crop", "size", "fill", "shape", "outline")
@click.pass_context  # type: ignore[arg-type]  # mypy: **fields vs click's ParamSpec
def video(ctx: click.Context, source: Path, output: str, fmt: str, model: str | None, fast: bool,
          keyframes: int | None, steady: bool, audio: bool, threads: int | None, runtime: str | None,
          skip_existing: bool, overwrite: bool, quiet: bool, **fields: Any) -> None:
    """Cut out every frame of a video SOURCE (MP4, MOV, WebM, MKV, GIF), steady from frame to frame.

    \b
    alphacut video talk.mp4 -o talk.webm              # VP9 with alpha, for the web
    alphacut video talk.mp4 -o talk.mov               # ProRes 4444 with alpha, for editors
    alphacut video talk.mp4 -o talk-green.mp4 --bg green
    alphacut video talk.mp4 -o frames/ -f mask        # one matte PNG per frame
    """
    from ..errors import OptionsError
    from ..options import Options

    if skip_existing and overwrite:
        raise OptionsError("options.conflict", "--skip-existing and --overwrite exclude each other.")
    from ..video._deps import require_av, require_cv2

    require_av()
    require_cv2()
    from ..video.job import CHROMA_GREEN, VideoOptions, cut_video
    from ..video.steady import SteadyOptions

    if fast:  # the network at a lower resolution failed on whole frames of 2 of 6 clips (docs/VIDEO.md)
        keyframes = keyframes or 2
    if str(fields.get("bg") or "").strip().lower() == "green":
        fields["bg"] = CHROMA_GREEN.hex()
    settings = _settings(ctx, model=model, threads=threads, runtime=runtime)
    options = Options.from_user(format=fmt, **fields)
    vopts = VideoOptions(steady=SteadyOptions(enabled=steady, keyframe_interval=keyframes or 1), audio=audio,
                         overwrite=overwrite, skip_existing=skip_existing)
    from ..video.job import check_video_options

    check_video_options(options)
    remover = _remover(settings, options=options)
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
    from ..models.store import ModelStore

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
                     "description": spec.description})
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
    click.echo("\n* default   C cached", err=True)


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
        from ..errors import ModelError

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
    from ..errors import OptionsError

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
            remover = _remover(settings)
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


# ----------------------------------------------------------------------------------------- doctor
@main.command()
@_runtime_option
@click.pass_context
def doctor(ctx: click.Context, runtime: str | None) -> None:
    """Versions, CPU features, the inference runtime (which, precision, ISA, why), settings, cache, offline state."""
    from ..doctor import report

    for line in report(_settings(ctx, runtime=runtime), _store(ctx)):
        click.echo(line)


# ------------------------------------------------------------------------------------------ serve
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback exposes the server to your network.")
@click.option("--port", type=int, default=7000, show_default=True)
@click.option("--api-key", envvar="ALPHACUT_API_KEY", default=None,
              help="Require this X-Api-Key on API requests. The page itself stays public. Prefer ALPHACUT_API_KEY "
                   "or --api-key-file: a flag shows in `ps`.")
@click.option("--api-key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Read the API key from this file (its first line).")
@click.option("--workers", type=int, default=2, show_default=True, help="Images cut out at once (threads).")
@click.option("--queue", type=int, default=8, show_default=True, help="Requests that may wait; more get 503.")
@click.option("--max-bytes", default=None, metavar="SIZE",
              help="Largest image (file part, body, base64 decoded); default 400M (ALPHACUT_MAX_BYTES).")
@click.option("--max-upload-mb", type=float, default=None, hidden=True, help="Older name of --max-bytes, in MiB.")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory the requests in flight may need together (estimated per request; over it: 413 or 503). "
                   "Default: 2.5G per worker, at most half the RAM (ALPHACUT_MAX_MEMORY).")
@click.option("--max-resolution", type=int, default=2048, show_default=True,
              help="Largest `resolution` a request may ask for.")
@click.option("--timeout", type=float, default=120, show_default=True, help="Seconds per request before 504.")
@click.option("--read-timeout", type=float, default=60, show_default=True,
              help="Seconds a client has to send its whole request body (408 after).")
@click.option("-m", "--model", default=None, help="Model id (default: the catalog default).")
@click.option("--threads", type=int, default=None, help="Inference threads per image (default: cores / workers).")
@_runtime_option
@click.option("--max-pixels", type=int, default=None, help="Refuse larger inputs (default 100 MP).")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME[:PORT]",
              help="Also answer to this Host name (repeatable). Accepted without it: localhost, 127.0.0.1, "
                   "[::1] and the --host address; with --host 0.0.0.0 or ::, any IP address too. A port, if "
                   "sent, must be --port.")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="Also let the web page at this origin (http://host:port) call the API, with CORS "
                   "(repeatable). Without it, browsers may call only from the server's own page.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, api_key: str | None, api_key_file: Path | None, workers: int,
          queue: int, max_bytes: str | None, max_upload_mb: float | None, max_memory: str | None, max_resolution: int,
          timeout: float, read_timeout: float, model: str | None, threads: int | None, runtime: str | None,
          max_pixels: int | None, allow_hosts: tuple[str, ...], allow_origins: tuple[str, ...]) -> None:
    """Run the local server: the web page at /, /v1/remove, a remove.bg-compatible /v1.0/removebg, /docs.

    Other websites can't use it: a request whose Host is not this server's (DNS rebinding) or whose
    Origin is another page's is refused (403) before any work.
    """
    try:
        import uvicorn

        from ..server.app import build_remover, create_app, default_model_file
        from ..server.schemas import ServerSettings
    except ImportError as exc:
        from ..errors import BackendError

        raise BackendError("backend.missing-extra", f"The server needs its extra: {exc.name} is missing.",
                           hint="pip install 'alphacut[server]'") from exc
    threads = threads or max(1, (os.cpu_count() or 1) // max(1, workers))
    if max_upload_mb is not None and max_bytes is None:
        max_bytes = str(int(max_upload_mb * 1024 * 1024))
    settings = _settings(ctx, model=model, threads=threads, max_pixels=max_pixels, max_bytes=max_bytes,
                         max_memory=max_memory, runtime=runtime)
    if api_key_file is not None:
        from ..errors import OptionsError

        lines = api_key_file.read_text(encoding="utf-8", errors="replace").splitlines()
        api_key = lines[0].strip() if lines else ""
        if not api_key:
            raise OptionsError("options.invalid", f"--api-key-file {api_key_file}: the first line is empty.",
                               hint="Put the key on the file's first line.")
    server_settings = ServerSettings(host=host, port=port, api_key=api_key or None, workers=workers, queue=queue,
                                     max_bytes=int(settings.max_bytes.value), timeout_s=timeout,
                                     max_memory=settings.max_memory.value, max_resolution=max_resolution,
                                     read_timeout_s=read_timeout,
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
    app = create_app(lambda: build_remover(settings, workers=workers), server_settings,
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

