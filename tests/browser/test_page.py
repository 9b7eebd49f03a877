"""The web page in a real browser: server mode (fake backend, always), private mode with the real model
(matte parity with the Python library, and no image bytes in any request), screenshots for the docs."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from .conftest import ROOT, drive

SAMPLES = ROOT / "samples"
pytestmark = pytest.mark.browser


def shots_dir(tmp_path: Path) -> Path:
    """Screenshots go to tmp_path; ALPHACUT_SCREENSHOTS=docs/img refreshes the ones in the docs."""
    import os

    target = os.environ.get("ALPHACUT_SCREENSHOTS")
    out = (ROOT / target) if target else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def same_origin_only(report: dict[str, Any], base: str) -> list[str]:
    host = urlparse(base).netloc
    return [r["url"] for r in report["requests"]
            if not (r["url"].startswith("blob:") or r["url"].startswith("data:") or urlparse(r["url"]).netloc == host)]


# ------------------------------------------------------------------ JS pre/post-processing vs Python
@pytest.mark.parametrize("shape", [(333, 217, 1024, 1024), (2000, 1500, 1024, 1024), (1500, 2000, 1024, 1024),
                                   (1024, 1024, 1024, 1024), (97, 1301, 64, 64), (1400, 1500, 1024, 1024),
                                   (854, 480, 1024, 768), (300, 2000, 1024, 1024), (5, 3, 64, 64)])
def test_js_resize_and_matte_upsample_match_python(shape: tuple[int, int, int, int]) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (run `make browser-deps`)")
    from alphacut.io.decode import resize_for_model
    from alphacut.ops.resize import resize_matte
    from alphacut.pipeline import content_size

    w, h, ow, oh = shape
    rng = np.random.default_rng(w * 7 + h)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    matte = rng.random((oh, ow), dtype=np.float32)
    job = {"w": w, "h": h, "outW": ow, "outH": oh, "rgb": base64.b64encode(rgb.tobytes()).decode(),
           "matte": base64.b64encode(matte.tobytes()).decode(), "mw": ow, "mh": oh}
    proc = subprocess.run(["node", str(Path(__file__).with_name("resize_check.mjs"))], input=json.dumps(job),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    out = json.loads(proc.stdout)
    js_rgb = np.frombuffer(base64.b64decode(out["rgb"]), np.uint8).reshape(oh, ow, 3).astype(int)
    py_rgb = resize_for_model(rgb, (ow, oh)).astype(int)
    diff = np.abs(js_rgb - py_rgb)
    if shape == (1400, 1500, 1024, 1024):  # Pillow picks its pass order by a rule we only approximate
        assert diff.max() <= 1 and diff.mean() < 0.5
    else:
        assert diff.max() == 0
    js_matte = np.frombuffer(base64.b64decode(out["matte"]), np.float32).reshape(h, w)
    assert np.abs(js_matte - resize_matte(matte, (w, h))).max() < 1e-5
    assert tuple(out["content"]) == content_size((w, h), (ow, oh))


def _node_check(job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(["node", str(Path(__file__).with_name("resize_check.mjs"))], input=json.dumps(job),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def _test_spec(mw: int, levels: list[float] | None = None) -> Any:
    from alphacut.models.catalog import ModelSpec

    entry = {"id": "t", "description": "t", "licence": "none", "checksum": "sha256:" + "0" * 64,
             "input_size": mw, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
             "sources": [{"kind": "file", "path": "/nonexistent"}]}
    return ModelSpec.from_dict(entry if levels is None else {**entry, "levels": levels})


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("shape", [(160, 90, 64, 64), (90, 160, 64, 64), (120, 120, 64, 64), (5, 300, 64, 64),
                                   (854, 480, 256, 256), (300, 200, 96, 64)])
def test_js_model_input_matches_python_preprocess(shape: tuple[int, int, int, int], mirrored: bool) -> None:
    """The page's model input is the library's: same size, same resize, the same mirrored padding; for a
    model whose catalog entry says `mirror` (and "best" quality's second run), the image mirrored left-right."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (run `make browser-deps`)")
    from alphacut.pipeline import preprocess

    w, h, mw, mh = shape
    rng = np.random.default_rng(w * 13 + h)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb[-3:, :] = 0  # a dark band at the bottom edge: mirrored, it must stay next to the edge
    rgb[:, :2] = 255  # and a white one at the left edge: not its own mirror image
    job = {"w": w, "h": h, "outW": w, "outH": h, "rgb": base64.b64encode(rgb.tobytes()).decode(),
           "mw": mw, "mh": mh, "modelInput": True, "mirrored": mirrored}
    js = np.frombuffer(base64.b64decode(_node_check(job)["input"]), np.float32).reshape(1, 3, mh, mw)
    spec = _test_spec(mw)
    py, _ = preprocess(rgb, spec, (mw, mh), mirrored=mirrored)
    assert np.abs(js - py).max() < 1e-6
    other, _ = preprocess(rgb, spec, (mw, mh), mirrored=not mirrored)
    if (w, h) == (5, 300):  # 4 px wide mirrored into 64: a period of 8 that mirrors onto itself
        assert np.array_equal(other, py)
    else:  # the orientation matters here: a page that ignored it would fail
        assert np.abs(js - other).max() > 0.5


@pytest.mark.parametrize("levels", [None, [0.3, 0.6, 0.2]])
@pytest.mark.parametrize("shape", [(90, 160, 64, 64), (160, 90, 64, 64), (300, 200, 96, 64)])
@pytest.mark.parametrize("how", ["mirror", "best"])
def test_js_output_of_a_mirrored_run_matches_python(shape: tuple[int, int, int, int], how: str,
                                                   levels: list[float] | None) -> None:
    """The page's matte from the model's output(s) is the library's: for a `mirror` model the output flipped
    back (pipeline.unmirror), for "best" the two runs averaged (pipeline.mirror_mean),
    then postprocess. Random outputs, so any flip of the wrong part or a missing one shows."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (run `make browser-deps`)")
    from alphacut.pipeline import content_size, mirror_mean, postprocess, unmirror

    w, h, mw, mh = shape
    rng = np.random.default_rng(w + 3 * h)
    raw = rng.random((1, 1, mh, mw), dtype=np.float32)
    raw2 = rng.random((1, 1, mh, mw), dtype=np.float32)
    job: dict[str, Any] = {"w": w, "h": h, "outW": 1, "outH": 1, "rgb": base64.b64encode(bytes(3)).decode(),
                           "mw": mw, "mh": mh, "output": base64.b64encode(raw.tobytes()).decode(), "levels": levels}
    if how == "mirror":
        job["mirrored"] = True
    else:
        job["mirrorOutput"] = base64.b64encode(raw2.tobytes()).decode()
    cw, ch = content_size((w, h), (mw, mh))
    js = np.frombuffer(base64.b64decode(_node_check(job)["outputMatte"]), np.float32).reshape(ch, cw)
    spec = _test_spec(mw, levels)
    fused = unmirror(raw) if how == "mirror" else mirror_mean(raw, raw2)
    py = postprocess(fused, spec, (cw, ch))
    assert np.abs(js - py).max() < 1e-6
    assert np.abs(js - postprocess(raw, spec, (cw, ch))).max() > 0.1  # without the flip / the mean: different


@pytest.mark.parametrize("levels", [None, [0.3, 0.7, 0.12], [0.05, 0.95, 0.0], [0.0, 0.8, 0.1], [0.05, 0.1, 0.4]])
@pytest.mark.parametrize("lo_hi", [(0.0, 1.0), (0.02, 0.7), (-0.3, 1.4), (0.5, 0.5)])
def test_js_postprocess_matches_python(lo_hi: tuple[float, float], levels: list[float] | None) -> None:
    """The page's matte from the model's output is the library's (clipped, min-max stretched, then the
    catalog's value curve, if any: ops/levels.apply_levels, S-shaped or not)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (run `make browser-deps`)")
    from alphacut.models.catalog import ModelSpec
    from alphacut.pipeline import postprocess

    rng = np.random.default_rng(5)
    lo, hi = lo_hi
    raw = (lo + (hi - lo) * rng.random((40, 56))).astype(np.float32)
    job = {"w": 1, "h": 1, "outW": 1, "outH": 1, "rgb": base64.b64encode(bytes(3)).decode(),
           "raw": base64.b64encode(raw.tobytes()).decode(), "levels": levels}
    proc = subprocess.run(["node", str(Path(__file__).with_name("resize_check.mjs"))], input=json.dumps(job),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    js = np.frombuffer(base64.b64decode(json.loads(proc.stdout)["low"]), np.float32).reshape(40, 56)
    entry = {"id": "t", "description": "t", "licence": "none", "checksum": "sha256:" + "0" * 64,
             "input_size": 56, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
             "sources": [{"kind": "file", "path": "/nonexistent"}]}
    spec = ModelSpec.from_dict(entry if levels is None else {**entry, "levels": levels})
    py = postprocess(raw[None, None], spec, (56, 40))
    assert np.abs(js - py).max() < 1e-6
    if hi - lo > 0.1:
        assert py.min() == 0.0 and py.max() == 1.0
        if levels is not None:  # the curve moved values: the test compares something
            assert np.abs(py - postprocess(raw[None, None], ModelSpec.from_dict(entry), (56, 40))).max() > 0.01


# ------------------------------------------------------------------------ server mode, fake backend
@pytest.mark.parametrize("bg", ["transparent", "blur", "#000000"])
def test_server_mode_cut_compare_download_zip(browser_tools: None, live_server: Any, tiny_spec: Any,
                                              tmp_path: Path, bg: str) -> None:
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    base = live_server(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), model_file=lambda _i: None)
    images = [str(SAMPLES / "coffee.jpg"), str(SAMPLES / "chelsea.jpg")]
    report = drive({"url": base, "mode": "server", "images": images, "downloadDir": str(tmp_path),
                    "timeoutMs": 60000, "bg": bg})
    assert all(s.startswith("done") for s in report["statuses"]), report["statuses"]
    posts = [r for r in report["requests"] if r["method"] == "POST"]
    assert len(posts) == 2 and all("/v1/remove" in r["url"] for r in posts)
    assert same_origin_only(report, base) == []
    one = Image.open(report["downloads"]["one"])
    assert one.format == "PNG" and one.mode == "RGBA" and one.size == (600, 400)
    alpha = np.asarray(one.getchannel("A"))
    if bg == "transparent":
        assert alpha.min() == 0  # something was cut away
    else:
        assert alpha.min() == 255  # the chosen background fills the cut-away part
    if bg == "#000000":  # black behind: the original, darkened where cut away (soft edges carry the
        # decontaminated subject colour, which may be brighter than the photo there: a few pixels)
        rgb = np.asarray(one.convert("RGB")).astype(int)
        original = np.asarray(Image.open(SAMPLES / "coffee.jpg").convert("RGB")).astype(int)
        assert (rgb <= original + 3).mean() > 0.95 and rgb.mean() < original.mean() - 5
    names = zipfile.ZipFile(report["downloads"]["zip"]).namelist()
    assert sorted(names) == ["chelsea.cutout.png", "coffee.cutout.png"]
    assert not [c for c in report["console"] if c.startswith(("error", "pageerror"))], report["console"]


def test_api_key_page_is_public_and_calls_carry_the_key(browser_tools: None, live_server: Any, tiny_spec: Any,
                                                        tmp_path: Path) -> None:
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    base = live_server(remover, model_file=lambda _i: None, settings_overrides={"api_key": "open-sesame"})
    images = [str(SAMPLES / "rocket.jpg")]
    wrong = drive({"url": base, "mode": "server", "images": images, "downloadDir": str(tmp_path),
                   "apiKey": "nope"})
    assert wrong["statuses"][0].startswith("failed") and "X-Api-Key" in wrong["statuses"][0]
    right = drive({"url": base, "mode": "server", "images": images, "downloadDir": str(tmp_path),
                   "apiKey": "open-sesame"})
    assert right["statuses"][0].startswith("done"), right["statuses"]


def test_page_explains_a_server_without_its_model(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    from alphacut.errors import ModelError

    def factory() -> Any:
        raise ModelError("model.not-cached", "'m' is not cached.", hint="Run `alphacut models fetch m`.")

    base = live_server(factory)
    report = drive({"url": base, "mode": "server", "images": [str(SAMPLES / "rocket.jpg")],
                    "downloadDir": str(tmp_path), "timeoutMs": 30000})
    assert "not cached" in report["note"] and "models fetch" in report["note"]
    assert report["statuses"][0].startswith("failed") and "not cached" in report["statuses"][0]


# ----------------------------------------------------------------------- private mode, real model
def _real_remover() -> Any:
    from alphacut.config import load_settings
    from alphacut.models.catalog import load_catalog
    from alphacut.server.app import build_remover, default_model_file

    default = load_catalog().default
    if default_model_file(default) is None:
        pytest.skip(f"the default model '{default}' is not cached and verified (run `make model`)")
    return build_remover(load_settings())


@pytest.mark.model
def test_private_mode_matches_library_and_sends_no_image(browser_tools: None, live_server: Any,
                                                          tmp_path: Path) -> None:
    remover = _real_remover()
    base = live_server(remover)
    image = SAMPLES / "chelsea.jpg"
    shots = shots_dir(tmp_path)
    report = drive({"url": base, "mode": "private", "images": [str(image)], "downloadDir": str(tmp_path),
                    "timeoutMs": 480000, "wantMatte": True,
                    "screenshots": {"desktop": str(shots / "web-private-desktop.png"),
                                    "phone": str(shots / "web-private-phone.png")}})
    assert report["statuses"][0].startswith("done"), report["statuses"]

    # privacy: nothing but GETs of the page, its assets, the runtime and the model; no image bytes anywhere
    data = image.read_bytes()
    probes = [data[i:i + 48] for i in range(0, len(data) - 48, max(1, len(data) // 16))]
    assert same_origin_only(report, base) == []
    for r in report["requests"]:
        assert r["method"] in ("GET", "HEAD"), r["url"]
        body = base64.b64decode(r["body_b64"]) if r["body_b64"] else b""
        assert not any(p in body for p in probes)
        path = urlparse(r["url"]).path
        if not r["url"].startswith("blob:"):
            assert path in ("/", "/config.json") or path.startswith(("/assets/", "/vendor/ort/", "/model/")), path

    # parity: the page's matte equals the library's within MAE < 0.01 at the same resolution
    m = report["matte"]
    page = np.frombuffer(base64.b64decode(m["b64"]), np.float32).reshape(m["height"], m["width"])
    lib = remover.matte(str(image))
    assert page.shape == lib.shape
    mae = float(np.abs(page - lib).mean())
    assert mae < 0.01, mae
    cut = Image.open(report["downloads"]["one"])
    assert cut.size == Image.open(image).size and cut.mode == "RGBA"


@pytest.mark.model
def test_server_mode_screenshots_with_real_model(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    base = live_server(_real_remover())
    shots = shots_dir(tmp_path)
    report = drive({"url": base, "mode": "server", "bg": "#ffffff",
                    "images": [str(SAMPLES / "coffee.jpg"), str(SAMPLES / "astronaut.jpg")],
                    "downloadDir": str(tmp_path), "timeoutMs": 300000,
                    "screenshots": {"desktop": str(shots / "web-server-desktop.png"),
                                    "phone": str(shots / "web-server-phone.png")}})
    assert all(s.startswith("done") for s in report["statuses"]), report["statuses"]
    data = zipfile.ZipFile(report["downloads"]["zip"]).read("coffee.cutout.png")
    assert min(Image.open(io.BytesIO(data)).getpixel((0, 0))[:3]) >= 245  # the white background chosen


@pytest.mark.model
def test_private_mode_cutout_matches_library_above_2x(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    """A photo over 2x the model's matte: the page refines it by guided upsampling and decontaminates the
    edge colours as the library does by default, so its cutout is the library's default cutout."""
    from alphacut import pipeline
    from alphacut.io.encode import pixels_to_pil
    from alphacut.ops.composite import compose_u8
    from alphacut.options import Refine

    remover = _real_remover()
    base = live_server(remover)
    src = Image.open(SAMPLES / "chelsea.jpg").convert("RGB")  # 451x300 -> 2706x1800: 2.2x the 1024x835 matte
    image = tmp_path / "chelsea-6x.png"  # PNG: the browser and Pillow decode the same pixels
    src.resize((src.width * 6, src.height * 6), Image.Resampling.LANCZOS).save(image)
    report = drive({"url": base, "mode": "private", "images": [str(image)], "downloadDir": str(tmp_path),
                    "timeoutMs": 480000, "wantMatte": True})
    assert report["statuses"][0].startswith("done"), report["statuses"]
    m = report["matte"]
    h, w = m["height"], m["width"]
    assert m["guided"] is True and (w, h) == (2706, 1800)
    page_alpha = np.frombuffer(base64.b64decode(m["b64"]), np.float32).reshape(h, w)
    page_rgba = np.frombuffer(base64.b64decode(m["cutout_b64"]), np.uint8).reshape(h, w, 4).astype(int)
    low = np.frombuffer(base64.b64decode(m["low"]["b64"]), np.float32).reshape(m["low"]["height"], m["low"]["width"])
    rgb = np.asarray(Image.open(image).convert("RGB"))

    # 1. the page's steps after inference are the library's: its refinement and composition of the page's matte
    py_alpha = pipeline.refine_matte(low, rgb, Refine.GUIDED)
    py_rgba = np.asarray(pixels_to_pil(compose_u8(rgb, py_alpha, background=None, decontaminate=True))).astype(int)
    port_alpha = np.abs(page_alpha - py_alpha)
    assert port_alpha.max() <= 1 / 255
    # a pixel a float32 rounding away from a limit of the soft band (0.002, 0.998) may fall on either side
    # of it, and so keep its colour in one cutout and be decontaminated in the other: those are left out
    def soft(a: Any) -> Any:
        return (a > np.float32(0.002)) & (a < np.float32(0.998))

    flipped = soft(page_alpha) != soft(py_alpha)
    port_rgba = np.abs(page_rgba - py_rgba)[~flipped]
    print(f"\npage vs library on the page's model matte: alpha max {port_alpha.max():.2e}, RGBA max "
          f"{port_rgba.max()}/255 ({flipped.sum()} px on a soft-band limit left out)")
    assert flipped.mean() < 1e-4 and port_rgba.max() <= 2

    # 2. against the library's default cutout from its own model run (onnxruntime native vs web)
    lib = remover.cutout(str(image))
    lib_rgba = np.asarray(lib.image.convert("RGBA")).astype(int)
    alpha_diff = np.abs(page_alpha - lib.alpha)
    both = (page_rgba[:, :, 3] > 0) & (lib_rgba[:, :, 3] > 0)
    soft = both & ((page_rgba[:, :, 3] < 255) | (lib_rgba[:, :, 3] < 255))
    colour = np.abs(page_rgba[:, :, :3] - lib_rgba[:, :, :3])
    from alphacut.ops.resize import resize_matte

    before = np.abs(resize_matte(low, (w, h)) - lib.alpha)  # what the page did before: bilinear, photo's colours
    before_colour = np.abs(rgb.astype(int) - lib_rgba[:, :, :3])
    print(f"before (bilinear, no decontamination): alpha mean {before.mean():.5f} max {before.max():.4f}, colour "
          f"where both visible mean {before_colour[both].mean():.3f}/255, in the soft band mean "
          f"{before_colour[soft].mean():.2f}/255 p99 {np.percentile(before_colour[soft], 99):.0f}/255")
    print(f"page vs library ({w}x{h}, inference {m['inferenceMs']:.0f} ms, refine {m['refineMs']:.0f} ms, "
          f"decontaminate {m['decontaminateMs']:.0f} ms): alpha mean {alpha_diff.mean():.5f} max {alpha_diff.max():.4f}; "
          f"colour where both visible mean {colour[both].mean():.3f}/255, in the soft band mean "
          f"{colour[soft].mean():.2f}/255 p99 {np.percentile(colour[soft], 99):.0f}/255")
    assert alpha_diff.mean() < 0.01
    assert colour[both].mean() < 1.0
