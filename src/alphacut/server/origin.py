"""Who may talk to the local server: the Host and Origin checks (other websites, DNS rebinding).

A web page the user visits can send "simple" cross-origin requests (a form POST, a `fetch` with a
multipart or text/plain body) to 127.0.0.1 without any CORS preflight, and a DNS-rebinding page
can even read the answers. Two checks stop both, before any body is read or any work is done:

- **Host**: the request's Host header must name this server: a loopback name (``localhost``,
  ``127.0.0.1``, ``[::1]``), the address it is bound to, or a name given with ``--allow-host``.
  Bound to every address (``0.0.0.0`` / ``::``), any IP-address literal is also accepted (a
  rebinding page always sends its own host *name*); other host names need ``--allow-host``.
  A port, when given, must be the server's own. A request without Host (HTTP/1.0 clients) passes:
  every browser sends one.
- **Origin**: a request that carries an Origin header (browsers send it on every cross-origin
  request and on same-origin POSTs) must come from the server's own page, i.e. an origin whose
  host is the request's Host, or from an origin given with ``--allow-origin``. ``Origin: null``
  (sandboxed frames, file: pages) is refused. Requests without Origin (the CLI, curl, remove.bg
  client libraries) pass, unless a browser marks a POST as coming from another site
  (``Sec-Fetch-Site: cross-site`` or ``same-site``).

A refusal is 403 with the usual JSON error (``request.bad-host`` / ``request.bad-origin``).
Origins given with ``--allow-origin`` also get CORS answers (preflight and
Access-Control-Allow-Origin), so a page there can read the results.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AlphacutError, ServerError

__all__ = ["LOOPBACK_NAMES", "OriginGuard", "OriginPolicy", "check_host", "check_origin"]

#: names every browser and OS resolves to this machine only
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split_host(value: str) -> tuple[str, int | None] | None:
    """'Example.com:80' → ('example.com', 80); '[::1]:7000' → ('::1', 7000); None when malformed."""
    text = value.strip().lower().rstrip(".")
    if not text or any(c in text for c in "/@?# \t"):
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        name, rest = text[1:end], text[end + 1:]
        if not _is_ip(name) or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        name, port_text = text.split(":")
    elif ":" in text:
        return None  # an IPv6 literal must be bracketed in a Host header
    else:
        name, port_text = text, None
    if port_text is None:
        return name.rstrip("."), None
    if not port_text.isdigit() or not (0 < int(port_text) < 65536):
        return None
    return name.rstrip("."), int(port_text)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_origin(origin: str) -> str | None:
    """Why an --allow-origin value is unusable (None when it is fine): scheme://host[:port] only."""
    parts = urlsplit(origin.strip().rstrip("/"))
    if origin.strip() == "*" or parts.scheme not in _DEFAULT_PORTS or not parts.netloc or parts.path \
            or parts.query or parts.fragment or "*" in origin:
        return f"--allow-origin {origin!r}: give one origin as scheme://host[:port] (no wildcard, no path)."
    return None


