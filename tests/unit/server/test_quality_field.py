"""The HTTP field `quality`: standard / best for the matte, a whole number as the older jpeg_quality alias."""

from __future__ import annotations

import base64
import io
import json
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from alphacut.api import Remover
from alphacut.errors import ServerError
from alphacut.options import Quality
from alphacut.runtime.fake import FakeBackend
from alphacut.server.app import create_app
from alphacut.server.schemas import ServerSettings, options_from_fields, parse_body

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")
JPEG_FIELDS = {"format": "jpg"}


@pytest.fixture
def served(tiny_spec):  # type: ignore[no-untyped-def]
    """A server on a FakeBackend that counts its runs (one per network run)."""
    backend = FakeBackend(size_hw=(64, 64))
    app = create_app(Remover(tiny_spec, backend=backend), ServerSettings(), model_file=lambda _id: None)
    with TestClient(app, base_url="http://127.0.0.1:7000") as client:
        yield client, backend


@pytest.mark.parametrize(("fields", "quality", "jpeg_quality"), [
    ({}, Quality.STANDARD, 95),
    ({"quality": "best"}, Quality.BEST, 95),
    ({"quality": " Best "}, Quality.BEST, 95),
    ({"quality": "standard"}, Quality.STANDARD, 95),
    ({"quality": "70"}, Quality.STANDARD, 70),  # the older alias of jpeg_quality
    ({"jpeg_quality": "60"}, Quality.STANDARD, 60),
    ({"quality": "best", "jpeg_quality": "60"}, Quality.BEST, 60),
])
def test_quality_field_is_parsed(fields: dict[str, str], quality: Quality, jpeg_quality: int) -> None:
    options = options_from_fields(fields, max_pixels=10**8)
    assert (options.quality, options.jpeg_quality) == (quality, jpeg_quality)


def test_best_runs_the_network_twice_standard_once(served) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    for query, runs in (("", 1), ("?quality=standard", 1), ("?quality=best", 2), ("?quality=90", 1)):
        before = backend.calls
        r = client.post(f"/v1/remove{query}", files={"file": ("a.png", PNG)})
        assert r.status_code == 200, r.text
        assert backend.calls - before == runs, query
    before = backend.calls
    assert client.post("/v1/remove", files={"file": ("a.png", PNG)}, data={"quality": "best"}).status_code == 200
    assert backend.calls - before == 2


def _jpeg_size(client: TestClient, fields: dict[str, str]) -> int:
    r = client.post("/v1/remove", files={"file": ("a.png", encoded(_noisy(), "PNG"))}, data=fields)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    return len(r.content)


def _noisy() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (80, 120, 3), dtype=np.uint8))


def test_the_old_integer_alias_still_sets_the_jpeg_quality(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    low = _jpeg_size(client, {**JPEG_FIELDS, "quality": "5"})
    same = _jpeg_size(client, {**JPEG_FIELDS, "jpeg_quality": "5"})
    high = _jpeg_size(client, {**JPEG_FIELDS, "quality": "100"})
    assert low == same and high > 2 * low


@pytest.mark.parametrize("value", ["bestest", "1e9", "", " ", "-5", "0", "101", "1000000000", "9" * 40, "90.0",
                                   "best,standard", "['best']", "true", "²"])
def test_bad_quality_is_400_naming_the_field(served, value: str) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, data={"quality": value})
    assert r.status_code == 400, (value, r.text)
    err = r.json()["error"]
    assert err["code"] == "options.invalid" and "quality" in err["message"], err
    assert backend.calls == 0


@pytest.mark.parametrize("body", [{"quality": ["best"]}, {"quality": {"v": "best"}}, {"quality": 1e9},
                                  {"quality": True}, {"quality": 90.5}, {"quality": ""}])
