"""Every control of the page does what it says (issue 22's six problems), in server mode with the fake backend:
keyboard in the editor (Enter on a focused button is that button, Space works on its buttons, Tab stays in
the dialog), controls apply to every card when none is ticked, a preset's background does not leak into
the next preset, the background picture can be chosen again and a cancelled chooser changes nothing,
images over the pixel limit are refused from their header with one message naming the limit, and the
phone layout (result scrolled into view, named preview canvases, no hidden tab stop)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import drive
from .test_cards_and_editor import alpha_of, disc_photo

pytestmark = pytest.mark.browser

SETTINGS_JS = "[...document.querySelectorAll('[data-testid=settings]')].map((e) => e.textContent)"
BG_JS = "document.querySelector('input[name=bg]:checked').value"
EDITOR_OPEN_JS = "!document.querySelector('#editor').hidden"


def rgba_of(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA")).astype(int)


def test_editor_keyboard_enter_is_the_focused_button_space_works_tab_stays(fake_base: str, tmp_path: Path) -> None:
    photo = disc_photo(tmp_path / "d.png")  # disc: x 144..336, y 72..288
    stroke = {"stroke": [(150.0, 180.0), (330.0, 180.0)], "tool": "erase", "size": 14, "edge": False}
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "download", "card": 0, "as": "orig"},
                        {"do": "edit", "card": 0, "finish": "none", "actions": [stroke]},
                        {"do": "tab", "count": 40, "as": "tabs"},  # round the dialog twice: never behind it
                        {"do": "tab", "count": 3, "shift": True, "as": "backTabs"},
                        {"do": "focus", "selector": "[data-testid=ed-cancel]"},
                        {"do": "press", "key": "Enter"},  # Cancel, from the keyboard
                        {"do": "eval", "expr": EDITOR_OPEN_JS, "as": "openAfterCancel"},
                        {"do": "eval", "expr": SETTINGS_JS, "as": "settingsAfterCancel"},
                        {"do": "download", "card": 0, "as": "cancelled"},
                        {"do": "edit", "card": 0, "finish": "none", "actions": [stroke]},
                        {"do": "focus", "selector": "#ed-restore"},
                        {"do": "press", "key": " "},  # Space on a tool button selects it
                        {"do": "eval", "expr": "document.querySelector('#ed-restore').getAttribute('aria-pressed')",
                         "as": "restorePressed"},
                        {"do": "focus", "selector": "[data-testid=ed-undo]"},
                        {"do": "press", "key": "Enter"},  # Enter on Undo undoes, and the editor stays open
                        {"do": "eval", "expr": "window.alphacutEditor()?.undo.length ?? -1", "as": "undoAfterEnter"},
                        {"do": "eval", "expr": EDITOR_OPEN_JS, "as": "openAfterUndo"},
                        {"do": "focus", "selector": "#ed-redo"},
                        {"do": "press", "key": " "},  # Space on Redo redoes
                        {"do": "eval", "expr": "window.alphacutEditor()?.undo.length ?? -1", "as": "undoAfterSpace"},
                        {"do": "focus", "selector": "[data-testid=ed-done]"},
                        {"do": "press", "key": "Enter"},  # Done, from the keyboard
                        {"do": "eval", "expr": EDITOR_OPEN_JS, "as": "openAfterDone"},
                        {"do": "download", "card": 0, "as": "done"}]})
    values = report["values"]
    outside = [t for t in values["tabs"] + values["backTabs"] if not t["inEditor"]]
    assert not outside, outside  # Tab and Shift+Tab stay inside the aria-modal dialog
    assert len({t["id"] or t["testid"] or t["tag"] for t in values["tabs"]}) >= 8  # and reach its controls
    assert values["openAfterCancel"] is False
    assert "touched up" not in values["settingsAfterCancel"][0], values["settingsAfterCancel"]
    orig, cancelled, done = (alpha_of(report["downloads"][k]) for k in ("orig", "cancelled", "done"))
    assert np.array_equal(cancelled, orig)  # Enter on Cancel kept nothing
    assert values["restorePressed"] == "true"
    assert values["undoAfterEnter"] == 0 and values["openAfterUndo"] is True
    assert values["undoAfterSpace"] == 1
    assert values["openAfterDone"] is False
    assert (done != orig).sum() > 1000  # Enter on Done kept the (redone) stroke


def test_controls_apply_to_every_card_when_none_is_ticked(fake_base: str, tmp_path: Path) -> None:
    a, b = disc_photo(tmp_path / "a.png"), disc_photo(tmp_path / "b.png", (400, 400))
    note = "document.querySelector('#apply-note').textContent"
    report = drive({"url": fake_base, "mode": "server", "images": [str(a), str(b)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "eval", "expr": note, "as": "noteNone"},
                        {"do": "bg", "value": "#ffffff"},  # nothing ticked: every card
                        {"do": "download", "card": 0, "as": "a_white"},
                        {"do": "download", "card": 1, "as": "b_white"},
                        {"do": "pick", "card": 1},
                        {"do": "eval", "expr": note, "as": "noteOne"},
                        {"do": "bg", "value": "#000000"},  # one ticked: that one only
                        {"do": "download", "card": 0, "as": "a_after"},
                        {"do": "download", "card": 1, "as": "b_black"}]})
    values = report["values"]
    assert "every card" in values["noteNone"], values["noteNone"]
    assert "1 selected card" in values["noteOne"], values["noteOne"]
    for key in ("a_white", "b_white", "a_after"):
        px = rgba_of(report["downloads"][key])
        assert px[:, :, 3].min() == 255 and px[0, 0, :3].min() == 255, key  # opaque white around the subject
    black = rgba_of(report["downloads"]["b_black"])
    assert black[:, :, 3].min() == 255 and black[0, 0, :3].max() == 0
    assert report["settings"][0].startswith("no preset · white") and report["settings"][1].startswith("no preset · black")


def test_a_presets_background_does_not_leak_into_the_next(fake_base: str, tmp_path: Path) -> None:
    a, b, c = (disc_photo(tmp_path / f"{n}.png") for n in "abc")
    report = drive({"url": fake_base, "mode": "server", "images": [str(a)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "pick", "card": 0},
                        {"do": "preset", "value": "ecommerce"}, {"do": "wait"},
                        {"do": "eval", "expr": BG_JS, "as": "bgEcommerce"},
                        {"do": "preset", "value": "avatar-circle"}, {"do": "wait"},
                        {"do": "eval", "expr": BG_JS, "as": "bgAvatar"},
                        {"do": "download", "card": 0, "as": "round"},
                        {"do": "preset", "value": ""}, {"do": "wait"},
                        {"do": "eval", "expr": BG_JS, "as": "bgNone"},
                        {"do": "drop", "images": [str(b)]},
                        # the user's own pick after choosing a preset is kept for that preset's cards
                        {"do": "preset", "value": "ecommerce"}, {"do": "bg", "value": "#000000"},
                        {"do": "drop", "images": [str(c)]},
                        {"do": "download", "card": 2, "as": "ecommerceBlack"}]})
    values = report["values"]
    assert values["bgEcommerce"] == "#ffffff"  # E-commerce brings white
    assert values["bgAvatar"] == "transparent" and values["bgNone"] == "transparent", values
    round_px = rgba_of(report["downloads"]["round"])
    assert round_px[0, 0, 3] == 0 and round_px[:, :, 3].max() == 255  # a round cut-out, not a white square
    assert report["settings"][1].startswith("no preset · transparent"), report["settings"]
    assert report["settings"][2].startswith("ecommerce · black"), report["settings"]
    assert rgba_of(report["downloads"]["ecommerceBlack"])[0, 0, :3].max() == 0


def test_the_background_picture_can_be_changed_and_a_cancelled_chooser_changes_nothing(
        fake_base: str, tmp_path: Path) -> None:
    photo = disc_photo(tmp_path / "p.png")
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    Image.new("RGB", (64, 48), (230, 20, 20)).save(red)
    Image.new("RGB", (64, 48), (20, 20, 230)).save(blue)
    label = "label.bg-opt:has(input[name=bg][value=image])"
    report = drive({"url": fake_base, "mode": "server", "images": [str(photo)], "downloadDir": str(tmp_path),
                    "steps": [
                        {"do": "chooser", "selector": label, "as": "cancelOpened"},  # the first chooser, cancelled
                        {"do": "eval", "expr": BG_JS, "as": "bgAfterCancel"},
                        {"do": "eval", "expr": SETTINGS_JS, "as": "settingsAfterCancel"},
                        {"do": "chooser", "selector": label, "images": [str(red)], "as": "firstOpened"},
                        {"do": "download", "card": 0, "as": "red"},
                        {"do": "bg", "value": "#ffffff"},
                        {"do": "chooser", "selector": label, "images": [str(blue)], "as": "secondOpened"},
                        {"do": "download", "card": 0, "as": "blue"},
                        {"do": "bg", "value": "#000000"},
                        {"do": "chooser", "selector": label, "as": "thirdOpened"},  # cancelled: back to black
                        {"do": "eval", "expr": BG_JS, "as": "bgAfterSecondCancel"},
                        {"do": "download", "card": 0, "as": "black"}]})
    values = report["values"]
    assert values["cancelOpened"] is True
    assert values["bgAfterCancel"] == "transparent", values
    assert "transparent" in values["settingsAfterCancel"][0], values["settingsAfterCancel"]
    assert values["firstOpened"] is True and values["secondOpened"] is True and values["thirdOpened"] is True, values
    assert rgba_of(report["downloads"]["red"])[0, 0, :3].tolist() == [230, 20, 20]
    assert rgba_of(report["downloads"]["blue"])[0, 0, :3].tolist() == [20, 20, 230]
    assert values["bgAfterSecondCancel"] == "#000000"
    assert rgba_of(report["downloads"]["black"])[0, 0, :3].max() == 0


def huge_png(path: Path, w: int = 20000, h: int = 20000) -> Path:
    """A valid 1-bit grey PNG of w×h (400 MP by default) in a few tens of kB: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" * (1 + (w + 7) // 8)
    idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


