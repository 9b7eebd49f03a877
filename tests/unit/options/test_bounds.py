"""Options that cannot exhaust the machine: caps, bounds relative to the image, and no 500 for any value.

The fuzz sends every option field with hostile values through both routes (fake backend) and
requires a 200 or a 4xx naming the problem; never a 500.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from click.testing import CliRunner

from alphacut.errors import OptionsError
from alphacut.options import (
    MAX_BLUR_PX,
    MAX_CANVAS_PIXELS,
    MAX_RADIUS_PX,
    Background,
    Margin,
    Options,
    check_fits_image,
    parse_size,
)

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")  # 120x80

HOSTILE = ["", "0", "-1", "1", "7", "39", "41", "150", "501", "1000", "99999999999999999999", "1e400", "nan",
           "inf", "-inf", "1.5", "abc", "10%", "100%", "1000%", "-5%", "nan%", "1x1", "0x0", "20000x20000",
           "8000x5001", "99999x1", "35x45mm", "1e9mm", "blur", "blur:15", "blur:nan", "blur:0", "blur:1e9",
           "blur:inf", "#fff", "#ffffff00", "transparent", "center", "largest", "7", "true", "false", " ", "\x00",
           "\u00e9", "🙂"]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"erode": MAX_RADIUS_PX + 1}, "erode_px"), ({"dilate": 10**9}, "dilate_px"),
    ({"outline": 1000}, "outline_px"), ({"bg": "blur:501"}, "blur"),
    ({"min_area": 10**12}, "min_area_px"), ({"size": "20000x20000"}, "size"),
])
def test_absolute_caps(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(OptionsError) as err:
        Options.from_user(**kwargs)
    assert err.value.code == "options.invalid" and field.split("_")[0] in str(err.value)
    assert MAX_BLUR_PX == MAX_RADIUS_PX  # one documented cap for every radius


@pytest.mark.parametrize("text", ["nan", "inf", "-1", "10001", "101%", "nan%", "1e400"])
def test_margin_must_be_finite_and_capped(text: str) -> None:
    with pytest.raises(OptionsError):
        Margin.parse(text)


@pytest.mark.parametrize("text", ["1e400", "inf", "nan", "20000x20000", "8000x5001", "1e9mm"])
def test_size_must_be_finite_and_at_most_the_canvas_cap(text: str) -> None:
    with pytest.raises(OptionsError):
        parse_size(text)
    assert parse_size("8000x5000") == (8000, 5000) and 8000 * 5000 == MAX_CANVAS_PIXELS


@pytest.mark.parametrize(("options", "ok"), [
    (Options(erode_px=40), True), (Options(erode_px=41), False), (Options(dilate_px=41), False),
    (Options(outline_px=41), False), (Options(background=Background.blurred(40.5)), False),
    (Options(background=Background.blurred(40)), True),
    (Options(crop=True, margin=Margin.all(120)), True), (Options(crop=True, margin=Margin.all(121)), False),
    (Options(crop=True, margin=Margin.all(100, percent=True)), True),
    (Options(min_area_px=9600), True), (Options(min_area_px=9601), False),
])
def test_bounds_relative_to_the_image(options: Options, ok: bool) -> None:
    if ok:
        check_fits_image(options, (120, 80))
    else:
        with pytest.raises(OptionsError) as err:
            check_fits_image(options, (120, 80))
        assert err.value.code == "options.too-large" and "120x80" in err.value.message


def test_library_refuses_before_inference(tiny_spec: Any) -> None:
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    backend = FakeBackend(size_hw=(64, 64))
    with pytest.raises(OptionsError) as err:
        Remover(tiny_spec, backend=backend).cutout(PNG, Options(erode_px=150))
    assert err.value.code == "options.too-large" and backend.calls == 0


def test_cli_names_the_bound_and_exits_2(monkeypatch: pytest.MonkeyPatch, tiny_spec: Any, tmp_path: Any) -> None:
    from alphacut import Remover, cli
    from alphacut.runtime.fake import FakeBackend

    monkeypatch.setattr(cli, "_remover", lambda settings, **_: Remover(tiny_spec, backend=FakeBackend()))
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    src = tmp_path / "a.png"
    src.write_bytes(PNG)
    res = CliRunner().invoke(cli.main, ["remove", str(src), "-o", str(tmp_path / "o.png"), "--erode", "1000"])
    assert res.exit_code == 2 and "500" in res.output and not (tmp_path / "o.png").exists()
    res = CliRunner().invoke(cli.main, ["remove", str(src), "-o", str(tmp_path / "o.png"), "--outline", "60"])
    assert "options.too-large" in res.output and not (tmp_path / "o.png").exists()


@pytest.fixture(scope="module")
def client(request: pytest.FixtureRequest) -> Any:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.api import Remover
    from alphacut.models.catalog import ModelSpec
    from alphacut.runtime.fake import FakeBackend
    from alphacut.server.app import create_app
    from alphacut.server.schemas import OPTION_FIELDS, ServerSettings

    spec = ModelSpec.from_dict({"id": "tiny-test", "description": "t", "licence": "none",
                                "checksum": "sha256:" + "0" * 64, "input_size": 64, "mean": [0.5, 0.5, 0.5],
                                "std": [1, 1, 1], "sources": [{"kind": "file", "path": "/x"}]})
    remover = Remover(spec, backend=FakeBackend(size_hw=(64, 64)))
    with TestClient(create_app(remover, ServerSettings(), model_file=lambda _id: None),
                    base_url="http://127.0.0.1:7000") as c:
        c.fields = sorted(OPTION_FIELDS)  # type: ignore[attr-defined]
        yield c


def _check(r: Any, what: str) -> None:
    assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    if r.status_code != 200:
        body = r.json()
        err = body["error"] if "error" in body else body["errors"][0]
        assert err["code"] and (err.get("message") or err.get("title")), what


def test_no_option_value_gives_a_500(client: Any) -> None:
    for name, value in itertools.product(client.fields, HOSTILE):
        _check(client.post("/v1/remove", files={"file": ("a.png", PNG)}, data={name: value}), f"{name}={value!r}")


#: per size-like field, the values on either side of its bound for the 120x80 test image
EDGES = {"erode": ["40", "41"], "dilate": ["40", "41"], "outline": ["40", "41"], "margin": ["120", "100%"],
         "size": ["1x1", "300x200"], "bg": ["blur:40", "blur:41"], "min_area": ["9600", "9601"],
         "fill": ["0.05", "1"]}


def test_no_option_pair_gives_a_500(client: Any) -> None:
    for a, b in itertools.combinations(EDGES, 2):
        for va, vb in itertools.product(EDGES[a], EDGES[b]):
            fields = {a: va, b: vb, "crop": "true"}
            _check(client.post("/v1/remove", files={"file": ("a.png", PNG)}, data=fields), repr(fields))


@pytest.mark.parametrize("preset", ["ecommerce", "id-photo", "avatar-circle", "sticker"])
def test_presets_with_hostile_overrides(client: Any, preset: str) -> None:
    for name in ("size", "outline", "margin", "fill", "bg"):
        for value in ("1e400", "nan", "20000x20000", "1000", "blur:1e9"):
            _check(client.post("/v1/remove", files={"file": ("a.png", PNG)},
                               data={"preset": preset, name: value}), f"{preset} {name}={value!r}")


REMOVEBG_FIELDS = ["size", "type", "type_level", "format", "roi", "crop", "crop_margin", "scale", "position",
                   "channels", "add_shadow", "semitransparency", "bg_color", "image_file_b64"]


def test_removebg_no_value_gives_a_500(client: Any) -> None:
    for name, value in itertools.product(REMOVEBG_FIELDS, [*HOSTILE, "0 0 1e400 1e400", "50% 0 10% 1e9%"]):
        files = None if name == "image_file_b64" else {"image_file": ("a.png", PNG)}
        _check(client.post("/v1.0/removebg", files=files, data={name: value}), f"removebg {name}={value!r}")


def test_api_gaps(client: Any) -> None:
    r = client.post("/v1/remove", data={"image_url": "https://example.com/a.jpg"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "request.url-not-fetched"
    assert "never fetches" in r.json()["error"]["message"]
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"type": "spaceship"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "invalid_type"
    assert client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)},
                       data={"type": "car"}).headers["x-type"] == "car"
    for r in (client.post("/v1/remove", files={"file": ("a.png", b"")}),
              client.post("/v1/remove", content=b"", headers={"content-type": "image/png"})):
        assert r.status_code == 415 and r.json()["error"]["code"] == "input.empty"
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", b"")})
    assert r.status_code == 415 and r.json()["errors"][0]["code"] == "invalid_file_type"
    r = client.post("/v1/remove")  # no body at all: nothing was sent, not an empty image
    assert r.status_code == 400 and r.json()["error"]["code"] == "input.missing"
