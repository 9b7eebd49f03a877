"""The local server with a FakeBackend Remover: every endpoint, every documented error, limits, privacy."""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import os
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from alphacut.api import Remover
from alphacut.runtime.fake import FakeBackend
from alphacut.server.app import create_app
from alphacut.server.schemas import ServerSettings, options_from_fields

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")
LOCAL = "http://127.0.0.1:7000"  # ServerSettings()'s own address: the Host the server answers to


class GatedBackend(FakeBackend):
    """A FakeBackend whose run() waits until the test opens the gate: overload without timing."""

    def __init__(self) -> None:
        super().__init__(size_hw=(64, 64))
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def run(self, batch):  # type: ignore[no-untyped-def]
        self.entered.release()
        self.gate.wait(timeout=30)
        return super().run(batch)


def make_client(tiny_spec, backend=None, *, model_file=None, **settings) -> TestClient:  # type: ignore[no-untyped-def]
    remover = Remover(tiny_spec, backend=backend or FakeBackend(size_hw=(64, 64)))
    server_settings = ServerSettings(**settings)
    app = create_app(remover, server_settings, model_file=model_file or (lambda _id: None))
    # as a browser or client on this machine addresses it: the server refuses other Host names
    return TestClient(app, base_url=f"http://127.0.0.1:{server_settings.port}")


@pytest.fixture
def client(tiny_spec):  # type: ignore[no-untyped-def]
    with make_client(tiny_spec) as c:
        yield c


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


# ------------------------------------------------------------------------------------------ /v1/remove
def test_remove_multipart_png_has_alpha_of_the_square(client: TestClient) -> None:
    r = client.post("/v1/remove", files={"file": ("a.png", PNG, "image/png")})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert (r.headers["x-width"], r.headers["x-height"]) == ("120", "80")
    assert "inference;dur=" in r.headers["server-timing"]
    img = decode(r.content)
    assert img.mode == "RGBA" and img.size == (120, 80)
    a = np.asarray(img.getchannel("A"))
    assert a[40, 60] == 255 and a[2, 2] == 0


@pytest.mark.parametrize(("query", "ctype", "mode"), [
    ("format=webp", "image/webp", "RGBA"),
    ("format=jpg", "image/jpeg", "RGB"),
    ("format=mask", "image/png", "L"),
    ("bg=white&format=png", "image/png", "RGB"),
])
def test_remove_raw_body_with_query_options(client: TestClient, query: str, ctype: str, mode: str) -> None:
    r = client.post(f"/v1/remove?{query}", content=PNG, headers={"content-type": "image/png"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ctype
    assert decode(r.content).mode == mode


def test_remove_form_fields_are_options(client: TestClient) -> None:
    r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, data={"bg": "#ff0000", "format": "png"})
    img = decode(r.content).convert("RGB")
    assert img.getpixel((2, 2)) == (255, 0, 0)


@pytest.mark.parametrize(("fields", "name"), [({"bg": "nope"}, "bg"), ({"format": "gif"}, "format"),
                                              ({"resolution": "big"}, "resolution"),
                                              ({"colour": "red"}, "colour")])
def test_bad_field_is_400_naming_it(client: TestClient, fields: dict[str, str], name: str) -> None:
    r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, data=fields)
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"code", "message", "hint"}
    assert name in err["message"]


def test_other_model_is_400(client: TestClient) -> None:
    r = client.post("/v1/remove?model=other", content=PNG)
    assert r.status_code == 400 and "model" in r.json()["error"]["message"]