STATES_JS = "[...document.querySelectorAll('[data-testid=card]')].map((e) => e.dataset.state)"


def test_server_mode_refuses_an_image_over_the_pixel_limit_from_its_header(fake_base: str, tmp_path: Path) -> None:
    """The page reads the size from the file's header (the limit from /config.json) and sends nothing; the
    server, asked directly, refuses it as well with its own limit named (not Pillow's bomb text)."""
    import httpx

    bomb = huge_png(tmp_path / "bomb.png")
    ok = disc_photo(tmp_path / "ok.png")
    report = drive({"url": fake_base, "mode": "server", "images": [str(bomb), str(ok)], "downloadDir": str(tmp_path),
                    "steps": [{"do": "eval", "expr": STATES_JS, "as": "states"}]})
    status = report["statuses"][0]
    assert status.startswith("failed") and report["statuses"][1].startswith("done"), report["statuses"]
    assert "20000x20000" in status and "the limit is 100,000,000 px (100 MP)" in status, status
    assert report["values"]["states"] == ["failed", "done"]
    assert not [r for r in report["requests"] if r["method"] == "POST" and r["body_b64"]
                and b"IHDR" in __import__("base64").b64decode(r["body_b64"])]  # never uploaded
    res = httpx.post(fake_base + "v1/remove", files={"file": ("bomb.png", bomb.read_bytes(), "image/png")})
    body = res.json()
    assert res.status_code == 413 and body["error"]["code"] == "input.too-large", body
    assert "the limit is 100,000,000 px (100 MP)" in body["error"]["message"], body
    assert "decompression bomb" not in body["error"]["message"].lower(), body


