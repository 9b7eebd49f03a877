"""Private mode with the real model: inference runs in a worker, so the page's main thread stays
responsive during a batch (longest gap of a 10 ms timer; target 200 ms, asserted < 1 s on a loaded
machine) and each card's bar moves during inference; the page is cross-origin isolated and says which
runtime it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from .conftest import ROOT, drive
from .test_page import _real_remover

SAMPLES = ROOT / "samples"
pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_private_batch_keeps_the_page_responsive(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    base = live_server(_real_remover())
    images = [str(SAMPLES / "coffee.jpg"), str(SAMPLES / "chelsea.jpg")]
    report = drive({"url": base, "mode": "private", "images": images, "downloadDir": str(tmp_path),
                    "timeoutMs": 900000, "measureGaps": True, "idleGapsMs": 15000, "steps": [
                        {"do": "download", "card": 0, "as": "orig"},
                        {"do": "edit", "card": 0, "finish": "done", "actions": [
                            {"stroke": [[40, 40], [200, 60]], "tool": "restore", "size": 20, "edge": False}]},
                        {"do": "download", "card": 0, "as": "edited"}]}, timeout_s=1200)
    assert all(s.startswith("done") for s in report["statuses"]), report["statuses"]
    gaps = report["gaps"]
    idle = report["idleGaps"]
    print(f"\nidle page: longest gap {idle['max']:.0f} ms, long task {idle['longTask']:.0f} ms; during the batch: "
          f"longest main-thread gap {gaps['max']:.0f} ms, longest long task {gaps['longTask']:.0f} ms, "
          f"statuses {report['statuses']}; gaps > 100 ms {gaps.get('big')}; long tasks {gaps.get('tasks')}")
    assert report["isolated"] is True  # COOP/COEP: SharedArrayBuffer, so onnxruntime-web may use threads
    assert "WebAssembly" in report["note"] or "WebGPU" in report["note"], report["note"]
    # The target is 200 ms. On this project's shared 2-core machine (load average 35-60) the batch's
    # longest gap measured 179-405 ms (docs/WEB.md), so the test holds the line at 1 s: it catches a frozen
    # page (inference on the main thread was a 20 s gap) without failing on the machine's load.
    assert gaps["max"] < 1000, (gaps["max"], idle["max"])
    # the second card's bar moved while its inference ran (estimated from the first image's time)
    second = [s[1] for s in gaps["samples"] if len(s) > 1 and 35 <= s[1] < 90]
    assert len(set(second)) >= 3, second
    # the editor works in private mode too, and nothing is sent anywhere: GETs of the page, runtime and model
    orig = np.asarray(Image.open(report["downloads"]["orig"]).getchannel("A")).astype(int)
    edited = np.asarray(Image.open(report["downloads"]["edited"]).getchannel("A")).astype(int)
    assert (edited > orig).sum() > 100 and not (edited < orig).any()
    assert all(r["method"] in ("GET", "HEAD") for r in report["requests"]), [r["url"] for r in report["requests"]]


def test_editor_screenshots_with_real_model(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    """The editor on a real cutout (server mode): zoomed on the hair, after an edge-aware erase stroke;
    desktop and phone. ALPHACUT_SCREENSHOTS=docs/img refreshes the README's pictures."""
    from .test_page import shots_dir

    base = live_server(_real_remover())
    shots = shots_dir(tmp_path)
    image = SAMPLES / "astronaut.jpg"
    report = drive({"url": base, "mode": "server", "images": [str(image)], "downloadDir": str(tmp_path),
                    "timeoutMs": 300000, "steps": [
                        {"do": "download", "card": 0, "as": "orig"},
                        {"do": "edit", "card": 0, "finish": "done", "actions": [
                            {"wheel": [640, 330, -400]},
                            {"stroke": [[292, 75], [294, 105], [287, 135]], "tool": "erase", "size": 14, "edge": True},
                            {"screenshot": str(shots / "web-editor-desktop.png")},
                            {"click": "#ed-before"}, {"screenshot": str(shots / "web-editor-before.png")},
                            {"click": "#ed-before"},
                            {"viewport": [390, 844]}, {"screenshot": str(shots / "web-editor-phone.png")}]},
                        {"do": "download", "card": 0, "as": "edited"}]}, timeout_s=900)
    assert report["statuses"][0].startswith("done"), report["statuses"]
    assert not [c for c in report["console"] if c.startswith(("error", "pageerror"))], report["console"]
    orig = np.asarray(Image.open(report["downloads"]["orig"]).getchannel("A")).astype(int)
    edited = np.asarray(Image.open(report["downloads"]["edited"]).getchannel("A")).astype(int)
    assert (orig != edited).sum() > 100
    assert (shots / "web-editor-desktop.png").stat().st_size > 10_000
