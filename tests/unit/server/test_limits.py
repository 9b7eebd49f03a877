"""Issue 23: what one client or one input can cost the server is bounded, and its answers stay clean.

Each test names the finding it covers (issue 23's numbering).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from alphacut.api import Remover
from alphacut.runtime.fake import FakeBackend
from alphacut.server.app import create_app
from alphacut.server.schemas import ServerSettings

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")


def make_client(tiny_spec: Any, **settings: Any) -> TestClient:
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    server_settings = ServerSettings(**settings)
    app = create_app(remover, server_settings, model_file=lambda _id: None)
    return TestClient(app, base_url=f"http://127.0.0.1:{server_settings.port}")


# ---------------------------------------------------------------- 3: --api-key with --allow-origin
def test_preflight_needs_no_key_and_refusals_carry_cors(tiny_spec: Any) -> None:
    page = "http://localhost:5173"
    with make_client(tiny_spec, api_key="s3cret", allow_origins=(page,)) as c:
        pre = c.options("/v1/remove", headers={"origin": page, "access-control-request-method": "POST",
                                               "access-control-request-headers": "x-api-key"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == page
        assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()
        # the page can read why it was refused, and succeeds with the key
        no_key = c.post("/v1/remove", content=PNG, headers={"origin": page})
        assert no_key.status_code == 403 and no_key.headers["access-control-allow-origin"] == page
        assert no_key.json()["error"]["code"] == "auth.invalid-key"
        ok = c.post("/v1/remove", content=PNG, headers={"origin": page, "x-api-key": "s3cret"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == page
        # a preflight is no way around the key for the real request, nor from another origin
        evil = c.options("/v1/remove", headers={"origin": "http://evil.example", "access-control-request-method": "POST"})
        assert evil.status_code == 403


# ---------------------------------------------------------------- 4: log injection
@pytest.mark.parametrize("raw", ["/v1/x%0AINFO%20alphacut.server.access:%20forged", "/v1/x%1B[31mred", "/v1/x%00nul",
                                 "/v1/x%0D%0Aforged", "/v1/\u2028x"])
def test_access_log_line_cannot_be_forged(tiny_spec: Any, caplog: pytest.LogCaptureFixture, raw: str) -> None:
    caplog.set_level(logging.INFO, logger="alphacut.server.access")
    with make_client(tiny_spec) as c:
        c.get(raw)
    lines = [r.getMessage() for r in caplog.records if r.name == "alphacut.server.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line.isprintable(), repr(line)  # no newline, CR, ESC, NUL or line separator
    assert line.startswith("GET /v1/")


# ---------------------------------------------------------------- 11: /docs can't be framed
@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/v1/remove", "/healthz", "/"])
def test_nothing_can_be_framed(tiny_spec: Any, path: str) -> None:
    with make_client(tiny_spec) as c:
        r = c.get(path)
    assert r.headers.get("x-frame-options") == "DENY"
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", "")


# ---------------------------------------------------------------- 12: OPTIONS, repeated X-Api-Key
def test_plain_options_lists_the_paths_methods(tiny_spec: Any) -> None:
    with make_client(tiny_spec) as c:
        r = c.options("/v1/remove")
        assert r.status_code == 204 and "POST" in r.headers["allow"] and "OPTIONS" in r.headers["allow"]
        page = c.options("/")
        assert page.status_code == 204 and "GET" in page.headers["allow"] and "POST" not in page.headers["allow"]
        assert c.options("/healthz").headers["allow"].startswith("GET")


def test_two_api_key_headers_are_refused(tiny_spec: Any) -> None:
    with make_client(tiny_spec, api_key="s3cret") as c:
        for keys in (("wrong", "s3cret"), ("s3cret", "wrong"), ("s3cret", "s3cret")):
            r = c.post("/v1/remove", content=PNG, headers=[("x-api-key", keys[0]), ("x-api-key", keys[1])])
            assert r.status_code == 400, keys
            assert r.json()["error"]["code"] == "request.repeated-header"
        assert c.post("/v1/remove", content=PNG, headers={"x-api-key": "s3cret"}).status_code == 200


# ---------------------------------------------------------------- 5: deeply nested JSON
@pytest.mark.parametrize("route", ["/v1/remove", "/v1.0/removebg"])
def test_deeply_nested_json_is_a_400(tiny_spec: Any, route: str) -> None:
    body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with make_client(tiny_spec) as c:
        r = c.post(route, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    text = json.dumps(r.json())
    assert "bad_json" in text or "request.bad-json" in text


# ---------------------------------------------------------------- 12: an unknown file part is a 400
def test_unknown_file_part_is_refused(tiny_spec: Any) -> None:
    with make_client(tiny_spec) as c:
        r = c.post("/v1/remove", files={"file": ("a.png", PNG), "bg_image": ("b.png", PNG)})
        assert r.status_code == 400 and r.json()["error"]["code"] == "request.unknown-field"
        assert "bg_image" in r.json()["error"]["message"]
        assert c.post("/v1/remove", files={"upload": ("a.png", PNG)}).status_code == 200  # a lone part is the image


# ---------------------------------------------------------------- 1: admission by cost
def test_resolution_has_an_http_cap(tiny_spec: Any) -> None:
    with make_client(tiny_spec, max_resolution=1024) as c:
        r = c.post("/v1/remove?resolution=4096", content=PNG)
        assert r.status_code == 400 and r.json()["error"]["code"] == "options.too-large"
        assert "1024" in r.json()["error"]["message"] and "--max-resolution" in r.json()["error"]["hint"]
        under = c.post("/v1/remove?resolution=1024", content=PNG)  # at the cap: past the cap check
        assert under.status_code == 200 or under.json()["error"]["code"] != "options.too-large"


@pytest.mark.parametrize("route,kw", [("/v1/remove", {"files": {"file": ("a.png", PNG)}}),
                                      ("/v1.0/removebg", {"files": {"image_file": ("a.png", PNG)}})])
def test_a_request_over_the_memory_budget_is_413_naming_it(tiny_spec: Any, route: str, kw: dict[str, Any]) -> None:
    with make_client(tiny_spec, max_memory=64 * 1024 * 1024) as c:
        r = c.post(route, **kw)
        assert r.status_code == 413, r.text
        assert "--max-memory" in r.text and "64 MiB" in r.text
        assert c.app.state.budget.used == 0  # nothing stays reserved


def test_a_busy_budget_is_503_with_retry_after(tiny_spec: Any) -> None:
    from alphacut.options import Options

    probe = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    one = probe._estimate_peak_bytes((120, 80), Options(), input_bytes=len(PNG)) + len(PNG)
    with make_client(tiny_spec, max_memory=one + one // 2, workers=2) as c:
        held = c.app.state.budget.hold()
        held.grow(one)  # as if a request were in flight
        r = c.post("/v1/remove", content=PNG)
        assert r.status_code == 503 and r.headers["retry-after"] and r.json()["error"]["code"] == "server.memory-busy"
        held.release()
        assert c.post("/v1/remove", content=PNG).status_code == 200
        assert c.app.state.budget.used == 0 and c.app.state.budget.peak <= c.app.state.budget.total


def test_base64_over_max_bytes_is_413(tiny_spec: Any) -> None:
    import base64

    with make_client(tiny_spec, max_bytes=len(PNG) - 1) as c:
        r = c.post("/v1.0/removebg", data={"image_file_b64": base64.b64encode(PNG).decode()})
        assert r.status_code == 413, r.text


# ---------------------------------------------------------------- 6: bounded fields, parsed off the loop
@pytest.mark.parametrize("ctype,body", [
    ("application/x-www-form-urlencoded", b"&".join(b"f%d=1" % i for i in range(200_000))),
    ("multipart/form-data; boundary=xx", b"".join(b'--xx\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i
                                                  for i in range(100_000)) + b"--xx--\r\n"),
    ("application/json", json.dumps({f"f{i}": 1 for i in range(100_000)}).encode()),
])
def test_too_many_fields_is_a_400(tiny_spec: Any, ctype: str, body: bytes) -> None:
    with make_client(tiny_spec) as c:
        r = c.post("/v1/remove", content=body, headers={"content-type": ctype})
    assert r.status_code == 400 and r.json()["error"]["code"] == "request.too-many-fields", r.text


def test_bodies_are_parsed_off_the_event_loop(tiny_spec: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from alphacut.server import routes, schemas

    on_loop: list[bool] = []
    real = schemas.parse_body

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:  # a worker thread has no running loop
            on_loop.append(False)
        return real(*args, **kwargs)

    monkeypatch.setattr(routes, "parse_body", spy)
    with make_client(tiny_spec) as c:
        assert c.post("/v1/remove", files={"file": ("a.png", PNG)}).status_code == 200
    assert on_loop == [False]


# ---------------------------------------------------------------- 10: a client hanging up mid-upload
def test_client_hanging_up_mid_upload_is_one_quiet_line(tiny_spec: Any, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    app = create_app(remover, ServerSettings(), model_file=lambda _id: None)
    caplog.set_level(logging.INFO)
    sent: list[dict[str, Any]] = []

    async def scenario() -> None:
        messages = [{"type": "http.request", "body": PNG[:50], "more_body": True}, {"type": "http.disconnect"}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async with app.router.lifespan_context(app):
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                     "scheme": "http", "path": "/v1/remove", "raw_path": b"/v1/remove", "query_string": b"",
                     "root_path": "", "server": ("127.0.0.1", 7000), "client": ("127.0.0.1", 5555),
                     "headers": [(b"host", b"127.0.0.1:7000"), (b"content-length", str(len(PNG)).encode())],
                     "app": app}
            await app(scope, receive, send)
            assert app.state.budget.used == 0 and app.state.pool.busy == 0

    asyncio.run(scenario())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]
    assert not any(r.exc_info for r in caplog.records)
    assert any("client went away" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------- 2: a slow upload holds no slot
def test_a_body_still_arriving_holds_no_worker_slot(tiny_spec: Any) -> None:
    """With 1 worker and no queue, a request whose body trickles in takes no slot: a second request is
    served meanwhile, and the slow one is dropped at --read-timeout (408)."""
    import asyncio

    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    app = create_app(remover, ServerSettings(workers=1, queue=0, read_timeout_s=0.5), model_file=lambda _id: None)
    statuses: dict[str, int] = {}

    def scope(path: str, length: int) -> dict[str, Any]:
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                "server": ("127.0.0.1", 7000), "client": ("127.0.0.1", 5555), "app": app,
                "headers": [(b"host", b"127.0.0.1:7000"), (b"content-type", b"image/png"),
                            (b"content-length", str(length).encode())]}

    async def call(name: str, receive: Any, length: int) -> None:
        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[name] = message["status"]

        await app(scope("/v1/remove", length), receive, send)

    async def scenario() -> None:
        async def slow_receive() -> dict[str, Any]:
            await asyncio.sleep(0.2)  # one byte now and then, never the whole body
            return {"type": "http.request", "body": b"x", "more_body": True}

        fast = [{"type": "http.request", "body": PNG, "more_body": False}]

        async def fast_receive() -> dict[str, Any]:
            return fast.pop(0) if fast else {"type": "http.disconnect"}

        async with app.router.lifespan_context(app):
            slow = asyncio.create_task(call("slow", slow_receive, 100_000))
            await asyncio.sleep(0.1)
            assert app.state.pool.busy == 0  # the slow body is being read: no slot taken
            await call("fast", fast_receive, len(PNG))
            await slow
            assert app.state.pool.busy == 0 and app.state.budget.used == 0

    asyncio.run(scenario())
    assert statuses == {"fast": 200, "slow": 408}
