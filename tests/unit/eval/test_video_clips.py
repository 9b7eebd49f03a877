"""The synthetic clip builder: exact frame count, truth that matches the composite, the edge framing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from alphacut.errors import OutputError
from alphacut.eval.video_clips import ClipSpec, make_clips


def _fake_evaldata(root: Path) -> Path:
    """Two sets of two 96×64 pairs: a dark disc (subject) and a textured scene."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :96]
    for set_name in ("subjects", "scenes"):
        (root / set_name / "images").mkdir(parents=True)
        (root / set_name / "gt").mkdir(parents=True)
        for i in range(2):
            img = rng.integers(100, 255, (64, 96, 3), dtype=np.uint8)
            disc = ((xx - 48) ** 2 + (yy - 32) ** 2 < (14 + 2 * i) ** 2)
            img[disc] = (20, 40, 160)
            cv2.imwrite(str(root / set_name / "images" / f"s{i}.png"), img)
            cv2.imwrite(str(root / set_name / "gt" / f"s{i}.png"), disc.astype(np.uint8) * 255)
    return root


def test_clips_have_every_frame_and_exact_truth(tmp_path: Path) -> None:
    evaldata = _fake_evaldata(tmp_path / "evaldata")
    specs = (ClipSpec("a", ("subjects", ""), ("scenes", ""), size_wh=(128, 72), frames=6, fps=12,
                      motion="walk", noise_sigma=0.0, crf=10, audio=True),
             ClipSpec("b", ("subjects", ""), ("scenes", ""), size_wh=(128, 72), frames=5, framing="bottom",
                      subject_height=0.9, cut_at=3))
    manifest = make_clips(evaldata, tmp_path / "out", specs)
    assert [c["frames"] for c in manifest["clips"]] == [6, 5]
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == json.loads(json.dumps(manifest))
    for name, n in (("a", 6), ("b", 5)):
        gts = sorted((tmp_path / "out" / name / "gt").glob("*.png"))
        imgs = sorted((tmp_path / "out" / name / "images").glob("*.png"))
        assert [p.name for p in gts] == [p.name for p in imgs] == [f"{name}_{t:06d}.png" for t in range(n)]
    # clip a: no noise, near-lossless: the blue subject sits where its truth says
    a0 = cv2.imread(str(tmp_path / "out" / "a" / "gt" / "a_000000.png"), cv2.IMREAD_GRAYSCALE)
    im0 = cv2.imread(str(tmp_path / "out" / "a" / "images" / "a_000000.png"))
    inside = cv2.erode((a0 == 255).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert inside.sum() > 50
    assert np.abs(im0[inside].astype(int) - (20, 40, 160)).mean() < 12
    # the subject moves ('walk'): the truth changes between the first and last frame
    a5 = cv2.imread(str(tmp_path / "out" / "a" / "gt" / "a_000005.png"), cv2.IMREAD_GRAYSCALE)
    assert (a0 != a5).mean() > 0.01
    # clip b: 'bottom' framing runs the subject off the frame's bottom edge
    b0 = cv2.imread(str(tmp_path / "out" / "b" / "gt" / "b_000000.png"), cv2.IMREAD_GRAYSCALE)
    assert (b0[-1] > 128).any()
    assert len(manifest["clips"][1]["subjects"]) == 2  # the scene cut switches subject


def test_refuses_a_non_empty_output(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(OutputError) as err:
        make_clips(_fake_evaldata(tmp_path / "e"), tmp_path / "out", ())
    assert err.value.code == "output.exists"
