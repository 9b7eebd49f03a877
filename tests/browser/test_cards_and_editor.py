"""The page's cards and touch-up editor in a real browser, server mode with the fake backend: per-card
settings, like-with-like before/after, the API key prompt, failed cards, ZIP names, and brush strokes
(mouse and touch) that change the downloaded alpha where they should and nowhere else, undone exactly."""

from __future__ import annotations

import io
import itertools
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image, ImageDraw

from .conftest import ROOT, drive

SAMPLES = ROOT / "samples"
pytestmark = pytest.mark.browser


def disc_photo(path: Path, size_wh: tuple[int, int] = (480, 360)) -> Path:
    """A dark disc on a light, slightly textured background: the fake backend cuts out the disc."""
    w, h = size_wh
    rng = np.random.default_rng(7)
    bg = (225 + rng.integers(-6, 7, (h, w, 3))).astype(np.uint8)
    img = Image.fromarray(bg)
    ImageDraw.Draw(img).ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), fill=(40, 60, 90))
    img.save(path)
    return path


def posts(report: dict[str, Any]) -> list[dict[str, list[str]]]:
    return [parse_qs(urlparse(r["url"]).query) for r in report["requests"] if r["method"] == "POST"]


def alpha_of(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA").getchannel("A")).astype(int)


def test_cards_keep_their_settings_and_changes_apply_to_selected(fake_base: str, tmp_path: Path) -> None:
    """With cards ticked, a change goes to those only (with none ticked, to every card: test_controls.py)."""
    a, b = disc_photo(tmp_path / "a.png"), disc_photo(tmp_path / "b.png", (400, 400))
    report = drive({"url": fake_base, "mode": "server", "images": [str(a), str(b)], "preset": "avatar-circle",
                    "downloadDir": str(tmp_path), "steps": [
                        {"do": "pick", "card": 1}, {"do": "preset", "value": "sticker"}, {"do": "wait"},
                        {"do": "unpick", "card": 1},
                        {"do": "eval", "expr": "document.querySelectorAll('[data-testid=settings]')[0].textContent",
                         "as": "first"},
                        {"do": "pick", "card": 0}, {"do": "bg", "value": "#000000"},
                        {"do": "zip", "as": "zip1"},
                        {"do": "preset", "value": "ecommerce"}, {"do": "wait"}, {"do": "zip", "as": "zip2"}]})
    sent = posts(report)
    presets = [q.get("preset", [""])[0] for q in sent if q.get("format") == ["png"]]
    assert presets[:2] == ["avatar-circle", "avatar-circle"], sent
    assert report["values"]["first"].startswith("avatar-circle")  # the unticked card kept its preset
    # the background change went to the selected card only, with no new upload; the preset changes re-asked
    assert presets[2:] == ["sticker", "ecommerce"], sent
    assert report["settings"][0].startswith("ecommerce · white") and report["settings"][1].startswith("sticker")
    assert sorted(zipfile.ZipFile(report["downloads"]["zip1"]).namelist()) == ["a.avatar-circle.png", "b.sticker.png"]
    zip1 = zipfile.ZipFile(report["downloads"]["zip1"])
    black = np.asarray(Image.open(io.BytesIO(zip1.read("a.avatar-circle.png"))).convert("RGBA"))
    assert black[:, :, 3].min() == 255 and black[0, 0, :3].max() == 0  # black now fills the circle's outside
    assert Image.open(io.BytesIO(zip1.read("b.sticker.png"))).getchannel("A").getextrema()[0] == 0  # untouched
    assert sorted(zipfile.ZipFile(report["downloads"]["zip2"]).namelist()) == ["a.ecommerce.png", "b.sticker.png"]


# In the page: mean |after - before| (RGB, 0..255) where the output shows the photo itself (opaque;
# for the sticker, not its white outline), and the same for the original merely stretched to the output
BEFORE_AFTER = """(() => {
  const c = document.querySelector('[data-testid=card]');
  const px = (k) => k.getContext('2d').getImageData(0, 0, k.width, k.height).data;
  const a = c.querySelector('[data-testid=after]'), b = c.querySelector('[data-testid=before]');
  const stretched = document.createElement('canvas');
  stretched.width = a.width; stretched.height = a.height;
  stretched.getContext('2d').drawImage(window.alphacutDebug.items[0].original, 0, 0, a.width, a.height);
  const A = px(a), B = px(b), S = px(stretched);
  let n = 0, d = 0, ds = 0;
  for (let i = 0; i < A.length; i += 4) {
    if (A[i + 3] !== 255 || A[i] + A[i + 1] + A[i + 2] >= 600) continue;
    n++;
    for (let k = 0; k < 3; k++) { d += Math.abs(A[i + k] - B[i + k]); ds += Math.abs(A[i + k] - S[i + k]); }
  }
  return {w: a.width, h: a.height, n, framed: d / (3 * n), stretched: ds / (3 * n), note: c.querySelector('.before').title};
})()"""


@pytest.mark.parametrize("preset", ["", "ecommerce", "avatar", "sticker"])
def test_before_after_compares_like_with_like(fake_base: str, tmp_path: Path, preset: str) -> None:
    photo = disc_photo(tmp_path / "p.png")
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "preset": preset,
                    "downloadDir": str(tmp_path), "steps": [{"do": "eval", "expr": BEFORE_AFTER, "as": "px"}]})
    px = report["values"]["px"]
    print(f"\n{preset or 'none'}: {px['w']}x{px['h']}, mean |after - before| on {px['n']} subject pixels: framed "
          f"{px['framed']:.2f}/255, stretched original {px['stretched']:.2f}/255; {px['note']}")
    assert px["n"] > 500
    assert px["framed"] < 4, px
    if preset:
        assert px["stretched"] > 3 * px["framed"] + 5, px  # a plain overlay would not compare like with like


