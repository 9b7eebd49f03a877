from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.errors import InputError
from alphacut.eval.metrics import SetAccumulator, gradient_error
from alphacut.eval.sets import compare_markdown, discover_sets, evaluate, evaluate_dir

REPO = Path(__file__).resolve().parents[3]


def disc(h=64, w=64, r=18):
    yy, xx = np.mgrid[:h, :w]
    return ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < r * r).astype(np.float32)


def test_perfect_prediction_scores_perfectly():
    gt = disc()
    acc = SetAccumulator("s", soft=True)
    p = acc.add("a", gt.copy(), gt)
    assert p.mae == 0 and p.sad == 0 and p.mse == 0 and p.grad == 0
    r = acc.result()
    assert r.max_fbeta == pytest.approx(1.0, abs=5e-3) and r.s_measure == pytest.approx(1.0, abs=5e-3)
    assert r.e_measure == pytest.approx(1.0, abs=5e-3)


def test_inverted_and_constant_predictions():
    gt = disc()
    acc = SetAccumulator("s", soft=False)
    inv = acc.add("inv", 1.0 - gt, gt)
    assert inv.mae == pytest.approx(1.0)
    half = SetAccumulator("h", soft=False).add("c", np.full_like(gt, 0.5), gt)
    assert half.mae == pytest.approx(0.5)
    assert acc.result().max_fbeta < 0.5


def test_sad_and_ignore_mask():
    gt = np.zeros((10, 100), np.float32)
    pred = gt.copy()
    pred[:, :10] = 1.0  # 100 wrong pixels
    acc = SetAccumulator("s", soft=True)
    assert acc.add("a", pred, gt).sad == pytest.approx(0.1)
    valid = np.ones_like(gt, bool)
    valid[:, :10] = False
    acc2 = SetAccumulator("s", soft=False)
    assert acc2.add("b", pred, gt, valid).mae == 0.0


def test_gradient_error_sees_blur():
    gt = disc()
    from scipy import ndimage

    blurred = ndimage.gaussian_filter(gt, 3)
    assert gradient_error(blurred, gt, None) > gradient_error(gt, gt, None) == 0.0


def test_size_mismatch():
    with pytest.raises(InputError) as err:
        SetAccumulator("s", soft=False).add("a", np.zeros((4, 4), np.float32), np.zeros((5, 4), np.float32))
    assert err.value.code == "eval.size-mismatch"


@pytest.fixture
def sets_root(tmp_path):
    for name, soft, unknown in (("hard", False, False), ("soft", True, False), ("band", False, True)):
        (tmp_path / name / "images").mkdir(parents=True)
        (tmp_path / name / "gt").mkdir()
        for i in range(4):
            g = (disc(48, 64, 12 + i) * 255).astype(np.uint8)
            if soft:
                g = np.clip(np.linspace(0, 255, 64)[None, :].repeat(48, 0), 0, 255).astype(np.uint8)
            if unknown:
                from scipy import ndimage

                edge = ndimage.binary_dilation(g > 0, iterations=2) & ~ndimage.binary_erosion(g > 0, iterations=2)
                g = np.where(edge, 128, g).astype(np.uint8)
            Image.fromarray(g).save(tmp_path / name / "gt" / f"im{i}.png")
            rgb = np.dstack([g, g, g])
            Image.fromarray(rgb).save(tmp_path / name / "images" / f"im{i}.jpg")
        Image.new("RGB", (8, 8)).save(tmp_path / name / "images" / "orphan.jpg")
    return tmp_path


def test_discovery_detects_kinds(sets_root):
    sets = {s.name: s for s in discover_sets(sets_root)}
    assert set(sets) == {"hard", "soft", "band"}
    assert len(sets["hard"].pairs) == 4  # the orphan is left out
    assert (sets["hard"].soft, sets["hard"].has_unknown) == (False, False)
    assert sets["soft"].soft and not sets["soft"].has_unknown
    assert sets["band"].has_unknown and not sets["band"].soft
    assert [p.stem for p in sets["hard"].subset(2).pairs] == ["im0", "im2"]


def test_evaluate_and_evaluate_dir_agree(sets_root, tmp_path):
    sets = discover_sets(sets_root)

    def predict(path: Path):
        return np.asarray(Image.open(path).convert("L"), np.float32) / 255.0

    live = evaluate(sets, predict)
    pred_dir = tmp_path / "pred"
    for s in sets:
        (pred_dir / s.name).mkdir(parents=True)
        for p in s.pairs:
            Image.fromarray((predict(p.image) * 255).round().astype(np.uint8)).save(pred_dir / s.name / f"{p.stem}.png")
    saved = evaluate_dir(sets, pred_dir)
    for a, b in zip(live.sets, saved.sets):
        assert a.mae == pytest.approx(b.mae, abs=2e-3)
    md = live.to_markdown()
    assert "| hard | 4 |" in md and "mean over sets" in md
    assert live.to_json()["sets"][0]["n"] == 4
    cmp = compare_markdown({"live": live, "saved": saved})
    assert cmp.count("| hard |") == 2


def test_real_evaldata_layout():
    root = REPO.parent / "shared" / "evaldata"
    if not root.is_dir():
        pytest.skip(f"{root} is absent (a user's clone has no ../shared)")
    sets = discover_sets(root)
    with open(root / "MANIFEST.csv", newline="") as f:  # the data set's own list of pairs
        manifest = [row["set"] for row in csv.DictReader(f)]
    assert sorted(s.name for s in sets) == sorted(set(manifest))
    assert {s.name: len(s.pairs) for s in sets} == {name: manifest.count(name) for name in set(manifest)}
    kinds = {s.name: (s.soft, s.has_unknown) for s in sets}
    assert kinds["adobe_crops"] == (True, False) and kinds["grabcut"] == (False, True)
    assert kinds["davis_people"] == (False, False)