def test_missing_image_is_400(client: TestClient) -> None:
    r = client.post("/v1/remove", data={"format": "png"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "input.missing"


def test_not_an_image_is_415(client: TestClient) -> None:
    r = client.post("/v1/remove", files={"file": ("a.txt", b"hello, not an image")})
    assert r.status_code == 415 and r.json()["error"]["code"] == "input.undecodable"


def test_too_many_pixels_is_413(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    with make_client(tiny_spec, max_pixels=5000) as c:
        r = c.post("/v1/remove", content=PNG)
    assert r.status_code == 413 and r.json()["error"]["code"] == "input.too-large"


def test_client_cannot_raise_max_pixels() -> None:
    assert options_from_fields({"max_pixels": "999999999"}, max_pixels=1000).max_pixels == 1000
    assert options_from_fields({"max_pixels": "500"}, max_pixels=1000).max_pixels == 500


def test_tiny_image_is_422(client: TestClient) -> None:
    r = client.post("/v1/remove", content=encoded(square_image(4, 4), "PNG"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "input.too-small"


def test_upload_over_limit_is_413_with_and_without_content_length(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    with make_client(tiny_spec, max_bytes=1000) as c:
        r = c.post("/v1/remove", content=b"x" * 5000)
        assert r.status_code == 413 and r.json()["error"]["code"] == "input.file-too-large"

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"y" * 400

        r = c.post("/v1/remove", content=chunks())  # chunked: no Content-Length, counted while streaming
        assert r.status_code == 413
        assert c.app.state.pool.busy == 0  # the slot was given back


# ----------------------------------------------------------------------------------------- API key
def test_api_key_guards_api_not_page(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    with make_client(tiny_spec, api_key="s3cret") as c:
        r = c.post("/v1/remove", content=PNG)
        assert r.status_code == 403 and r.json()["error"]["code"] == "auth.invalid-key"
        assert c.post("/v1/remove", content=PNG, headers={"x-api-key": "wrong"}).status_code == 403
        assert c.post("/v1/remove", content=PNG, headers={"x-api-key": "s3cret"}).status_code == 200
        rb = c.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)})
        assert rb.status_code == 403 and rb.json()["errors"][0]["code"] == "auth_failed"
        assert c.get("/model/tiny-test.onnx").status_code == 403
        assert c.get("/healthz").status_code == 200
        assert c.get("/config.json").json()["api_key_required"] is True


# ------------------------------------------------------------------------------- health, docs, model
def test_health_ready_docs_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["model"] == "tiny-test" and ready["capacity"] == 10
    docs = client.get("/docs")
    assert docs.status_code == 200 and "//" not in docs.text.replace("http://", "").split("<body>")[0]
    assert "cdn" not in docs.text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/remove", "/v1.0/removebg", "/healthz", "/readyz"} <= set(paths)


def test_no_wildcard_cors(client: TestClient) -> None:
    r = client.post("/v1/remove", content=PNG, headers={"origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_model_file_served_with_etag_and_ranges(tiny_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from alphacut.models.catalog import load_catalog

    model_id = load_catalog().default
    blob = tmp_path / "m.onnx"
    blob.write_bytes(bytes(range(256)) * 4)
    with make_client(tiny_spec, model_file=lambda i: blob if i == model_id else None) as c:
        r = c.get(f"/model/{model_id}.onnx")
        assert r.status_code == 200 and r.content == blob.read_bytes()
        assert r.headers["etag"].strip('"') == load_catalog().get(model_id).hash_hex
        assert "max-age" in r.headers["cache-control"]
        assert c.get(f"/model/{model_id}.onnx", headers={"if-none-match": r.headers["etag"]}).status_code == 304
        part = c.get(f"/model/{model_id}.onnx", headers={"range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == blob.read_bytes()[10:20]
        missing = c.get("/model/not-a-model.onnx")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "model.not-served"


def test_page_config_offers_private_model_only_when_cached(tiny_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with make_client(tiny_spec) as c:
        assert c.get("/config.json").json()["private_model"] is None
    blob = tmp_path / "m.onnx"
    blob.write_bytes(b"onnx")
    with make_client(tiny_spec, model_file=lambda i: blob) as c:
        cfg = c.get("/config.json").json()["private_model"]
        assert cfg["url"] == "/model/tiny-test.onnx" and cfg["mean"] == [0.5, 0.5, 0.5]
        assert cfg["levels"] is None  # the page applies the model's value curve only when it has one
        assert cfg["mirror"] is False  # and mirrors its input only for a model that runs mirrored
        assert cfg["sha256"] == tiny_spec.hash_hex  # the page checks its kept copy of the model against it
        assert c.get("/config.json").json()["max_pixels"] == 100_000_000  # the page refuses larger images
    curved = dataclasses.replace(tiny_spec, levels=(0.3, 0.6, 0.2), mirror=True)
    with make_client(curved, model_file=lambda i: blob) as c:
        cfg = c.get("/config.json").json()["private_model"]
        assert cfg["levels"] == [0.3, 0.6, 0.2] and cfg["mirror"] is True


# --------------------------------------------------------------------------------------- remove.bg
def test_removebg_multipart_png(client: TestClient) -> None:
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"size": "auto", "format": "png"})
    assert r.status_code == 200
    assert r.headers["x-credits-charged"] == "0" and r.headers["x-type"] == "other"
    assert (r.headers["x-width"], r.headers["x-height"]) == ("120", "80")
    assert decode(r.content).mode == "RGBA"


def test_removebg_b64_json_accept_json_crop(client: TestClient) -> None:
    body = {"image_file_b64": base64.b64encode(PNG).decode(), "crop": True, "type": "product"}
    r = client.post("/v1.0/removebg", json=body, headers={"accept": "application/json"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    img = decode(base64.b64decode(data["result_b64"]))
    # the square covers x 30..90, y 20..60: crop leaves about 60x40 (the 64 px fake matte blurs edges)
    assert 58 <= img.width <= 70 and 38 <= img.height <= 48
    assert r.headers["x-type"] == "product"
    assert data["foreground_width"] == img.width and data["foreground_left"] == 0


def test_removebg_crop_margin_size_channels_bg(client: TestClient) -> None:
    tight = decode(client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)},
                               data={"crop": "true"}).content)
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)},
                    data={"crop": "true", "crop_margin": "10px", "channels": "alpha", "format": "png"})
    img = decode(r.content)
    assert img.mode == "L" and img.size == (tight.width + 20, tight.height + 20)
    big = encoded(square_image(1000, 800), "PNG")
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", big)}, data={"size": "preview"})
    assert int(r.headers["x-width"]) * int(r.headers["x-height"]) <= 250_000
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, data={"bg_color": "00ff00"})
    assert r.headers["content-type"] == "image/jpeg"  # format auto: opaque result → JPG
    assert decode(r.content).getpixel((2, 2))[1] > 240


def test_removebg_roi_and_zip(client: TestClient) -> None:
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)},
                    data={"roi": "0% 0% 50% 100%", "format": "zip"})
    assert r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(zf.namelist()) == ["alpha.png", "color.jpg"]
    alpha = np.asarray(decode(zf.read("alpha.png")))
    assert alpha[40, 40] == 255 and alpha[40, 80] == 0  # right half is outside the roi