@pytest.mark.parametrize("angle", [0.0, 8.0, -12.0])
def test_id_photo_before_after_matches_a_rotated_portrait(live_server: Any, browser_tools: None, tiny_spec: Any,
                                                          tmp_path: Path, angle: float) -> None:
    """An ID photo's head is levelled (the photo turned about the eyes): the before side is turned alike."""
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend
    from tests.unit.portraits import draw_portrait, rotate

    base = live_server(Remover(tiny_spec, backend=FakeBackend(size_hw=(256, 256), softness=0.02)),
                       model_file=lambda _i: None)
    photo = tmp_path / "tilted.png"
    Image.fromarray(rotate(draw_portrait(), angle)).save(photo)
    report = drive({"url": base, "mode": "server", "images": [str(photo)], "preset": "id-photo",
                    "downloadDir": str(tmp_path), "steps": [{"do": "eval", "expr": BEFORE_AFTER, "as": "px"}]})
    assert report["statuses"][0].startswith("done"), report["statuses"]
    px = report["values"]["px"]
    print(f"\nid-photo, head tilted {angle}: {px['w']}x{px['h']}, mean |after - before| on {px['n']} subject "
          f"pixels: framed {px['framed']:.2f}/255, stretched original {px['stretched']:.2f}/255; {px['note']}")
    assert px["n"] > 500
    assert px["framed"] < 4, px
    assert px["stretched"] > 3 * px["framed"] + 5, px


def test_api_key_is_asked_before_the_first_drop(fake_base: str, live_server: Any, tiny_spec: Any,
                                                 tmp_path: Path) -> None:
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    base = live_server(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), model_file=lambda _i: None,
                       settings_overrides={"api_key": "open-sesame"})
    report = drive({"url": base, "mode": "server", "images": [str(SAMPLES / "rocket.jpg")],
                    "downloadDir": str(tmp_path), "apiKey": "open-sesame"})
    assert report["keyNeeded"] is True  # before the key was typed: the prompt shows and the file input is off
    assert report["statuses"][0].startswith("done")
    plain = drive({"url": fake_base, "mode": "server", "images": [str(SAMPLES / "rocket.jpg")],
                   "downloadDir": str(tmp_path)})
    assert plain["keyNeeded"] is False


