"""`alphacut video` end to end with the fake backend: every output kind, timing, sound, rotation, errors."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from alphacut import cli
from alphacut.api import Remover
from alphacut.models.catalog import ModelSpec
from alphacut.runtime.fake import FakeBackend

from .conftest import make_clip, square_frame

av = pytest.importorskip("av")


@pytest.fixture(autouse=True)
def _fake(monkeypatch: pytest.MonkeyPatch, tiny_spec: ModelSpec) -> None:
    monkeypatch.setattr(cli, "_remover", lambda settings, **_: Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))))


def run(*args: str) -> object:
    return CliRunner().invoke(cli.main, ["video", *map(str, args)], catch_exceptions=False)


def streams(path: Path) -> dict[str, object]:
    """pts of every video frame, codecs, the first frame's rotation, the alpha of every frame (if any)."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        codecs = [s.codec_context.name for s in c.streams]
        tb = v.time_base
        frames = list(c.decode(v))
        times = [float(f.pts * tb) for f in frames]
        rotation = frames[0].rotation
    alphas = []
    if codecs[0] == "vp9":  # FFmpeg's own vp9 decoder drops the alpha plane: libvpx keeps it
        with av.open(str(path)) as c:
            dec = av.CodecContext.create("libvpx-vp9", "r")
            for packet in c.demux(c.streams.video[0]):
                alphas += [f.to_ndarray(format="rgba")[:, :, 3] for f in dec.decode(packet)]
    elif frames[0].format.name.startswith("yuva"):
        alphas = [f.to_ndarray(format="rgba")[:, :, 3] for f in frames]
    return {"times": times, "codecs": codecs, "rotation": rotation, "alphas": alphas}


@pytest.mark.parametrize("suffix, codecs", [(".webm", ["vp9", "opus"]), (".mov", ["prores", "aac"]),
                                            (".mp4", ["h264", "aac"])])
def test_video_files_keep_frames_times_and_sound(tmp_path: Path, suffix: str, codecs: list[str]) -> None:
    src = make_clip(tmp_path / "in.mp4", frames=7, audio=True)
    out = tmp_path / f"out{suffix}"
    result = run(src, "-o", out)
    assert result.exit_code == 0, result.output
    got, want = streams(out), streams(src)
    assert got["codecs"] == codecs
    assert len(got["times"]) == 7
    assert np.allclose(got["times"], want["times"], atol=1e-3)
    if suffix != ".mp4":  # alpha decoded back: the square opaque, the light background clear
        assert len(got["alphas"]) == 7
        a = got["alphas"][0]
        assert a[32, 30] > 200 and a[4, 4] < 40 and a[60, 90] < 40
    assert not list(tmp_path.glob(".*part*"))


def test_variable_frame_rate_is_kept(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 400, 410]  # ms: gaps and a burst
    src = make_clip(tmp_path / "vfr.mkv", pts=pts, fmt="matroska", time_base=Fraction(1, 1000))
    for name in ("out.webm", "out.mp4"):
        assert run(src, "-o", tmp_path / name).exit_code == 0
        assert np.allclose(streams(tmp_path / name)["times"], [p / 1000 for p in pts], atol=1e-3)


