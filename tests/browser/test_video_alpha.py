"""The .webm `alphacut video` writes is transparent in Chromium: a <video> over a magenta page shows
magenta where the matte is 0 and the subject where it is 1 (VP9 yuva420p with alpha_mode set)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .conftest import CHROMIUM, ROOT

pytestmark = pytest.mark.browser
CHECK = Path(__file__).with_name("video_check.mjs")
PAGE = """<!doctype html><html><body style="margin:0;background:#ff00ff">
<video src="{src}" muted playsinline style="display:block;width:96px;height:64px"></video>
<script>
const v = document.querySelector("video");
v.addEventListener("loadeddata", () => {{ v.pause(); v.currentTime = 0;
  v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => window.videoReady = true)
                              : (window.videoReady = true); }});
v.addEventListener("error", () => window.videoError = String(v.error && v.error.message || v.error.code));
v.play().catch(() => {{}});
</script></body></html>"""


def test_webm_alpha_shows_the_page_colour(tmp_path: Path, tiny_spec: object) -> None:
    if shutil.which("node") is None or not CHROMIUM.exists():
        pytest.skip("node or /usr/bin/chromium missing (run `make browser-deps`)")
    if not (ROOT / "web" / "node_modules" / "playwright-core").is_dir():
        pytest.skip("web/node_modules/playwright-core is missing (run `make web`)")
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    import alphacut
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend
    from tests.unit.video.conftest import make_clip

    clip = make_clip(tmp_path / "in.mp4", frames=8)
    out = tmp_path / "out.webm"
    alphacut.remove_video(clip, out, remover=Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))))
    html = tmp_path / "page.html"
    html.write_text(PAGE.format(src=out.name))
    # 2 s on a quiet machine; it timed out once at 30 s with two test suites sharing the 2 cores: 90 s
    job = {"webDir": str(ROOT / "web"), "chromium": str(CHROMIUM), "html": str(html), "timeoutMs": 90_000}
    proc = subprocess.run(["node", str(CHECK)], check=False, input=json.dumps(job), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report.get("error") is None, report
    import cv2

    shot = cv2.imdecode(np.frombuffer(base64.b64decode(report["png_b64"]), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
    assert shot.shape[:2] == (64, 96), shot.shape
    corner = shot[2:10, 2:10].reshape(-1, 3).mean(axis=0)  # background: matte 0 → the page's magenta
    square = shot[26:38, 22:40].reshape(-1, 3).mean(axis=0)  # the dark blue square (matte 1) of frame 0
    assert np.abs(corner - (255, 0, 255)).max() < 40, corner
    assert np.abs(square - (30, 40, 160)).max() < 45, square