def test_json_arrays_and_odd_types_are_400(served, body: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    """/v1/remove takes no image in JSON, so its fields are checked as parsed; /v1.0/removebg end to end."""
    client, backend = served
    data = parse_body(json.dumps(body).encode(), "application/json")
    with pytest.raises(ServerError) as exc:
        options_from_fields(data.fields, max_pixels=10**8)
    assert exc.value.code == "options.invalid" and exc.value.http_status == 400 and "quality" in exc.value.message
    b64 = base64.b64encode(PNG).decode("ascii")
    r = client.post("/v1.0/removebg", content=json.dumps({**body, "image_file_b64": b64}),
                    headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["code"] == "invalid_quality"
    r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, data={"quality": json.dumps(body["quality"])})
    assert r.status_code == 400, r.text
    assert backend.calls == 0


def test_integer_quality_and_jpeg_quality_together_are_refused(served) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    for fields in ({"quality": "80", "jpeg_quality": "80"}, {"jpeg_quality": "70", "quality": "80"}):
        r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, data=fields)
        assert r.status_code == 400, r.text
        err = r.json()["error"]
        assert err["code"] == "options.invalid" and "jpeg_quality" in err["message"] and "quality" in err["hint"]
    # the query and the form name the same field: the form's value is used (as for every field)
    r = client.post("/v1/remove?quality=80", files={"file": ("a.png", PNG)}, data={"jpeg_quality": "80"})
    assert r.status_code == 400
    assert backend.calls == 0


def test_openapi_documents_quality(served) -> None:  # type: ignore[no-untyped-def]
    client, _ = served
    schema = client.get("/openapi.json").json()
    props = schema["paths"]["/v1/remove"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "best" in props["properties"]["quality"]["description"]
    rb = schema["paths"]["/v1.0/removebg"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "best" in rb["properties"]["quality"]["description"]


# ------------------------------------------------------------------------------------ /v1.0/removebg
def test_removebg_quality_best_runs_twice(served) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    for fields, runs in (({}, 1), ({"quality": "best"}, 2), ({"quality": "standard"}, 1)):
        before = backend.calls
        r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"format": "png", **fields})
        assert r.status_code == 200, r.text
        assert Image.open(io.BytesIO(r.content)).size == (120, 80)
        assert backend.calls - before == runs, fields


@pytest.mark.parametrize("value", ["bestest", "", "90", "1e9", "['best']"])
def test_removebg_bad_quality_is_400(served, value: str) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"quality": value})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["code"] == "invalid_quality"
    assert backend.calls == 0


# ------------------------------------------------------------------------------------ repeated fields
@pytest.mark.parametrize(("query", "data"), [
    ("?quality=best&quality=standard", None),
    ("?quality=standard&quality=best", None),
    ("", [("quality", "best"), ("quality", "standard")]),
])
def test_a_field_repeated_with_different_values_is_400(served, query: str, data: Any) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    if data is None:
        r = client.post(f"/v1/remove{query}", files={"file": ("a.png", PNG)})
    else:  # a multipart form with the field twice
        r = client.post("/v1/remove", files=[("file", ("a.png", PNG, "image/png")), *((k, (None, v)) for k, v in data)])
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "options.invalid" and "quality" in err["message"] and "2 times" in err["message"], err
    r = client.post(f"/v1.0/removebg{query or '?quality=best&quality=standard'}", files={"image_file": ("a.png", PNG)})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "invalid_quality", r.text
    body = f"image_file_b64={quote(base64.b64encode(PNG).decode())}&quality=best&quality=standard"
    urlencoded = client.post("/v1.0/removebg", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert urlencoded.status_code == 400 and urlencoded.json()["errors"][0]["code"] == "invalid_quality"
    assert backend.calls == 0


def test_a_field_repeated_with_the_same_value_is_fine(served) -> None:  # type: ignore[no-untyped-def]
    client, backend = served
    r = client.post("/v1/remove?quality=best&quality=best&format=png", files={"file": ("a.png", PNG)})
    assert r.status_code == 200, r.text
    assert backend.calls == 2
    # a body field still wins over the query's field of the same name, as before
    r = client.post("/v1/remove?quality=standard", files={"file": ("a.png", PNG)}, data={"quality": "best"})
    assert r.status_code == 200 and backend.calls == 4
    r = client.post("/v1/remove?quality[]=best", files={"file": ("a.png", PNG)})  # PHP-style arrays: unknown
    assert r.status_code == 400 and r.json()["error"]["code"] == "request.unknown-field"