@pytest.mark.parametrize(("fields", "code"), [
    ({"image_url": "https://example.com/a.jpg"}, "url_fetch_disabled"),
    ({}, "missing_source"),
    ({"size": "huge"}, "invalid_size"),
    ({"format": "gif"}, "invalid_format"),
    ({"channels": "rgb"}, "invalid_channels"),
    ({"bg_color": "notacolour"}, "invalid_bg_color"),
    ({"crop_margin": "lots"}, "invalid_crop_margin"),
    ({"roi": "1 2 3"}, "invalid_roi"),
    ({"roi": "50% 0% 10% 100%"}, "roi_region_empty"),
    ({"position": "middle"}, "invalid_position"),
    ({"position": "120%"}, "invalid_position"),
    ({"scale": "5%"}, "invalid_scale"),
    ({"scale": "big"}, "invalid_scale"),
    ({"bg_image_url": "https://example.com/bg.jpg"}, "bg_image_unsupported"),
    ({"whatever": "1"}, "unknown_parameter"),
])
def test_removebg_errors_in_its_shape(client: TestClient, fields: dict[str, str], code: str) -> None:
    files = {} if code in ("url_fetch_disabled", "missing_source") else {"image_file": ("a.png", PNG)}
    r = client.post("/v1.0/removebg", files=files or None, data=fields or {"size": "auto"})
    assert r.status_code == 400, r.text
    err = r.json()["errors"][0]
    assert err["code"] == code and err["title"] and err["detail"]


