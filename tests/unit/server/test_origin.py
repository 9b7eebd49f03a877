"""Other websites vs the local server: Host (DNS rebinding) and Origin (cross-site simple requests).

Every refusal is checked to be a 403 with the JSON error shape and to happen before any work:
the request body is never read and the Remover is never called.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
from click.testing import CliRunner
from fastapi.testclient import TestClient

from alphacut.api import Remover
from alphacut.errors import OptionsError
from alphacut.runtime.fake import FakeBackend
from alphacut.server.app import create_app
from alphacut.server.origin import OriginPolicy
from alphacut.server.schemas import ServerSettings

from ..conftest import encoded, square_image

PNG = encoded(square_image(), "PNG")


class CountingRemover(Remover):
    """A Remover with a fake backend that counts cut-outs (/v1/remove) and decodes (removebg's stages)."""

    calls = 0

    def cutout(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().cutout(*args, **kwargs)

    def prepare(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return super().prepare(*args, **kwargs)


def make(tiny_spec: Any, **settings: Any) -> tuple[TestClient, CountingRemover, FakeBackend]:
    backend = FakeBackend(size_hw=(64, 64))
    remover = CountingRemover(tiny_spec, backend=backend)
    server_settings = ServerSettings(**settings)
    app = create_app(remover, server_settings, model_file=lambda _id: None)
    return TestClient(app, base_url=f"http://127.0.0.1:{server_settings.port}"), remover, backend


@pytest.fixture
def served(tiny_spec: Any) -> Iterator[tuple[TestClient, CountingRemover, FakeBackend]]:
    client, remover, backend = make(tiny_spec)
    with client:
        yield client, remover, backend


class Body:
    """A streamed request body that records whether the server read it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read = False

    def __iter__(self) -> Iterator[bytes]:
        self.read = True
        yield self.data


def assert_refused(r: Any, code: str, *, removebg: bool = False) -> None:
    assert r.status_code == 403, r.text
    if removebg:
        assert r.json()["errors"][0]["code"] == code
    else:
        assert r.json()["error"]["code"] == code and r.json()["error"]["hint"]


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:7000", "127.0.0.1:8000", "localhost:80",
                                  "127.0.0.1.evil.example:7000", "[::1]:7001", "10.0.0.5:7000", "a:b:c",
                                  "localhost:7000, evil.example"])
def test_foreign_host_is_refused_before_any_work(served: Any, host: str) -> None:
    client, remover, backend = served
    body = Body(PNG)
    r = client.post("/v1/remove", content=body, headers={"host": host, "content-type": "image/png"})
    assert_refused(r, "request.bad-host")
    assert not body.read and remover.calls == 0 and backend.calls == 0
    assert client.app.state.pool.busy == 0  # type: ignore[attr-defined]


def test_dns_rebinding_cannot_read_page_config_or_model(served: Any) -> None:
    client, _, _ = served
    for path in ("/", "/config.json", "/readyz", "/model/tiny-test.onnx", "/openapi.json"):
        assert_refused(client.get(path, headers={"host": "rebind.evil.example:7000"}), "request.bad-host")


@pytest.mark.parametrize("host", ["127.0.0.1:7000", "127.0.0.1", "localhost:7000", "LOCALHOST", "localhost.:7000",
                                  "[::1]:7000", "[::1]"])
def test_loopback_hosts_with_and_without_port_are_served(served: Any, host: str) -> None:
    client, remover, _ = served
    r = client.post("/v1/remove", content=PNG, headers={"host": host})
    assert r.status_code == 200, r.text
    assert remover.calls == 1


def test_no_host_header_is_served() -> None:
    policy = OriginPolicy.build("127.0.0.1", 7000)
    assert policy.host_ok(None)  # HTTP/1.0 clients; every browser sends Host


@pytest.mark.parametrize(("bind", "host", "ok"), [
    ("0.0.0.0", "192.168.1.20:7000", True), ("0.0.0.0", "[fe80::1]:7000", True),
    ("0.0.0.0", "mybox.local:7000", False), ("0.0.0.0", "192.168.1.20:7001", False),
    ("::", "10.1.2.3", True), ("::", "evil.example:7000", False),
    ("192.168.1.20", "192.168.1.20:7000", True), ("192.168.1.20", "192.168.1.21:7000", False),
    ("192.168.1.20", "localhost:7000", True), ("::1", "[::1]:7000", True),
])
def test_hosts_allowed_per_binding(bind: str, host: str, ok: bool) -> None:
    assert OriginPolicy.build(bind, 7000).host_ok(host) is ok


def test_allow_host_adds_a_name(tiny_spec: Any) -> None:
    client, remover, _ = make(tiny_spec, host="0.0.0.0", allow_hosts=("MyBox.local", "nas:7000"))
    with client:
        assert client.post("/v1/remove", content=PNG, headers={"host": "mybox.local:7000"}).status_code == 200
        assert client.post("/v1/remove", content=PNG, headers={"host": "nas:7000"}).status_code == 200
        assert_refused(client.post("/v1/remove", content=PNG, headers={"host": "mybox.local:9999"}),
                       "request.bad-host")
        assert_refused(client.post("/v1/remove", content=PNG, headers={"host": "other.local:7000"}),
                       "request.bad-host")
    assert remover.calls == 2


@pytest.mark.parametrize(("kind", "origin"), [
    ("multipart", "http://evil.example"), ("text/plain", "http://evil.example"),
    ("urlencoded", "https://evil.example:7000"), ("multipart", "null"), ("text/plain", "http://127.0.0.1:8080"),
    ("multipart", "http://localhost:7000"),  # another origin than the page's (Host is 127.0.0.1:7000)
    ("multipart", "file://"), ("text/plain", "http://127.0.0.1:7000/path"),
])
def test_cross_origin_simple_requests_are_refused_before_any_work(served: Any, kind: str, origin: str) -> None:
    client, remover, backend = served
    headers = {"origin": origin}
    if kind == "multipart":
        r = client.post("/v1/remove", files={"file": ("a.png", PNG)}, headers=headers)
    elif kind == "text/plain":
        body = Body(PNG)
        r = client.post("/v1/remove", content=body, headers={**headers, "content-type": "text/plain"})
        assert not body.read
    else:
        r = client.post("/v1/remove", data={"format": "png"}, headers=headers)
    assert_refused(r, "request.bad-origin")
    assert "access-control-allow-origin" not in r.headers
    assert remover.calls == 0 and backend.calls == 0


def test_cross_site_post_without_origin_is_refused(served: Any) -> None:
    client, remover, _ = served
    for site in ("cross-site", "same-site"):
        r = client.post("/v1/remove", content=PNG, headers={"sec-fetch-site": site})
        assert_refused(r, "request.bad-origin")
    assert client.post("/v1/remove", content=PNG, headers={"sec-fetch-site": "same-origin"}).status_code == 200
    assert client.get("/healthz", headers={"sec-fetch-site": "cross-site"}).status_code == 200  # a link is fine
    assert remover.calls == 1


def test_removebg_refusal_in_its_own_shape(served: Any) -> None:
    client, remover, _ = served
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, headers={"origin": "http://evil.example"})
    assert_refused(r, "request_bad_origin", removebg=True)
    r = client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}, headers={"host": "evil.example"})
    assert_refused(r, "request_bad_host", removebg=True)
    assert remover.calls == 0


def test_own_page_and_clients_without_origin_are_served(served: Any) -> None:
    client, remover, _ = served
    assert client.post("/v1/remove", files={"file": ("a.png", PNG)},
                       headers={"origin": "http://127.0.0.1:7000"}).status_code == 200
    assert client.post("/v1/remove", content=PNG, headers={"origin": "http://localhost:7000",
                                                           "host": "localhost:7000"}).status_code == 200
    assert client.post("/v1/remove", content=PNG, headers={"origin": "http://[::1]:7000",
                                                           "host": "[::1]:7000"}).status_code == 200
    assert client.post("/v1.0/removebg", files={"image_file": ("a.png", PNG)}).status_code == 200  # no Origin
    assert client.get("/", headers={"origin": "http://127.0.0.1:7000"}).status_code in (200, 404)
    assert remover.calls == 4


def test_preflight_from_another_origin_is_refused(served: Any) -> None:
    client, remover, _ = served
    r = client.options("/v1/remove", headers={"origin": "http://evil.example", "access-control-request-method":
                                              "POST", "access-control-request-headers": "x-api-key"})
    assert_refused(r, "request.bad-origin")
    assert "access-control-allow-origin" not in r.headers and remover.calls == 0


def test_allow_origin_gets_cors_and_nothing_else_does(tiny_spec: Any) -> None:
    client, remover, _ = make(tiny_spec, allow_origins=("http://localhost:5173",))
    with client:
        pre = client.options("/v1/remove", headers={"origin": "http://localhost:5173",
                                                    "access-control-request-method": "POST"})
        assert pre.status_code == 204 and pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert "POST" in pre.headers["access-control-allow-methods"]
        r = client.post("/v1/remove", content=PNG, headers={"origin": "http://localhost:5173"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "http://localhost:5173"
        own = client.post("/v1/remove", content=PNG, headers={"origin": "http://127.0.0.1:7000"})
        assert own.status_code == 200 and "access-control-allow-origin" not in own.headers
        assert_refused(client.post("/v1/remove", content=PNG, headers={"origin": "http://localhost:5174"}),
                       "request.bad-origin")
    assert remover.calls == 2


@pytest.mark.parametrize("origin", ["*", "http://*.example", "localhost:5173", "http://x.example/app", "null"])
def test_allow_origin_takes_only_plain_origins(origin: str) -> None:
    with pytest.raises(OptionsError):
        ServerSettings(allow_origins=(origin,))


@pytest.mark.parametrize("host", ["*", "*.local", "a b", "x:99999", "[nope]"])
def test_allow_host_takes_only_plain_names(host: str) -> None:
    with pytest.raises(OptionsError):
        ServerSettings(allow_hosts=(host,))


def test_serve_flags_and_help(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import uvicorn

    from alphacut.cli import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--host", "0.0.0.0", "--allow-host",
                                       "mybox.local", "--allow-origin", "http://localhost:5173"])
    assert result.exit_code == 0, result.output
    settings = seen["app"].state.settings
    assert settings.allow_hosts == ("mybox.local",) and settings.allow_origins == ("http://localhost:5173",)
    bad = CliRunner().invoke(main, ["--home", str(tmp_path), "serve", "--allow-origin", "*"])
    assert bad.exit_code == 2 and "options.invalid" in bad.output
    help_text = CliRunner().invoke(main, ["serve", "--help"], terminal_width=200).output
    assert "--allow-host" in help_text and "any IP address" in help_text and "--allow-origin" in help_text
