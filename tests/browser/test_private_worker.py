"""Private mode with the real model: inference and all full-size picture work run in workers, so no task
on the page's main thread takes 200 ms of its CPU during a batch (measured from a Chromium trace, several
runs, with a 12-megapixel photo in the batch) and each card's bar moves during inference; the page is
cross-origin isolated and says which runtime it uses."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from .conftest import ROOT, drive
from .test_page import _real_remover

SAMPLES = ROOT / "samples"
pytestmark = [pytest.mark.browser, pytest.mark.model]
RUNS = 2


def phone_photo(path: Path) -> Path:
    """A 12-megapixel JPEG (3024×4032, a phone camera's size) made from a sample photo."""
    Image.open(SAMPLES / "astronaut.jpg").convert("RGB").resize((3024, 4032), Image.Resampling.BICUBIC).save(
        path, quality=90)
    return path


def test_private_batch_keeps_the_page_responsive(browser_tools: None, live_server: Any, tmp_path: Path) -> None:
    base = live_server(_real_remover())
    images = [str(phone_photo(tmp_path / "phone.jpg")), str(SAMPLES / "coffee.jpg")]
    runs = []
    for run in range(RUNS):
        steps = [{"do": "download", "card": 1, "as": "orig"},
                 {"do": "edit", "card": 1, "finish": "done", "actions": [
                     {"stroke": [[40, 40], [200, 60]], "tool": "restore", "size": 20, "edge": False}]},
                 {"do": "download", "card": 1, "as": "edited"}] if run == 0 else []
        report = drive({"url": base, "mode": "private", "images": images, "downloadDir": str(tmp_path),
                        "timeoutMs": 900000, "measureGaps": True, "idleGapsMs": 10000, "trace": True,
                        "steps": steps}, timeout_s=1800)
        assert all(s.startswith("done") for s in report["statuses"]), report["statuses"]
        trace, gaps, idle = report["trace"], report["gaps"], report["idleGaps"]
        worst = sorted(trace["tasks"], key=lambda t: -(t["cpuMs"] or 0))[:3]
        print(f"\nrun {run + 1}: main-thread tasks {trace['count']} ({len(trace['tasks'])} over 50 ms), longest task "
              f"CPU {trace['maxCpuMs']} ms "
              f"(wall {trace['maxWallMs']} ms); timer gaps: idle page {idle['max']:.0f} ms, during the batch "
              f"{gaps['max']:.0f} ms; costliest tasks {worst}; statuses {report['statuses']}")
        runs.append(report)
        if run == 0:
            first = report
    cpu = [r["trace"]["maxCpuMs"] for r in runs]
    wall = [r["gaps"]["max"] for r in runs]
    print(f"over {RUNS} runs: longest main-thread task CPU median {statistics.median(cpu)} ms, max {max(cpu)} ms; "
          f"longest timer gap median {statistics.median(wall):.0f} ms, max {max(wall):.0f} ms")
    for r in runs:
        assert r["trace"]["count"] > 100, r["trace"]  # the trace saw the page's main thread
        assert all(t["cpuMs"] is not None for t in r["trace"]["tasks"]), r["trace"]["tasks"]
        # The target: nothing the page does on its main thread takes 200 ms (its CPU time, so the waits
        # for a core on this shared machine do not count; the wall times are printed and in docs/WEB.md).
        assert r["trace"]["maxCpuMs"] < 200, r["trace"]["tasks"]
        # and the page is never frozen for long whatever the machine's load (inference on the main
        # thread was a 20 s gap)
        assert r["gaps"]["max"] < 1000, (r["gaps"]["max"], r["idleGaps"]["max"])
    report = first
    assert report["isolated"] is True  # COOP/COEP: SharedArrayBuffer, so onnxruntime-web may use threads
    assert "WebAssembly" in report["note"] or "WebGPU" in report["note"], report["note"]
    # the second card's bar moved while its inference ran (estimated from the first image's time)
    second = [s[1] for s in report["gaps"]["samples"] if len(s) > 1 and 35 <= s[1] < 90]
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
