"""`alphacut remove`: files, folders and globs (a batch), stdin/stdout, or a Ray cluster (--ray)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .. import cli
from ..options import FAST_GUIDE_MIN_PIXELS, FAST_MODEL, FAST_RESOLUTION, FAST_RESOLUTION_NO_DOT_PRODUCT
from . import _runtime_option, _settings, _table_options, main

if TYPE_CHECKING:
    from ..config import Settings


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

    remover = cli._remover(settings, options=options)  # the model loads in the background while stdin is read
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
    # not spin: the batch's decode and write threads need the cores (docs/studies/performance-rounds.md,
    # "`--fast`'s whole process, round s18").
    remover = cli._remover(settings, spin_wait=False, options=options)
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
