"""The page's edge refinement (web/src/refine.js, run by Node) against the Python functions it ports:
pipeline.refine_matte (guided upsampling from 2x) and ops.foreground.decontaminate (blur fusion), on synthetic photos
with a soft-edged subject made here with numpy."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from .conftest import ROOT

pytestmark = pytest.mark.browser
CHECK = Path(__file__).with_name("refine_check.mjs")


def synthetic_photo(w: int, h: int, seed: int) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """A textured warm subject with a wavy soft edge and thin soft strands over a cool textured
    background: (H x W x 3 uint8 photo, H x W true alpha in [0, 1])."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    cx, cy, r = w * 0.5, h * 0.55, min(w, h) * 0.33
    angle = np.arctan2(yy - cy, xx - cx)
    dist = np.hypot(xx - cx, yy - cy) - r * (1 + 0.08 * np.sin(7 * angle))
    soft_px = max(2.0, min(w, h) / 60)
    alpha = np.clip(0.5 - dist / soft_px, 0, 1)
    strands = np.clip(1 - np.abs(np.sin(angle * 40)) * 6, 0, 1) * np.clip(1 - np.abs(dist) / (r * 0.25), 0, 1)
    alpha = np.maximum(alpha, 0.6 * strands).astype(np.float32)
    fg = np.stack([0.85 - 0.3 * yy / h, 0.45 + 0.2 * xx / w, 0.25 + 0.1 * np.sin(xx / 9)], axis=2)
    bg = np.stack([0.15 + 0.1 * np.sin(yy / 13), 0.35 + 0.2 * (xx / w), 0.75 - 0.2 * yy / h], axis=2)
    bg = bg + 0.15 * ((xx // 23 + yy // 23) % 2)[:, :, None]
    a3 = alpha[:, :, None]
    img = a3 * fg + (1 - a3) * bg + rng.normal(0, 0.02, (h, w, 3))
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8), alpha


def model_like_matte(alpha: NDArray[np.float32], lw: int, lh: int, seed: int) -> NDArray[np.float32]:
    """The true matte at the model's size, slightly noisy, as a model's output would be."""
    from alphacut.ops.resize import resize_matte

    rng = np.random.default_rng(seed)
    low = resize_matte(alpha, (lw, lh)) + rng.normal(0, 0.01, (lh, lw)).astype(np.float32)
    return np.clip(low, 0, 1).astype(np.float32)


def run_js(job: dict[str, Any], tmp: Path) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (run `make browser-deps`)")
    proc = subprocess.run(["node", str(CHECK)], input=json.dumps({"dir": str(tmp), **job}), capture_output=True,
                          text=True, cwd=ROOT, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    note: dict[str, Any] = json.loads(proc.stdout)
    return note


def photo_bytes(photo: NDArray[np.uint8], stride: int) -> bytes:
    if stride == 3:
        return photo.tobytes()
    rgba = np.full(photo.shape[:2] + (4,), 255, np.uint8)
    rgba[:, :, :3] = photo
    return rgba.tobytes()


# (photo w, h, matte w, h, stride): 1202 / 4 = 300.5 rounds to 300 as in Python (half to even);
# 2.0x exactly is guided; 1.5x is bilinear; stride 4 reads RGBA as the page passes it.
@pytest.mark.parametrize("case", [(1202, 802, 300, 200, 3), (1200, 900, 300, 200, 4), (640, 420, 320, 200, 3),
                                  (1000, 2000, 256, 512, 3), (450, 300, 300, 200, 4)])
def test_js_refine_matte_matches_python(case: tuple[int, int, int, int, int], tmp_path: Path) -> None:
    from alphacut import pipeline
    from alphacut.ops.resize import resize_matte
    from alphacut.options import Refine

    w, h, lw, lh, stride = case
    photo, alpha = synthetic_photo(w, h, seed=w + h)
    low = model_like_matte(alpha, lw, lh, seed=lw)
    (tmp_path / "photo.u8").write_bytes(photo_bytes(photo, stride))
    (tmp_path / "low.f32").write_bytes(low.tobytes())
    note = run_js({"op": "refine", "W": w, "H": h, "lw": lw, "lh": lh, "stride": stride}, tmp_path)
    js = np.fromfile(tmp_path / "out.f32", np.float32).reshape(h, w)
    py = pipeline.refine_matte(low, photo, Refine.GUIDED)
    guided = min(w / lw, h / lh) >= pipeline.GUIDED_MIN_SCALE
    assert note["guided"] is guided
    diff = np.abs(js - py)
    print(f"{case}: guided={guided} max|JS-Python|={diff.max():.2e} mean={diff.mean():.2e} ({note['ms']:.0f} ms)")
    assert diff.max() <= 1 / 255
    assert diff.mean() < 1e-4
    if guided:  # the fixture tells guided from bilinear apart, so a bilinear-only port would fail above
        assert np.abs(py - resize_matte(low, (w, h))).max() > 0.1


# 97x61: windows (radius 90) wider than the photo; 0.48 MP: estimated at full size; 2.16 MP: at 2 MP, enlarged
@pytest.mark.parametrize("size", [(97, 61), (800, 600), (1800, 1200)])
def test_js_decontaminate_matches_python(size: tuple[int, int], tmp_path: Path) -> None:
    from alphacut.ops import foreground

    w, h = size
    photo, alpha = synthetic_photo(w, h, seed=w)
    (tmp_path / "photo.u8").write_bytes(photo_bytes(photo, 4))
    (tmp_path / "alpha.f32").write_bytes(alpha.tobytes())
    note = run_js({"op": "decontaminate", "W": w, "H": h, "stride": 4}, tmp_path)
    js = np.fromfile(tmp_path / "out.u8", np.uint8).reshape(h, w, 4)
    py = foreground.decontaminate(photo, alpha)
    soft = (alpha > 0.002) & (alpha < 0.998)
    assert note["written"] == int(soft.sum())
    assert (js[:, :, 3] == 255).all()
    assert (js[~soft, :3] == photo[~soft]).all()  # only soft pixels change
    diff = np.abs(js[:, :, :3].astype(int) - py.astype(int))
    changed = np.abs(py.astype(int) - photo.astype(int))[soft]
    print(f"{size}: {soft.sum()} soft px, Python moved them by {changed.mean():.1f}/255 on average; "
          f"max|JS-Python|={diff.max()}/255, {np.mean(diff > 0) * 100:.3f}% differ ({note['ms']:.0f} ms)")
    assert changed.mean() > 5  # decontamination does change the soft band: a no-op port would fail below
    assert diff.max() <= 2