def test_rotation_is_kept_and_frames_are_cut_upright(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "rot.mp4", rotation=90)
    assert run(src, "-o", tmp_path / "out.mov").exit_code == 0
    got = streams(tmp_path / "out.mov")
    assert got["rotation"] == 90
    assert got["alphas"][0].shape == (64, 96)  # stored orientation, as the input
    assert run(src, "-o", tmp_path / "frames/").exit_code == 0
    import cv2

    png = cv2.imread(str(tmp_path / "frames" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert png.shape == (96, 64, 4)  # the folder holds upright frames


def test_folder_of_pngs_and_masks(tmp_path: Path, clip: Path) -> None:
    import cv2

    assert run(clip, "-o", tmp_path / "rgba/").exit_code == 0
    assert run(clip, "-o", tmp_path / "masks/", "-f", "mask").exit_code == 0
    names = [f"{i:06d}.png" for i in range(6)]
    assert sorted(p.name for p in (tmp_path / "rgba").iterdir()) == names
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == names
    rgba = cv2.imread(str(tmp_path / "rgba" / "000000.png"), cv2.IMREAD_UNCHANGED)
    mask = cv2.imread(str(tmp_path / "masks" / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (64, 96, 4) and mask.shape == (64, 96)
    assert np.abs(rgba[:, :, 3].astype(int) - mask).max() <= 1


def test_resume_writes_only_missing_frames(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "frames"
    assert run(clip, "-o", f"{out}/").exit_code == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    for name in ("000003.png", "000004.png"):
        (out / name).unlink()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = run(clip, "-o", f"{out}/", "--skip-existing")
    assert result.exit_code == 0 and "4 already there" in result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(first)
    assert all((out / n).stat().st_mtime_ns == t for n, t in before.items())
    import cv2

    for name in ("000003.png", "000004.png"):  # the steadying state came from the frames kept: same mattes
        again = cv2.imdecode(np.frombuffer((out / name).read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
        before_cut = cv2.imdecode(np.frombuffer(first[name], np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.abs(again[:, :, 3].astype(int) - before_cut[:, :, 3]).max() <= 2
    refused = run(clip, "-o", f"{out}/")
    assert refused.exit_code == 6 and "output.exists" in refused.output


def test_one_frame_and_no_audio(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "one.mp4", frames=1)
    assert run(src, "-o", tmp_path / "one.webm").exit_code == 0
    got = streams(tmp_path / "one.webm")
    assert len(got["times"]) == 1 and got["codecs"] == ["vp9"]


def test_no_audio_flag_drops_the_sound(tmp_path: Path) -> None:
    src = make_clip(tmp_path / "in.mp4", audio=True)
    assert run(src, "-o", tmp_path / "out.mp4", "--no-audio").exit_code == 0
    assert streams(tmp_path / "out.mp4")["codecs"] == ["h264"]


@pytest.mark.parametrize("args, code, exit_code", [
    (["--crop"], "options.video-geometry", 2),
    (["--size", "100x100"], "options.video-geometry", 2),
    (["--preset", "ecommerce"], "options.video-geometry", 2),
    (["-f", "jpg"], "options.invalid", 2),
])
def test_options_that_change_the_frame_are_refused(tmp_path: Path, clip: Path, args: list[str], code: str,
                                                   exit_code: int) -> None:
    result = run(clip, "-o", tmp_path / "out.webm", *args)
    assert result.exit_code == exit_code and code in result.output
    assert not (tmp_path / "out.webm").exists()


def test_bad_inputs_give_clear_errors(tmp_path: Path, clip: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\\x00not a video" * 100)
    result = run(garbage, "-o", tmp_path / "o.webm")
    assert result.exit_code == 3 and "input.undecodable" in result.output

    missing = run(tmp_path / "nope.mp4", "-o", tmp_path / "o.webm")
    assert missing.exit_code == 3 and "input.not-found" in missing.output

    audio_only = tmp_path / "tone.m4a"
    with av.open(str(audio_only), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=48000)
        s.layout = "mono"
        f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        f.sample_rate = 48000
        f.pts = 0
        for p in [*s.encode(f), *s.encode()]:
            out.mux(p)
    result = run(audio_only, "-o", tmp_path / "o.webm")
    assert result.exit_code == 3 and "input.no-video" in result.output

    truncated = tmp_path / "truncated.mp4"  # the index (moov) is at the end: cut off, unreadable
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    result = run(truncated, "-o", tmp_path / "o.webm")
    assert result.exit_code == 3 and "input" in result.output
    assert not (tmp_path / "o.webm").exists() and not list(tmp_path.glob(".o.webm*"))

    result = run(clip, "-o", tmp_path / "o.avi")
    assert result.exit_code == 2 and "options.invalid" in result.output


def test_animated_gif_input(tmp_path: Path) -> None:
    src = tmp_path / "in.gif"
    with av.open(str(src), "w", format="gif") as out:
        s = out.add_stream("gif", rate=10)
        s.width, s.height, s.pix_fmt = 96, 64, "rgb8"
        for t in range(4):
            for p in s.encode(av.VideoFrame.from_ndarray(square_frame(t), format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    result = run(src, "-o", tmp_path / "out.webm")
    assert result.exit_code == 0, result.output
    assert len(streams(tmp_path / "out.webm")["times"]) == 4


def test_fast_is_keyframes_2_at_the_models_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphacut.video import job

    seen: dict[str, object] = {}
    real = job.cut_video

    def spy(source: Path, output: str, remover: Remover, options: object, vopts: job.VideoOptions) -> object:
        seen.update(options=options, vopts=vopts)
        return real(source, output, remover, options, vopts)  # type: ignore[arg-type]

    monkeypatch.setattr(job, "cut_video", spy)
    src = make_clip(tmp_path / "in.mp4", frames=7)
    result = run(src, "-o", f"{tmp_path / 'frames'}/", "-f", "mask", "--fast", "-q")
    assert result.exit_code == 0, result.output
    assert seen["vopts"].steady.keyframe_interval == 2  # type: ignore[attr-defined]
    assert seen["options"].resolution is None  # type: ignore[attr-defined]
    assert len(list((tmp_path / "frames").glob("*.png"))) == 7
