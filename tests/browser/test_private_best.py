"""The page with a model that runs mirrored (catalog field `mirror`) and with "Best quality": private mode's
matte is the library's (pipeline.prepare → infer → postprocess through native onnxruntime) for the same
photo and model, and server mode sends quality=best, so the server runs the model twice.

The model is a small float network made here whose output is not left-right symmetric (random 5×5
convolutions), so a page that forgot to mirror, or mirrored the wrong part of the input, gives another
matte; the test checks that the library's plain and mirrored mattes differ by far more than the tolerance."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import drive, sample_photo, save_matting_model, with_checksum

pytestmark = pytest.mark.browser

#: page (onnxruntime-web, WASM) vs library (onnxruntime) on the same float model: their kernels sum in
#: other orders; the mattes are min-max stretched after, which can scale that up a little
MATTE_MAX_DIFF = 1e-5

LOW_JS = """(() => {
  const l = window.alphacutDebug.lastLow;
  const b = new Uint8Array(l.matte.buffer, l.matte.byteOffset, l.matte.byteLength);
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return { width: l.width, height: l.height, runs: l.runs, b64: btoa(s) };
})()"""
STATUS_JS = "[...document.querySelectorAll('[data-testid=status]')].map((e) => e.textContent)"
SETTINGS_JS = "[...document.querySelectorAll('[data-testid=settings]')].map((e) => e.textContent)"
CHECK_BEST = "(() => { const c = document.querySelector('#best'); if (!c.checked) c.click(); return c.checked; })()"


def make_float_model(path: Path, channels: int = 6, seed: int = 1) -> None:
    """1×3×H×W float in, 1×1×H×W probability out: two random 5×5 convolutions, not mirror-symmetric."""
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (channels, 3, 5, 5)).astype(np.float32)
    b1 = rng.normal(0, 0.1, channels).astype(np.float32)
    w2 = rng.normal(0, 0.5, (1, channels, 5, 5)).astype(np.float32)
    b2 = np.zeros(1, np.float32)
    inits = [numpy_helper.from_array(v, n) for n, v in (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))]
    nodes = [helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], pads=[2] * 4),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[2] * 4),
             helper.make_node("Sigmoid", ["c2"], ["output"])]
    save_matting_model(path, "alphacut-test-asymmetric", nodes, inits)


def _library_low(model: Path, spec: Any, photo: Path, best: bool) -> np.ndarray:
    from alphacut import pipeline
    from alphacut.options import Options, Quality
    from alphacut.runtime.onnx import OnnxBackend

    backend = OnnxBackend(model, threads=1)
    options = Options(quality=Quality.BEST if best else Quality.STANDARD)
    prepared = pipeline.prepare(str(photo), backend, spec, options)
    return pipeline.postprocess(pipeline.infer(prepared, backend), spec, prepared.content_wh)


def _page_low(value: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(value["b64"]), np.float32).reshape(value["height"], value["width"])


def test_private_mode_mirror_model_and_best_match_the_library(browser_tools: None, live_server: Any,
                                                              tiny_spec: Any, tmp_path: Path) -> None:
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    model = tmp_path / "asymmetric.onnx"
    make_float_model(model)
    spec = replace(with_checksum(tiny_spec, model), mirror=True)  # /config.json's private_model says "mirror": true
    base = live_server(Remover(spec, backend=FakeBackend(size_hw=(64, 64))), model_file=lambda _i: model)
    photo = sample_photo(tmp_path, (90, 160))
    report = drive({"url": base, "mode": "private", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "timeoutMs": 240000, "steps": [
                        {"do": "eval", "expr": LOW_JS, "as": "standard"},
                        {"do": "eval", "expr": STATUS_JS, "as": "before"},
                        {"do": "eval", "expr": SETTINGS_JS, "as": "settingsBefore"},
                        {"do": "pick", "card": 0},
                        {"do": "eval", "expr": CHECK_BEST, "as": "checked"},  # the selected card is cut out again
                        {"do": "wait"},
                        {"do": "eval", "expr": LOW_JS, "as": "best"},
                        {"do": "eval", "expr": STATUS_JS, "as": "statuses"},
                        {"do": "eval", "expr": SETTINGS_JS, "as": "settings"}]})
    values = report["values"]
    assert values["checked"] is True
    assert len(values["statuses"]) == 1 and values["statuses"][0].startswith("done"), values["statuses"]
    assert "best" not in values["before"][0] and "best (2 runs)" in values["statuses"][0], values
    assert "best quality" not in values["settingsBefore"][0] and "best quality" in values["settings"][0], values["settings"]
    assert (values["standard"]["runs"], values["best"]["runs"]) == (1, 2)

    page_std, page_best = _page_low(values["standard"]), _page_low(values["best"])
    lib_std = _library_low(model, spec, photo, best=False)  # the model's own orientation: mirrored
    lib_best = _library_low(model, spec, photo, best=True)
    lib_plain = _library_low(model, tiny_spec, photo, best=False)  # what a page that ignored `mirror` gives
    assert page_std.shape == lib_std.shape == page_best.shape == lib_best.shape
    assert page_std.shape[1] < 64  # portrait: the image is a strip, the padding is at its right
    d_std, d_best = np.abs(page_std - lib_std), np.abs(page_best - lib_best)
    d_plain, d_modes = np.abs(page_std - lib_plain), np.abs(lib_best - lib_std)
    print(f"\npage vs library, mirror model: max {d_std.max():.2e} mean {d_std.mean():.2e}; best: max "
          f"{d_best.max():.2e} mean {d_best.mean():.2e}; page vs the unmirrored run: max {d_plain.max():.3f}; "
          f"library best vs standard: max {d_modes.max():.3f}")
    assert d_std.max() < MATTE_MAX_DIFF and d_best.max() < MATTE_MAX_DIFF
    # the comparison can tell: forgetting the mirror, or the second run, would be far outside the tolerance
    assert d_plain.max() > 50 * MATTE_MAX_DIFF and d_modes.max() > 50 * MATTE_MAX_DIFF


def test_server_mode_sends_quality_best(browser_tools: None, live_server: Any, tiny_spec: Any,
                                        tmp_path: Path) -> None:
    from urllib.parse import parse_qs, urlparse

    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    backend = FakeBackend(size_hw=(64, 64))
    base = live_server(Remover(tiny_spec, backend=backend), model_file=lambda _i: None)
    photo = sample_photo(tmp_path, (90, 160))
    report = drive({"url": base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "timeoutMs": 120000, "steps": [
                        {"do": "pick", "card": 0},
                        {"do": "eval", "expr": CHECK_BEST, "as": "checked"},  # applies to the selected card: cut again
                        {"do": "wait"},
                        {"do": "eval", "expr": SETTINGS_JS, "as": "settings"},
                        {"do": "drop", "images": [str(photo)]},
                        {"do": "eval", "expr": STATUS_JS, "as": "statuses"}]})
    values = report["values"]
    assert values["checked"] is True and all(s.startswith("done") for s in values["statuses"]), values
    posts = [parse_qs(urlparse(r["url"]).query) for r in report["requests"]
             if r["method"] == "POST" and urlparse(r["url"]).path == "/v1/remove"]
    assert len(posts) == 3, report["requests"]
    assert "quality" not in posts[0] and posts[1]["quality"] == ["best"] and posts[2]["quality"] == ["best"], posts
    assert backend.calls == 5  # one run for the first cut, two for its best re-run, two for the new card
    assert values["settings"] == ["no preset · transparent · PNG · best quality"], values["settings"]
    assert all("best (2 runs)" in s for s in values["statuses"]), values["statuses"]


@pytest.mark.model
def test_real_model_as_a_mirror_model_and_best_match_the_library(browser_tools: None, live_server: Any,
                                                                 tmp_path: Path) -> None:
    """The default model served as a `mirror` model (whatever the catalog says today), a real photo: the
    page's model matte is the library's within the bound of the real-model parity test above (MAE < 0.01;
    onnxruntime-web and onnxruntime run the int8 model differently), standard and best, and clearly not the
    unmirrored run's."""
    from alphacut import pipeline
    from alphacut.api import Remover
    from alphacut.options import Options, Quality

    from .test_page import SAMPLES, _real_remover

    default = _real_remover()
    spec = replace(default.spec, mirror=True)
    base = live_server(Remover(spec, backend=default.backend))
    image = str(SAMPLES / "chelsea.jpg")
    report = drive({"url": base, "mode": "private", "images": [image], "downloadDir": str(tmp_path),
                    "timeoutMs": 600000, "steps": [
                        {"do": "eval", "expr": LOW_JS, "as": "standard"}, {"do": "pick", "card": 0},
                        {"do": "eval", "expr": CHECK_BEST, "as": "checked"}, {"do": "wait"},
                        {"do": "eval", "expr": LOW_JS, "as": "best"}]}, timeout_s=1200)
    values = report["values"]
    assert (values["standard"]["runs"], values["best"]["runs"]) == (1, 2), report["statuses"]

    def library(model_spec: Any, quality: Quality) -> np.ndarray:
        prepared = pipeline.prepare(image, default.backend, model_spec, Options(quality=quality))
        return pipeline.postprocess(pipeline.infer(prepared, default.backend), model_spec, prepared.content_wh)

    page_std, page_best = _page_low(values["standard"]), _page_low(values["best"])
    mae_std = float(np.abs(page_std - library(spec, Quality.STANDARD)).mean())
    mae_best = float(np.abs(page_best - library(spec, Quality.BEST)).mean())
    mae_plain = float(np.abs(page_std - library(replace(spec, mirror=False), Quality.STANDARD)).mean())
    print(f"\nreal model as a mirror model, page vs library MAE: standard {mae_std:.5f}, best {mae_best:.5f}; "
          f"page's mirrored run vs the library's unmirrored run {mae_plain:.5f}")
    assert mae_std < 0.01 and mae_best < 0.01
    assert mae_plain > 5 * max(mae_std, mae_best)