def test_failed_card_shows_the_whole_name_and_no_download(fake_base: str, tmp_path: Path) -> None:
    name = "a-very-long-file-name-that-would-never-fit-on-one-card-line-of-this-page-2026-11-27.txt"
    bad = tmp_path / name
    bad.write_text("not an image")
    good = disc_photo(tmp_path / "ok.png")
    report = drive({"url": fake_base, "mode": "server", "images": [str(bad), str(good)], "downloadDir": str(tmp_path),
                    "steps": [{"do": "zip", "as": "zip"}]})
    assert report["statuses"][0].startswith("failed") and report["statuses"][1].startswith("done")
    assert report["names"][0] == {"text": name, "clipped": False}
    assert report["downloadButtons"][0] == {"visible": False, "disabled": True}
    assert report["downloadButtons"][1] == {"visible": True, "disabled": False}
    assert zipfile.ZipFile(report["downloads"]["zip"]).namelist() == ["ok.cutout.png"]


def stroke_band(shape: tuple[int, int], pts: list[tuple[float, float]], radius: float) -> np.ndarray:
    """Pixels whose centre lies within `radius` of the polyline."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float64) + 0.5
    dist = np.full((h, w), np.inf)
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        dx, dy = bx - ax, by - ay
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        dist = np.minimum(dist, np.hypot(xx - (ax + t * dx), yy - (ay + t * dy)))
    return dist <= radius


@pytest.mark.parametrize("touch", [False, True])
def test_brush_stroke_changes_alpha_only_under_it_and_undo_restores_exactly(fake_base: str, tmp_path: Path,
                                                                           touch: bool) -> None:
    photo = disc_photo(tmp_path / "d.png")  # disc: x 144..336, y 72..288
    erase = [(150.0, 180.0), (240.0, 120.0), (330.0, 180.0)]  # across the disc and its edge
    restore = [(20.0, 20.0), (120.0, 40.0)]  # in the background, outside the disc
    size = 14
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "download", "card": 0, "as": "orig"},
                        {"do": "edit", "card": 0, "finish": "done", "actions": [
                            {"stroke": erase, "tool": "erase", "size": size, "edge": False, "touch": touch}]},
                        {"do": "download", "card": 0, "as": "erased"},
                        {"do": "edit", "card": 0, "finish": "done", "actions": [
                            {"stroke": restore, "tool": "restore", "size": size, "edge": False, "touch": touch},
                            {"eval": "window.alphacutEditor().undo.length", "as": "undoDepth"},
                            {"press": "Control+z"}]},
                        {"do": "download", "card": 0, "as": "undone"},
                        {"do": "edit", "card": 0, "finish": "cancel", "actions": [
                            {"stroke": restore, "tool": "restore", "size": size, "edge": False, "touch": touch}]},
                        {"do": "download", "card": 0, "as": "cancelled"},
                        {"do": "zip", "as": "zip"}]})
    assert not [c for c in report["console"] if c.startswith(("error", "pageerror"))], report["console"]
    orig, erased = alpha_of(report["downloads"]["orig"]), alpha_of(report["downloads"]["erased"])
    changed = orig != erased
    band = stroke_band(orig.shape, erase, size + 1)
    assert changed.sum() > 1000 and not (changed & ~band).any()  # where it should, and nowhere else
    core = stroke_band(orig.shape, erase, size * 0.6)
    assert erased[core].max() == 0  # the hard core of the eraser is fully transparent
    assert report["values"]["undoDepth"] == 1
    undone = alpha_of(report["downloads"]["undone"])
    assert np.array_equal(undone, erased)  # undo restored the state before the restore stroke exactly
    assert np.array_equal(alpha_of(report["downloads"]["cancelled"]), erased)  # cancel kept nothing
    zipped = zipfile.ZipFile(report["downloads"]["zip"]).read("d.cutout.png")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(zipped)).getchannel("A")).astype(int), erased)
    assert "touched up" in report["settings"][0]


def test_edge_aware_stroke_in_the_worker_equals_the_main_thread(fake_base: str, tmp_path: Path) -> None:
    """The edge-aware target is computed in the image worker on the stroke's box: the same alpha as
    computing it on the page's main thread over the whole picture, and only under the stroke."""
    photo = disc_photo(tmp_path / "e.png")  # disc: x 144..336, y 72..288
    erase = [(150.0, 180.0), (240.0, 120.0), (330.0, 180.0)]  # across the disc and its edge
    size = 14
    stroke = {"stroke": erase, "tool": "erase", "size": size, "edge": True}
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "download", "card": 0, "as": "orig"},
                        {"do": "edit", "card": 0, "finish": "done", "actions": [stroke]},
                        {"do": "download", "card": 0, "as": "worker"}]})
    # a fresh page for the main-thread path
    here = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                  "steps": [{"do": "edit", "card": 0, "finish": "done", "actions": [
                      {"eval": "window.alphacutEditor().edgeInWorker = false", "as": "off"}, stroke]},
                      {"do": "download", "card": 0, "as": "main"}]})
    assert not [c for c in report["console"] + here["console"] if c.startswith(("error", "pageerror"))]
    orig, worker = alpha_of(report["downloads"]["orig"]), alpha_of(report["downloads"]["worker"])
    main = alpha_of(here["downloads"]["main"])
    changed = orig != worker
    assert changed.sum() > 500 and not (changed & ~stroke_band(orig.shape, erase, size + 1)).any()
    assert np.array_equal(worker, main)