def test_phone_layout_scrolls_to_the_result_names_canvases_and_skips_the_hidden_input(
        fake_base: str, tmp_path: Path) -> None:
    photo = disc_photo(tmp_path / "p.png")
    in_view = """(() => { const r = document.querySelector('[data-testid=card] .compare').getBoundingClientRect();
      return r.top < innerHeight && r.bottom > 0 && r.height > 0; })()"""
    names = """[...document.querySelectorAll('[data-testid=card] canvas')].map((c) =>
      (c.getAttribute('role') || '') + ':' + (c.getAttribute('aria-label') || ''))"""
    report = drive({"url": fake_base, "mode": "server", "images": [], "downloadDir": str(tmp_path),
                    "viewport": [390, 844], "steps": [
                        {"do": "eval", "expr": "scrollY", "as": "scrollBefore"},
                        {"do": "drop", "images": [str(photo)]},
                        {"do": "waitFor", "expr": in_view, "timeoutMs": 5000},
                        {"do": "eval", "expr": in_view, "as": "inView"},
                        {"do": "eval", "expr": names, "as": "names"},
                        {"do": "eval", "expr": "document.activeElement.blur(), scrollTo(0, 0)", "as": "_"},
                        {"do": "tab", "count": 12, "as": "tabs"}]})
    values = report["values"]
    assert values["inView"] is True
    assert len(values["names"]) == 2 and all(n.startswith("img:") and len(n) > 8 for n in values["names"]), values
    stops = [t["testid"] or t["id"] or t["tag"] for t in values["tabs"]]
    assert "files" not in stops and "drop" in stops, stops  # the drop zone is the one stop for choosing files
