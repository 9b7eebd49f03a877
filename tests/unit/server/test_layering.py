"""The server's seams: it calls the library through Remover, imports no pixel code, and has no import circle."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

SERVER = Path(__file__).resolve().parents[3] / "src" / "alphacut" / "server"
FORBIDDEN = ("alphacut.post", "alphacut.ops", "alphacut.io.decode", "alphacut.runtime", "alphacut.pipeline",
             "alphacut.composition")


def imports(path: Path) -> set[str]:
    """Absolute module names a server module imports (at the top or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            base = "alphacut.server" if node.level == 1 else "alphacut" if node.level == 2 else ""
            out.add(f"{base}.{node.module}".strip(".") if node.level else node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


@pytest.mark.parametrize("path", sorted(SERVER.glob("*.py")), ids=lambda p: p.name)
def test_server_reaches_no_pixel_code(path: Path) -> None:
    # ops.pixels is the one u8<->float conversion (a matte to 8 bits), not pixel work
    bad = sorted(m for m in imports(path) if m.startswith(FORBIDDEN) and m != "alphacut.ops.pixels")
    assert bad == [], f"{path.name} imports {bad}: go through alphacut.api.Remover"


def test_no_routes_app_import_circle() -> None:
    for name in ("routes.py", "removebg.py", "schemas.py", "origin.py"):
        assert "alphacut.server.app" not in imports(SERVER / name), name


def test_removebg_calls_remover_cutout_with_all_fields_as_options(tiny_spec: Any) -> None:
    """The route maps every remove.bg field to Options and calls the Remover users call, once:
    crop, crop_margin, roi and size are Options, not pixel work in the server."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.api import Remover
    from alphacut.options import Length, MarginBasis, Roi
    from alphacut.runtime.fake import FakeBackend
    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    from ..conftest import encoded, square_image

    seen: list[Any] = []

    class Recording(Remover):
        def cutout(self, image: Any, options: Any = None, **overrides: Any) -> Any:
            seen.append(options)
            return super().cutout(image, options, **overrides)

        def prepare(self, *a: Any, **k: Any) -> Any:  # the staged API is not the route's way in
            raise AssertionError("the route must call Remover.cutout")

    remover = Recording(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    with TestClient(create_app(remover, ServerSettings(), model_file=lambda _id: None),
                    base_url="http://127.0.0.1:7000") as c:
        png = encoded(square_image(), "PNG")
        assert c.post("/v1.0/removebg", files={"image_file": ("a.png", png)},
                      data={"format": "jpg", "bg_color": "81d4fa"}).status_code == 200
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", png)},
                   data={"crop": "true", "crop_margin": "10px 20%", "roi": "0% 0% 50% 100%", "size": "preview"})
        assert r.status_code == 200, r.text
    assert [(o.format.value, o.background.describe()) for o in seen] == [("jpg", "#81d4fa"), ("png", "transparent")]
    options = seen[1]
    assert options.crop and options.max_output_pixels == 250_000
    assert options.roi == Roi(Length(0, True), Length(0, True), Length(50, True), Length(100, True))
    assert options.margin.sides == (Length(10), Length(20, True), Length(10), Length(20, True))
    assert (options.margin.basis, options.margin.max_frac, options.margin.max_px) == (MarginBasis.AXIS, 0.5, 500)
