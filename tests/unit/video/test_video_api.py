"""The library side: alphacut.remove_video(...), the FrameCutter iterator, the steadying itself, the missing extra."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import alphacut
from alphacut.api import Remover
from alphacut.errors import BackendError, OptionsError
from alphacut.video.steady import MatteStabilizer, SteadyOptions

from .conftest import square_frame


def test_remove_video_writes_the_clip(tmp_path: Path, clip: Path, fake_remover: Remover) -> None:
    report = alphacut.remove_video(clip, tmp_path / "out.mp4", remover=fake_remover, bg="green")
    assert report.frames == 6 and report.inferred == 6 and (tmp_path / "out.mp4").is_file()
    assert alphacut.video.FrameCutter is not None


def test_the_old_spelling_alphacut_video_still_works_with_a_deprecation_warning(
        tmp_path: Path, clip: Path, fake_remover: Remover) -> None:
    with pytest.warns(DeprecationWarning, match="remove_video"):
        report = alphacut.video(clip, tmp_path / "out.mp4", remover=fake_remover, bg="green")
    assert report.frames == 6 and (tmp_path / "out.mp4").is_file()


def test_frame_cutter_keeps_state_and_skips_the_network_between_keyframes(fake_remover: Remover) -> None:
    cutter = alphacut.video.FrameCutter(fake_remover, steady=SteadyOptions(keyframe_interval=3))
    frames = [square_frame(t) for t in range(7)]
    cutouts = list(cutter.cut_all(frames))
    assert len(cutouts) == 7 and cutter.inferred == 3  # frames 0, 3, 6
    for t, c in enumerate(cutouts):  # the carried matte follows the moving square
        a = c.alpha
        x0 = 16 + 2 * t
        assert a[32, x0 + 4] > 0.8 and a[32, x0 - 6] < 0.2, t
    assert np.asarray(cutouts[0].image).shape == (64, 96, 4)


def test_bg_image_is_decoded_once_per_clip_and_shows_behind_the_subject(
        tmp_path: Path, fake_remover: Remover, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphacut import composition
    from alphacut.options import Background, Options

    picture = tmp_path / "bg.png"
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 1] = 200  # green
    from PIL import Image
    Image.fromarray(rgb).save(picture)
    calls = []
    real = composition.decode_image
    monkeypatch.setattr(composition, "decode_image", lambda *a, **k: calls.append(a) or real(*a, **k))
    cutter = alphacut.video.FrameCutter(fake_remover, Options(background=Background.picture(str(picture))))
    cutouts = list(cutter.cut_all(square_frame(t) for t in range(5)))
    pictures = [a for a in calls if isinstance(a[0], str) and a[0] == str(picture)]
    assert len(pictures) == 1, calls  # not once per frame
    out = np.asarray(cutouts[-1].image)
    assert out.shape == (64, 96, 3) and out[2, 2, 1] > 150 and out[2, 2, 0] < 50  # the picture behind


def test_frame_size_options_are_refused(fake_remover: Remover) -> None:
    with pytest.raises(OptionsError) as err:
        alphacut.video.FrameCutter(fake_remover, alphacut.Options(crop=True))
    assert err.value.code == "options.video-geometry"


def test_steadying_removes_flicker_on_a_still_subject_and_follows_a_moving_one() -> None:
    rng = np.random.default_rng(0)
    stab = MatteStabilizer(SteadyOptions(keep=0.6))
    truth = np.zeros((64, 96), np.float32)
    truth[16:48, 30:60] = 1
    outs, raws = [], []
    for _ in range(10):  # a still frame, the network's matte jittering (σ 0.05, within agree_tol)
        raw = np.clip(truth + rng.normal(0, 0.05, truth.shape).astype(np.float32), 0, 1)
        outs.append(stab.step(square_frame(7), raw)[0])
        raws.append(raw)
    jitter_raw = np.mean([np.abs(raws[t] - raws[t - 1]).mean() for t in range(5, 10)])
    jitter_out = np.mean([np.abs(outs[t] - outs[t - 1]).mean() for t in range(5, 10)])
    assert jitter_out < 0.5 * jitter_raw
    # a jump to an unrelated frame is a cut: the new matte is taken as it is
    other = np.full((64, 96, 3), 20, np.uint8)
    other[::4] = 250
    new = np.zeros_like(truth)
    out, info = stab.step(other, new)
    assert info.reset and np.array_equal(out, new)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clip: Path) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av now raises ImportError
    with pytest.raises(BackendError) as err:
        alphacut.remove_video(clip, tmp_path / "o.webm")
    assert err.value.code == "backend.missing-extra" and "alphacut[video]" in (err.value.hint or "")
