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

from .conftest import encoded, square_image

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
