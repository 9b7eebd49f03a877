"""`alphacut video` with the real model on the clip built from the bundled samples (astronaut over a
panning rocket, H.264 + AAC, the subject cut by the frame's bottom edge): every frame written, the
matte close to the clip's truth, steadier than the same pipeline frame by frame, sound kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.model

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

REPO = Path(__file__).resolve().parents[2]


def _masks(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255 for p in sorted(folder.glob("*.png"))]


def test_samples_clip_end_to_end(tmp_path: Path, real_remover) -> None:
    import alphacut
    from alphacut.eval.video_clips import samples_clip
    from alphacut.video.metrics import score_clip

    still = real_remover.matte(str(REPO / "samples" / "astronaut.jpg"))
    info = samples_clip(REPO / "samples", tmp_path / "clip", frames=6, matte=still)
    clip = tmp_path / "clip" / "clip.mp4"
    assert info["clip_bytes"] < 1_000_000
    gt = _masks(tmp_path / "clip" / "gt")

    steady = alphacut.remove_video(clip, f"{tmp_path / 'steady'}/", remover=real_remover, format="mask")
    plain = alphacut.remove_video(clip, f"{tmp_path / 'plain'}/", remover=real_remover, format="mask", steady=False)
    assert steady.frames == plain.frames == 6
    s_steady = score_clip(_masks(tmp_path / "steady"), gt)
    s_plain = score_clip(_masks(tmp_path / "plain"), gt)
    assert s_steady.mae < 0.05, s_steady
    assert s_steady.flicker < s_plain.flicker, (s_steady, s_plain)
    assert s_steady.dtssd <= s_plain.dtssd * 1.02, (s_steady, s_plain)

    webm = alphacut.remove_video(clip, tmp_path / "out.webm", remover=real_remover, keyframes=6)  # network once
    assert webm.frames == 6 and webm.inferred < 6
    with av.open(str(tmp_path / "out.webm")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert sum(1 for _ in c.decode(video=0)) == 6

    # the subject runs off the bottom edge: its bottom rows stay in the matte (31% of them were kept
    # before the quality issue's edge-subject input geometry landed; the check failed then)
    last = _masks(tmp_path / "steady")[-1]
    kept = float((last[-3:] > 0.5).mean()) / max(1e-6, float((gt[-1][-3:] > 0.5).mean()))
    assert kept >= 0.5, f"only {kept:.0%} of the subject's bottom rows kept"