def test_removebg_bg_image_file_is_400(client: TestClient) -> None:
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG), "bg_image_file": ("b.png", PNG)})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "bg_image_unsupported"


def test_removebg_ignored_fields_accepted(client: TestClient) -> None:
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)},
                    data={"semitransparency": "false", "add_shadow": "true", "type_level": "none"})
    assert r.status_code == 200 and "x-type" not in r.headers


# ------------------------------------------------------------------------ overload, timeout, threads
def test_overload_is_503_with_retry_after(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    backend = GatedBackend()
    with make_client(tiny_spec, backend, workers=1, queue=1) as c, ThreadPoolExecutor(2) as ex:
        first = ex.submit(c.post, "/v1/remove", content=PNG)
        assert backend.entered.acquire(timeout=10)  # the only worker is busy
        second = ex.submit(c.post, "/v1/remove", content=PNG)
        for _ in range(1000):  # wait (by state, not time) until the second request holds its queue slot
            if c.app.state.pool.busy == 2:
                break
            threading.Event().wait(0.01)
        third = c.post("/v1/remove", content=b"x" * 10_000_000)  # refused before its body is read
        assert third.status_code == 503
        assert third.headers["retry-after"] == "5" and third.json()["error"]["code"] == "server.overloaded"
        backend.gate.set()
        assert first.result().status_code == 200 and second.result().status_code == 200
    assert c.app.state.pool.busy == 0


def test_timeout_is_504_and_slot_freed_when_job_ends(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    backend = GatedBackend()
    with make_client(tiny_spec, backend, workers=1, queue=0, timeout_s=0.05) as c:
        r = c.post("/v1/remove", content=PNG)
        assert r.status_code == 504 and r.json()["error"]["code"] == "server.timeout"
        assert c.app.state.pool.busy == 1  # the worker still runs the abandoned job
        backend.gate.set()
        for _ in range(1000):
            if c.app.state.pool.busy == 0:
                break
            threading.Event().wait(0.01)
        assert c.app.state.pool.busy == 0


def test_eight_parallel_requests_with_two_workers(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    with make_client(tiny_spec, workers=2, queue=2) as c, ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _i: c.post("/v1/remove", content=PNG), range(8)))
        assert {r.status_code for r in results} <= {200, 503}
        assert sum(r.status_code == 200 for r in results) >= 1
        for r in results:
            if r.status_code == 200:
                assert decode(r.content).size == (120, 80)
        assert c.app.state.pool.busy == 0  # every slot returned: nothing piles up
        assert c.app.state.pool.peak <= 4  # never more than workers + queue images in memory


# --------------------------------------------------------------------------------------- privacy
def test_access_log_has_no_image_bytes_or_query(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    b64 = base64.b64encode(PNG).decode()
    client.post("/v1/remove?bg=secretcolour", content=PNG)
    client.post("/v1.0/removebg", data={"image_file_b64": b64})
    server_side = [r for r in caplog.records if r.name.startswith(("alphacut", "uvicorn", "fastapi", "starlette"))]
    text = "\n".join(r.getMessage() for r in server_side)
    access = [r.getMessage() for r in caplog.records if r.name == "alphacut.server.access"]
    assert len(access) == 2 and access[0].startswith("POST /v1/remove 400 in=")
    assert b64[:40] not in text and "secretcolour" not in text
    assert "\\x89PNG" not in text and "IHDR" not in text


def test_nothing_written_to_disk(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    big = encoded(square_image(1500, 1200), "PNG")  # > 1 MB would make Starlette's form parser spool
    big = big + b"\0" * max(0, 1_200_000 - len(big))
    writes: list[str] = []
    real_open = open

    def spy_open(file, mode="r", *a, **k):  # type: ignore[no-untyped-def]
        if any(m in mode for m in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr("builtins.open", spy_open)
    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", None)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", None)
    monkeypatch.setattr(tempfile, "TemporaryFile", None)
    # this process's own temp folder: the shared /tmp also holds what other processes write meanwhile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(os.listdir(tempfile.gettempdir()))
    r = client.post("/v1/remove", files={"file": ("a.png", big)}, data={"format": "webp"})
    r2 = client.post("/v1.0/removebg", files={"image_file": ("a.png", big)})
    assert r.status_code == 200 and r2.status_code == 200
    assert writes == []
    assert set(os.listdir(tempfile.gettempdir())) == before


def test_event_loop_stays_free_while_a_worker_is_busy(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    backend = GatedBackend()
    with make_client(tiny_spec, backend, workers=1, queue=0) as c, ThreadPoolExecutor(1) as ex:
        pending = ex.submit(c.post, "/v1/remove", content=PNG)
        assert backend.entered.acquire(timeout=10)
        assert c.get("/healthz").status_code == 200  # answered while inference holds the only worker
        assert c.get("/readyz").json()["busy"] == 1
        backend.gate.set()
        assert pending.result().status_code == 200


def test_model_loads_in_background_healthz_first_then_ready(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    gate = threading.Event()

    def factory() -> Remover:
        gate.wait(timeout=30)
        return Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))

    app = create_app(factory, ServerSettings(), model_file=lambda _id: None)
    with TestClient(app, base_url=LOCAL) as c, ThreadPoolExecutor(1) as ex:
        assert c.get("/healthz").status_code == 200
        loading = c.get("/readyz")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        waiting = ex.submit(c.post, "/v1/remove", content=PNG)  # waits for the model, then runs
        gate.set()
        assert waiting.result().status_code == 200
        assert c.get("/readyz").json()["status"] == "ready"


def test_model_load_failure_is_reported_not_hung(tiny_spec) -> None:  # type: ignore[no-untyped-def]
    from alphacut.errors import ModelError

    def factory() -> Remover:
        raise ModelError("model.not-cached", "'x' is not cached.", hint="Run `alphacut models fetch x`.")

    with TestClient(create_app(factory, ServerSettings()), base_url=LOCAL) as c:
        for _ in range(500):  # the load task fails almost at once; wait for it by state
            if c.get("/readyz").json()["status"] == "failed":
                break
            threading.Event().wait(0.01)
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "model.not-cached"
        r = c.post("/v1/remove", content=PNG)
        assert r.status_code == 503 and r.json()["error"]["code"] == "model.not-cached"
        assert "models fetch" in r.json()["error"]["hint"]


@pytest.mark.parametrize(("query", "size", "mode"), [
    ("preset=ecommerce&size=300", (300, 300), "RGB"),
    ("preset=avatar-circle", (512, 512), "RGBA"),
    ("size=200x100&fit=fill&bg=blur:5", (200, 100), "RGB"),
    ("crop=true&margin=4", None, "RGBA"),
])
def test_presets_and_layout_fields(client: TestClient, query: str, size: tuple[int, int] | None, mode: str) -> None:
    r = client.post(f"/v1/remove?{query}", files={"file": ("a.png", PNG, "image/png")})
    assert r.status_code == 200, r.text
    img = decode(r.content)
    assert img.mode == mode
    if size is not None:
        assert img.size == size
    else:
        assert img.size[0] < 120 and img.size[1] < 80  # cropped to the square plus the margin


def test_unknown_preset_is_400_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/remove?preset=passport", files={"file": ("a.png", PNG, "image/png")})
    assert r.status_code == 400 and r.json()["error"]["code"] == "options.invalid"