def test_restore_brings_back_the_photos_own_pixels(fake_base: str, tmp_path: Path) -> None:
    photo = disc_photo(tmp_path / "r.png")
    restore = [(20.0, 60.0), (120.0, 60.0)]
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [{"do": "edit", "card": 0, "finish": "done", "actions": [
                        {"wheel": [640, 450, -300]}, {"press": "0"},  # zoom in and back to fit
                        {"stroke": restore, "tool": "restore", "size": 20, "edge": False}]},
                        {"do": "download", "card": 0, "as": "restored"}]})
    out = np.asarray(Image.open(report["downloads"]["restored"]).convert("RGBA")).astype(int)
    src = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    core = stroke_band(out.shape[:2], restore, 10)
    assert out[:, :, 3][core].min() == 255
    assert np.abs(out[:, :, :3][core] - src[core]).max() <= 1


def test_editor_zoom_pan_and_shortcuts(fake_base: str, tmp_path: Path) -> None:
    photo = disc_photo(tmp_path / "z.png")
    state = "JSON.stringify((({zoom, panX, panY, tool, size}) => ({zoom, panX, panY, tool, size}))(window.alphacutEditor()))"
    steps: list[dict[str, Any]] = [{"eval": state, "as": "fit"}]
    steps += [{"wheel": [640, 450, -300]}, {"eval": state, "as": "wheel"}]
    steps += [{"pinch": [640, 450, 1.8]}, {"eval": state, "as": "pinch"}]
    steps += [{"spaceDrag": [600, 450, 700, 500]}, {"eval": state, "as": "pan"}]
    steps += [{"press": "b"}, {"press": "]"}, {"eval": state, "as": "keys1"}]
    steps += [{"press": "e"}, {"press": "["}, {"press": "["}, {"eval": state, "as": "keys2"}]
    steps += [{"press": "0"}, {"eval": state, "as": "refit"}]
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [{"do": "download", "card": 0, "as": "orig"},
                              {"do": "edit", "card": 0, "finish": "done", "actions": steps},
                              {"do": "download", "card": 0, "as": "after"}]})
    v = {k: json.loads(report["values"][k]) for k in ("fit", "wheel", "pinch", "pan", "keys1", "keys2", "refit")}
    assert v["wheel"]["zoom"] > v["fit"]["zoom"] * 1.2  # wheel zooms in
    assert v["pinch"]["zoom"] > v["wheel"]["zoom"] * 1.3  # two fingers apart zoom in
    assert abs(v["pan"]["panX"] - v["pinch"]["panX"] - 100) < 2 and abs(v["pan"]["panY"] - v["pinch"]["panY"] - 50) < 2
    assert v["pan"]["zoom"] == v["pinch"]["zoom"]
    assert v["keys1"]["tool"] == "restore" and v["keys1"]["size"] > v["pan"]["size"]
    assert v["keys2"]["tool"] == "erase" and v["keys2"]["size"] < v["keys1"]["size"]
    assert abs(v["refit"]["zoom"] - v["fit"]["zoom"]) < 1e-6
    # navigation painted nothing: the download is unchanged
    assert np.array_equal(alpha_of(report["downloads"]["orig"]), alpha_of(report["downloads"]["after"]))