def check_host(host: str) -> str | None:
    """Why an --allow-host value is unusable (None when it is fine): NAME or NAME:PORT, no wildcard."""
    if "*" in host or _split_host(host) is None:
        return f"--allow-host {host!r}: give one host name or address, optionally with :PORT (no wildcard)."
    return None


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    """The Host and Origin rules for a server bound to `host`:`port` (see the module's docstring)."""

    host: str
    port: int
    allow_hosts: tuple[str, ...] = ()
    allow_origins: tuple[str, ...] = ()

    @classmethod
    def build(cls, host: str, port: int, allow_hosts: Iterable[str] = (),
              allow_origins: Iterable[str] = ()) -> OriginPolicy:
        origins = tuple(o.strip().rstrip("/").lower() for o in allow_origins if o.strip())
        hosts = tuple(h.strip().lower().rstrip(".") for h in allow_hosts if h.strip())
        return cls(host.strip("[]").lower(), port, hosts, origins)

    @property
    def wildcard(self) -> bool:
        return self.host in _WILDCARDS

    def allowed_host_names(self) -> list[str]:
        """What --help and the docs say is accepted, for this binding."""
        names = sorted(LOOPBACK_NAMES | {self.host} if not self.wildcard else LOOPBACK_NAMES)
        extra = ["any IP address"] if self.wildcard else []
        return names + extra + list(self.allow_hosts)

    def host_ok(self, value: str | None) -> bool:
        """Whether a Host header names this server."""
        if value is None:
            return True
        parsed = _split_host(value)
        if parsed is None:
            return False
        name, port = parsed
        for allowed in self.allow_hosts:  # --allow-host NAME (any port of ours) or NAME:PORT (exactly)
            if allowed == name and port in (None, self.port) or allowed == f"{name}:{port}":
                return True
        if port is not None and port != self.port:
            return False
        if name in LOOPBACK_NAMES or name == self.host:
            return True
        return self.wildcard and _is_ip(name)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """Whether a request with this Origin header may be served (None: no Origin, a non-browser client)."""
        if origin is None:
            return True
        text = origin.strip().rstrip("/").lower()
        if text in self.allow_origins:
            return True
        if text == "null" or host_header is None:
            return False
        parts = urlsplit(text)
        if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or parts.path or parts.query:
            return False
        own = _split_host(host_header)
        theirs = _split_host(parts.netloc)
        if own is None or theirs is None:
            return False
        default = _DEFAULT_PORTS[parts.scheme]
        return own[0] == theirs[0] and (own[1] or default) == (theirs[1] or default)

    def cors_origin(self, origin: str | None) -> str | None:
        """The origin to echo in Access-Control-Allow-Origin: only one given with --allow-origin."""
        if origin is None:
            return None
        text = origin.strip().rstrip("/").lower()
        return origin.strip() if text in self.allow_origins and text != "null" else None


class OriginGuard:
    """ASGI middleware enforcing an OriginPolicy on every HTTP request, before the app sees it.

    `error_body(path, exc)` renders a refusal in the shape the path's clients expect.
    """

    def __init__(self, app: ASGIApp, policy: OriginPolicy,
                 error_body: Callable[[str, AlphacutError], dict[str, Any]]) -> None:
        self.app = app
        self.policy = policy
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host, origin = headers.get("host"), headers.get("origin")
        refusal = None
        if not self.policy.host_ok(host):
            refusal = ServerError("request.bad-host", f"This server does not answer to the host {host!r}.",
                                  hint="Open it as http://127.0.0.1:PORT/ or http://localhost:PORT/, or start "
                                       "`alphacut serve --allow-host NAME` for a name of your own.")
        elif origin is None and scope["method"] not in ("GET", "HEAD") \
                and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            # a browser that sent no Origin but says the request comes from another site
            refusal = ServerError("request.bad-origin", "Requests from another site's page are refused.",
                                  hint="Only the server's own page may call it from a browser.")
        elif not self.policy.origin_ok(origin, host):
            refusal = ServerError("request.bad-origin", f"Requests from the page at {origin!r} are refused.",
                                  hint="Only the server's own page may call it from a browser; start "
                                       "`alphacut serve --allow-origin ORIGIN` to allow another.")
        if refusal is not None:
            response = JSONResponse(self.error_body(scope["path"], refusal), status_code=refusal.http_status)
            await response(scope, receive, send)
            return
        allowed = self.policy.cors_origin(origin)
        if allowed is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await Response(status_code=204, headers={**_cors(allowed), "Access-Control-Max-Age": "600",
                                                     "Access-Control-Allow-Methods": "GET, POST",
                                                     "Access-Control-Allow-Headers": "Content-Type, X-Api-Key, Accept"},
                           )(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in _cors(allowed).items()]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "X-Width, X-Height, X-Model, X-Type, X-Credits-Charged, Server-Timing"}


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; a repeated Host or Origin is kept as both values (refused)."""
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[name] = f"{out[name]}, {text}" if name in out and name in ("host", "origin") else text
    return out
