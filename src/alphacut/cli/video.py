"""`alphacut video`: a video file in, a cut-out video (or a folder of frames) out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import cli
from . import _runtime_option, _settings, _table_options, main


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
    remover = cli._remover(settings, options=options)
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
