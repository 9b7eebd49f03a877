"""MatteWindow: the bidirectional, k-frame-delay steadying (video/steady.py)."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.api import Remover
from alphacut.errors import OptionsError
from alphacut.video.steady import MatteWindow, SteadyOptions

from .conftest import square_frame


def _square_truth(t: int, w: int = 96, h: int = 64) -> np.ndarray:
    a = np.zeros((h, w), np.float32)
    x0 = 16 + 2 * t
    a[h // 4: 3 * h // 4, x0: x0 + w // 3] = 1
    return a


def _run(win: MatteWindow[int], frames: list[np.ndarray], mattes: list[np.ndarray]) -> list[tuple[int, np.ndarray]]:
    out: list[tuple[int, np.ndarray]] = []
    for i, (f, m) in enumerate(zip(frames, mattes)):
        got = win.push(f, m, i)
        assert len(got) == (1 if i >= win.options.lookahead else 0)  # one frame out per frame in, k late
        out += got
    return out + win.flush()


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_every_frame_comes_out_once_in_order(k: int) -> None:
    frames = [square_frame(t) for t in range(7)]
    out = _run(MatteWindow(SteadyOptions(lookahead=k)), frames, [_square_truth(t) for t in range(7)])
    assert [i for i, _ in out] == list(range(7))


def test_noise_on_a_still_subject_is_averaged_away() -> None:
    rng = np.random.default_rng(0)
    truth = 0.2 + 0.6 * _square_truth(3)  # away from 0 and 1: the noise is not clipped (biased)
    mattes = [truth + rng.normal(0, 0.05, truth.shape).astype(np.float32) for _ in range(9)]
    out = _run(MatteWindow(SteadyOptions(lookahead=2)), [square_frame(3)] * 9, mattes)
    jitter_in = np.mean([np.abs(mattes[t] - mattes[t - 1]).mean() for t in range(3, 7)])
    jitter_out = np.mean([np.abs(out[t][1] - out[t - 1][1]).mean() for t in range(3, 7)])
    assert jitter_out < 0.6 * jitter_in
    assert np.abs(out[4][1] - truth).mean() < np.abs(mattes[4] - truth).mean()


def test_a_moving_subject_is_followed_without_ghosts() -> None:
    frames = [square_frame(t) for t in range(8)]
    out = _run(MatteWindow(SteadyOptions(lookahead=2)), frames, [_square_truth(t) for t in range(8)])
    for t, (_, a) in enumerate(out):  # exact mattes in: the neighbours, warped, agree with them
        assert np.abs(a - _square_truth(t)).mean() < 0.01, t


def test_frames_across_a_cut_are_not_mixed() -> None:
    other = np.full((64, 96, 3), 20, np.uint8)
    other[::4] = 250
    frames = [square_frame(3)] * 4 + [other] * 4
    mattes = [np.full((64, 96), 0.3, np.float32)] * 4 + [np.full((64, 96), 0.7, np.float32)] * 4
    out = _run(MatteWindow(SteadyOptions(lookahead=2, window_agree_tol=None)), frames, mattes)
    for t, (_, a) in enumerate(out):
        assert np.allclose(a, mattes[t], atol=1e-4), t


def test_lookahead_is_bounded() -> None:
    with pytest.raises(OptionsError):
        SteadyOptions(lookahead=9)


def test_frame_cutter_returns_every_frame_late_and_counts_the_cut(fake_remover: Remover) -> None:
    import alphacut

    other = np.full((64, 96, 3), 20, np.uint8)
    other[::4] = 250
    frames = [square_frame(t) for t in range(4)] + [other] * 3
    cutter = alphacut.video.FrameCutter(fake_remover)
    got = []
    for i, rgb in enumerate(frames):
        got += [tok for tok, _ in cutter.push(rgb, cutter.prepare(rgb), cutter.infer(cutter.prepare(rgb)), i)]
        assert len(got) == max(0, i - 1)  # two frames of look-ahead
    got += [tok for tok, _ in cutter.drain()]
    assert got == list(range(7)) and cutter.resets == 2  # the first frame and the cut
