"""Private mode's provisional preview, its kept model and its pixel limit, with a small float network made
here (any input size, as the default int8-static model): a card goes queued → preview → done (data-state),
the preview is marked provisional and can't be downloaded; the model is downloaded once, kept in Cache
Storage and checked against /config.json's sha256 (a damaged copy is dropped and downloaded again, a
control clears it); an image over the server's max_pixels is refused from its header in both modes with
the same message. The preview's timing with the real model is bench/web_preview.py's (docs/WEB.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from PIL import Image

from .conftest import drive, sample_photo, with_checksum
from .test_controls import huge_png
from .test_private_best import make_float_model

pytestmark = pytest.mark.browser

# every data-state a card takes, with whether its download was possible and the provisional tag shown then
RECORD_STATES = """(() => {
  window.__states = [];
  const seen = (card) => window.__states.push({ state: card.dataset.state, canDownload: !card.querySelector('[data-testid=download]').disabled,
    tag: getComputedStyle(card.querySelector('[data-testid=provisional]')).display !== 'none',
    status: card.querySelector('[data-testid=status]').textContent });
  new MutationObserver((list) => { for (const m of list) if (m.attributeName === 'data-state') seen(m.target); })
    .observe(document.querySelector('#results'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  new MutationObserver((list) => { for (const m of list) for (const n of m.addedNodes) if (n.dataset?.state) seen(n); })
    .observe(document.querySelector('#results'), { childList: true });
  return true;
})()"""
ALL_DONE = "[...document.querySelectorAll('[data-testid=card]')].every((c) => ['done', 'failed'].includes(c.dataset.state))"
STATES_JS = "[...document.querySelectorAll('[data-testid=card]')].map((e) => e.dataset.state)"


@pytest.fixture
def private_base(browser_tools: None, live_server: Any, tiny_spec: Any, tmp_path: Path) -> tuple[Any, Path]:
    """A server whose private model is a small float network, its sha256 in the catalog entry; returns a
    function that starts it with settings overrides, and the model's path."""
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    model = tmp_path / "float.onnx"
    make_float_model(model)
    spec = with_checksum(tiny_spec, model)

    def start(**overrides: Any) -> str:
        return str(live_server(Remover(spec, backend=FakeBackend(size_hw=(64, 64))), model_file=lambda _i: model,
                               settings_overrides=overrides))

    return start, model


def model_requests(report: dict[str, Any]) -> list[int]:
    """How many requests for the model file each visit made (visits split at the driver's reload markers)."""
    counts = [0]
    for r in report["requests"]:
        if r["method"] == "RELOAD":
            counts.append(0)
        elif urlparse(r["url"]).path.startswith("/model/"):
            counts[-1] += 1
    return counts


def test_private_card_shows_a_provisional_preview_then_the_result(private_base: Any, tmp_path: Path) -> None:
    start, _ = private_base
    base = start()
    photo = sample_photo(tmp_path, (640, 426))
    report = drive({"url": base, "mode": "private", "images": [], "downloadDir": str(tmp_path), "timeoutMs": 240000,
                    "steps": [{"do": "eval", "expr": RECORD_STATES, "as": "_"},
                              {"do": "files", "images": [str(photo)]},
                              {"do": "waitFor", "expr": ALL_DONE, "timeoutMs": 240000},
                              {"do": "eval", "expr": "window.__states", "as": "states"},
                              {"do": "eval", "expr": "window.alphacutDebug.previews", "as": "previews"},
                              {"do": "download", "card": 0, "as": "final"}]})
    states = report["values"]["states"]
    order = [s["state"] for s in states]
    assert order[0] == "queued" and order[-1] == "done" and "preview" in order, states
    assert order.index("preview") < order.index("done")
    at_preview = states[order.index("preview")]
    assert at_preview["canDownload"] is False and at_preview["tag"] is True, at_preview  # provisional, not final
    assert "preview" in at_preview["status"], at_preview
    assert states[-1]["canDownload"] is True and states[-1]["tag"] is False
    previews = report["values"]["previews"]
    assert len(previews) == 1 and previews[0]["side"] == 320, previews
    print(f"\npreview {previews[0]['fromDropMs']:.0f} ms after the drop (test network): {previews[0]}")
    final = Image.open(report["downloads"]["final"])
    assert final.size == (640, 426) and final.mode == "RGBA"  # the download is the full-quality result


def test_the_model_is_downloaded_once_kept_checked_and_can_be_cleared(private_base: Any, tmp_path: Path) -> None:
    start, _ = private_base
    base = start()
    photos = []
    for n in "abc":
        (tmp_path / n).mkdir()
        photos.append(str(sample_photo(tmp_path / n, (200 + len(photos), 150))))
    damage = """caches.open('alphacut-models').then(async (c) => { const keys = await c.keys();
      await c.put(keys[0], new Response(new Uint8Array(1000))); return keys.map((k) => new URL(k.url).pathname); })"""
    kept = "caches.open('alphacut-models').then((c) => c.keys()).then((k) => k.length)"
    report = drive({"url": base, "mode": "private", "images": [photos[0]], "downloadDir": str(tmp_path),
                    "userDataDir": str(tmp_path / "profile"), "timeoutMs": 240000, "steps": [
                        {"do": "eval", "expr": "window.alphacutDebug.store", "as": "store1"},
                        {"do": "reload"},  # a later visit: the HTTP cache is emptied first
                        {"do": "drop", "images": [photos[1]]},
                        {"do": "eval", "expr": "window.alphacutDebug.store", "as": "store2"},
                        {"do": "eval", "expr": damage, "as": "damaged"},  # the kept copy gets corrupted
                        {"do": "reload"},
                        {"do": "drop", "images": [photos[2]]},
                        {"do": "eval", "expr": "window.alphacutDebug.store", "as": "store3"},
                        {"do": "eval", "expr": STATES_JS, "as": "states3"},
                        {"do": "eval", "expr": kept, "as": "keptBeforeForget"},
                        {"do": "click", "selector": "[data-testid=forget-model]"},
                        {"do": "waitFor", "expr": f"{kept}.then((n) => n === 0)", "timeoutMs": 5000},
                        {"do": "eval", "expr": kept, "as": "keptAfterForget"},
                        {"do": "eval", "expr": "document.querySelector('#private-status').textContent", "as": "note"}]})
    values = report["values"]
    assert model_requests(report) == [1, 0, 1], model_requests(report)  # once; none after a reload; again if damaged
    assert values["store1"]["source"] == "downloaded" and values["store1"]["kept"] is True, values["store1"]
    assert values["store2"]["source"] == "kept", values["store2"]
    assert values["damaged"] == ["/model/tiny-test.onnx"], values["damaged"]
    assert values["store3"]["source"] == "downloaded" and values["store3"]["dropped"] is True, values["store3"]
    assert values["states3"] == ["done"], values["states3"]  # the damaged copy was never used
    assert values["keptBeforeForget"] == 1 and values["keptAfterForget"] == 0
    assert "removed" in values["note"], values["note"]


def jpeg_with_exif(path: Path, size_wh: tuple[int, int]) -> Path:
    """A JPEG with an EXIF block (orientation 6) and a comment before its frame header: the page's header
    reader must skip those segments to find the size."""
    img = sample_photo(path.parent, size_wh)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010E] = "x" * 20000  # a large description: the size is well past the first kilobytes
    Image.open(img).convert("RGB").save(path, "JPEG", exif=exif, comment=b"alphacut test", quality=80)
    return path


def test_both_modes_refuse_an_image_over_the_servers_pixel_limit_with_one_message(private_base: Any,
                                                                                   tmp_path: Path) -> None:
    start, _ = private_base
    base = start(max_pixels=1_000_000)
    big_jpeg = jpeg_with_exif(tmp_path / "big.jpg", (1250, 1000))  # 1.25 MP
    big_webp = tmp_path / "big.webp"
    Image.open(sample_photo(tmp_path, (1001, 1000))).save(big_webp, "WEBP", quality=80)  # VP8 (lossy)
    big_webp_lossless = tmp_path / "big-lossless.webp"
    Image.new("RGB", (1100, 1000), (9, 9, 9)).save(big_webp_lossless, "WEBP", lossless=True)  # VP8L
    bomb = huge_png(tmp_path / "bomb.png")  # 400 MP
    ok = jpeg_with_exif(tmp_path / "ok.jpg", (1000, 1000))  # exactly at the limit: accepted
    images = [str(p) for p in (big_jpeg, big_webp, big_webp_lossless, bomb, ok)]
    messages = {}
    for mode in ("private", "server"):
        report = drive({"url": base, "mode": mode, "images": images, "downloadDir": str(tmp_path),
                        "timeoutMs": 240000, "steps": [{"do": "eval", "expr": STATES_JS, "as": "states"}]})
        assert report["values"]["states"] == ["failed"] * 4 + ["done"], (mode, report["statuses"])
        messages[mode] = report["statuses"][:4]
        if mode == "server":  # refused before upload: only the accepted image was sent
            assert len([r for r in report["requests"] if r["method"] == "POST"]) == 1
    assert messages["private"] == messages["server"], messages
    limit = "the limit is 1,000,000 px (1 MP)"
    sizes = ["1250x1000 = 1,250,000 px (1.25 MP)", "1001x1000 = 1,001,000 px (1.001 MP)",
             "1100x1000 = 1,100,000 px (1.1 MP)", "20000x20000 = 400,000,000 px (400 MP)"]
    for status, size in zip(messages["private"], sizes, strict=True):
        assert status.startswith("failed: ") and size in status and limit in status, status
    # the server, asked directly, says the same numbers (it reads the header before decoding too)
    import httpx

    res = httpx.post(base + "v1/remove", files={"file": ("big.jpg", big_jpeg.read_bytes(), "image/jpeg")})
    assert res.status_code == 413 and "1250x1000 = 1,250,000 px (1.25 MP); " + limit in res.json()["error"]["message"]
    cfg = httpx.get(base + "config.json").json()
    assert cfg["max_pixels"] == 1_000_000 and len(cfg["private_model"]["sha256"]) == 64


@pytest.mark.model
def test_real_model_preview_then_result_on_a_phone(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    """The default model (any input size) gives the preview at 320 px, then the full result; on a phone-sized
    viewport each is scrolled into view. ALPHACUT_SCREENSHOTS=docs/img refreshes web-private-preview-phone.png
    and web-private-result-phone.png."""
    from .test_page import _real_remover, shots_dir

    base = live_server(_real_remover())
    shots = shots_dir(tmp_path)
    photo = str(Path(__file__).resolve().parents[2] / "samples" / "astronaut.jpg")
    in_view = """(() => { const r = document.querySelector('[data-testid=card] .compare').getBoundingClientRect();
      return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; })()"""
    report = drive({"url": base, "mode": "private", "images": [], "downloadDir": str(tmp_path), "viewport": [390, 844],
                    "timeoutMs": 600000, "steps": [
                        {"do": "waitFor", "expr": "Boolean(window.alphacutDebug.store)", "timeoutMs": 300000},  # warmed up
                        {"do": "eval", "expr": RECORD_STATES, "as": "_"},
                        {"do": "files", "images": [photo]},
                        {"do": "waitFor", "expr": "document.querySelector('[data-testid=card]')?.dataset.state !== 'queued'",
                         "timeoutMs": 300000},
                        {"do": "waitFor", "expr": in_view, "timeoutMs": 3000},
                        {"do": "screenshot", "path": str(shots / "web-private-preview-phone.png")},
                        {"do": "eval", "expr": "document.querySelector('[data-testid=card]').dataset.state", "as": "shown"},
                        {"do": "waitFor", "expr": ALL_DONE, "timeoutMs": 600000},
                        {"do": "waitFor", "expr": in_view, "timeoutMs": 3000},
                        {"do": "screenshot", "path": str(shots / "web-private-result-phone.png")},
                        {"do": "eval", "expr": "window.__states", "as": "states"},
                        {"do": "eval", "expr": "window.alphacutDebug.previews", "as": "previews"}]})
    values = report["values"]
    order = [s["state"] for s in values["states"]]
    print(f"\nstates {order}; preview {values['previews']}")
    assert values["shown"] == "preview" and order[-1] == "done", values
    assert values["previews"][0]["side"] == 320
