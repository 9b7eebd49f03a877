"""The FastAPI app factory: one warm Remover in app.state, a bounded pool, errors as JSON.

Nothing here is global: :func:`create_app` builds everything, the lifespan loads the Remover,
tests pass a Remover with a fake backend.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AlphacutError, InputError, ServerError
from .origin import OriginGuard, OriginPolicy
from .removebg import router as removebg_router
from .routes import printable, ready_remover, router
from .schemas import ServerSettings, error_body

if TYPE_CHECKING:
    from ..api import Remover
    from ..config import Settings

__all__ = ["Hold", "InferencePool", "MemoryBudget", "ModelFileResolver", "build_remover", "create_app", "default_model_file",
           "ready_remover", "web_dir"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("alphacut.server.access")

T = TypeVar("T")
#: model id → the verified .onnx file to serve to the browser, or None when it isn't cached/verified
ModelFileResolver = Callable[[str], "Path | None"]

#: the page and its assets are public; these prefixes need the API key when one is set
PROTECTED_PREFIXES = ("/v1/", "/v1.0/", "/model/")

#: the page may load nothing from elsewhere: this is the "no CDN, no analytics" guarantee in code
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' blob: data:; connect-src 'self' blob: data:; worker-src 'self' blob:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def web_dir() -> Path:
    """The built page (src/alphacut/web), shipped inside the package."""
    return Path(str(resources.files("alphacut").joinpath("web")))


class InferencePool:
    """A fixed pool of worker threads with a bounded waiting room.

    At most `workers` jobs run and `queue` wait; a request that finds no room is refused (503).
    A slot is taken only once the request's body is in (routes.admit): a slow upload holds no slot.
    A slot is freed when its job ends, not when its client gave up waiting (a timed-out job still
    holds the CPU until it finishes), and with it the request's memory reservation (MemoryBudget).
    """

    def __init__(self, workers: int, queue: int, timeout_s: float, retry_after_s: int = 5) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alphacut-infer")
        self._lock = threading.Lock()
        self._busy = 0
        self._peak = 0

    @property
    def busy(self) -> int:
        return self._busy

    @property
    def peak(self) -> int:
        """The most slots ever held at once (never above capacity): what bounds memory."""
        return self._peak

    def acquire(self) -> Slot:
        with self._lock:
            if self._busy >= self.capacity:
                raise ServerError("server.overloaded",
                                  f"All {self.workers} workers are busy and {self.capacity - self.workers} "
                                  "requests already wait.", hint=f"Retry in {self.retry_after_s} s.",
                                  headers={"Retry-After": str(self.retry_after_s)})
            self._busy += 1
            self._peak = max(self._peak, self._busy)
        return Slot(self)

    def _release(self) -> None:
        with self._lock:
            self._busy -= 1

    async def run(self, slot: Slot, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(*args) on a worker thread, holding `slot` until it ends; 504 after timeout_s."""
        future = self._executor.submit(fn, *args)
        slot.hand_over(future)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout_s)
        except asyncio.TimeoutError:
            future.cancel()
            raise ServerError("server.timeout", f"The image took longer than {self.timeout_s:g} s.",
                              hint="Send a smaller image or raise --timeout.") from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class Slot:
    """One place in the pool, released exactly once: by the caller, or when its job ends; the request's
    memory reservation (a Hold, if attached) goes with it."""

    def __init__(self, pool: InferencePool) -> None:
        self._pool = pool
        self._owned = True
        self.hold: Hold | None = None

    def attach(self, hold: Hold) -> None:
        self.hold = hold

    def _free(self) -> None:
        self._pool._release()
        if self.hold is not None:
            self.hold.release()

    def hand_over(self, future: Any) -> None:
        self._owned = False
        future.add_done_callback(lambda _f: self._free())

    def release(self) -> None:
        if self._owned:
            self._owned = False
            self._free()


class MemoryBudget:
    """The memory the requests in flight may need together (`serve --max-memory`), reserved before work.

    Each request holds a Hold: its body's bytes as they arrive, then its cutout's estimated peak
    (alphacut.cost) before it is queued. A request that could never fit is 413 input.too-costly; one
    that does not fit now is 503 server.memory-busy with Retry-After. Released when its job ends.
    """

    def __init__(self, total_bytes: int, retry_after_s: int = 5) -> None:
        self.total = total_bytes
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._used = 0
        self._peak = 0

    @property
    def used(self) -> int:
        return self._used

    @property
    def peak(self) -> int:
        """The most bytes ever reserved at once (never above total)."""
        return self._peak

    def hold(self) -> Hold:
        return Hold(self)

    def _take(self, held: int, more: int, what: str) -> None:
        from ..cost import format_bytes

        if held + more > self.total:
            raise InputError("input.too-costly", f"{what} needs about {format_bytes(held + more)} of memory; the "
                             f"server's budget (--max-memory) is {format_bytes(self.total)}.",
                             hint="Send a smaller image or a lower resolution, or raise `alphacut serve --max-memory`.")
        with self._lock:
            if self._used + more > self.total:
                raise ServerError("server.memory-busy", f"The server's memory budget (--max-memory, "
                                  f"{format_bytes(self.total)}) is taken by requests in flight.",
                                  hint=f"Retry in {self.retry_after_s} s.",
                                  headers={"Retry-After": str(self.retry_after_s)})
            self._used += more
            self._peak = max(self._peak, self._used)

    def _give(self, n: int) -> None:
        with self._lock:
            self._used -= n


class Hold:
    """One request's share of a MemoryBudget: grows, then is released once."""

    def __init__(self, budget: MemoryBudget) -> None:
        self._budget = budget
        self.bytes = 0
        self._released = False

    def grow(self, n: int, what: str = "This request") -> None:
        if n > 0:
            self._budget._take(self.bytes, n, what)
            self.bytes += n

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._budget._give(self.bytes)


class _AccessAndGuard:
    """ASGI middleware (the outermost): security headers, and one access-log line per request.

    The log line holds method, path (no query string), status, request and response bytes and
    time: never bodies, file names or query values. The path is escaped (:func:`printable`), so a
    request can't write a line break, an escape sequence or a NUL into the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path: str = scope["path"]
        counts = {"in": 0, "out": 0, "status": 0}

        async def counting_receive() -> Message:
            message = await receive()
            counts["in"] += len(message.get("body", b""))
            return message

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for key, value in _security_headers(path):
                    if key.lower().encode() not in names:
                        headers.append((key.encode(), value.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                counts["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        finally:
            access_log.info("%s %s %d in=%dB out=%dB %.1fms", printable(scope["method"]), printable(path),
                            counts["status"], counts["in"], counts["out"], (time.perf_counter() - t0) * 1e3)


class _ApiGuard:
    """ASGI middleware inside the Origin guard: the API key, and plain OPTIONS requests.

    It runs after OriginGuard, so a CORS preflight from an --allow-origin page is answered without
    a key (browsers never send one on a preflight), and a 403 for a missing key still carries the
    CORS headers the page needs to read it. Two X-Api-Key headers are a 400: which one counts
    would be a guess.
    """

    def __init__(self, app: ASGIApp, api_key: str | None, wants_removebg_errors: Callable[[str], bool]) -> None:
        self.app = app
        self.api_key = api_key
        self.removebg = wants_removebg_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] == "OPTIONS":
            allow = ", ".join(_methods_for(scope))
            await Response(status_code=204, headers={"Allow": allow})(scope, receive, send)
            return
        exc: ServerError | None = None
        if self.api_key and path.startswith(PROTECTED_PREFIXES):
            keys = [value for key, value in scope.get("headers", []) if key.lower() == b"x-api-key"]
            if len(keys) > 1:
                exc = ServerError("request.repeated-header", f"X-Api-Key is sent {len(keys)} times.",
                                  hint="Send the key once.")
            elif not keys or not hmac.compare_digest(keys[0], self.api_key.encode()):
                exc = ServerError("auth.invalid-key", "A valid X-Api-Key header is required.",
                                  hint="Send the key given to `alphacut serve` (--api-key-file, ALPHACUT_API_KEY "
                                       "or --api-key).")
        if exc is not None:
            body = removebg_error_body(exc) if self.removebg(path) else error_body(exc)
            await JSONResponse(body, status_code=exc.http_status)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _methods_for(scope: Scope) -> list[str]:
    """The methods the app answers on this path (for OPTIONS' Allow): its routes', else the page's."""
    from starlette.routing import Match, Mount

    app = scope.get("app")
    routes = [r for r in getattr(getattr(app, "router", None), "routes", []) if not isinstance(r, Mount)]
    methods = [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
               if any(r.matches({**scope, "method": m})[0] == Match.FULL for r in routes)]
    return (methods or ["GET", "HEAD"]) + ["OPTIONS"]  # no API route: the page and its files


def _security_headers(path: str) -> list[tuple[str, str]]:
    headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
               # cross-origin isolation lets onnxruntime-web use threads (SharedArrayBuffer)
               ("Cross-Origin-Opener-Policy", "same-origin"), ("Cross-Origin-Embedder-Policy", "require-corp"),
               ("Cross-Origin-Resource-Policy", "same-origin"),
               # no other site may frame anything here (the page, /docs, the API): clickjacking
               ("X-Frame-Options", "DENY")]
    if not path.startswith(("/docs", "/v1")):
        headers.append(("Content-Security-Policy", CSP))
    else:  # /docs (Swagger UI) and the API: no page rules, but never in another site's frame
        headers.append(("Content-Security-Policy", "frame-ancestors 'none'"))
    return headers


def removebg_error_body(exc: AlphacutError) -> dict[str, Any]:
    from .removebg import error_entry

    return {"errors": [error_entry(exc)]}


class _WebFiles(StaticFiles):
    """The built page, with the content types browsers insist on (.mjs, .wasm) and cache rules."""

    TYPES: ClassVar[dict[str, str]] = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
             ".onnx": "application/octet-stream"}

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        suffix = Path(str(full_path)).suffix
        if suffix in self.TYPES:
            response.headers["content-type"] = self.TYPES[suffix]
        # hashed bundles and vendored files never change under one name; the page itself may
        immutable = "/assets/" in str(full_path) or "/vendor/" in str(full_path)
        response.headers["cache-control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return response


def create_app(remover: Remover | Callable[[], Remover], settings: ServerSettings | None = None, *,
               model_file: ModelFileResolver | None = None, static_dir: Path | None = None) -> FastAPI:
    """Build the app. `remover` is a ready Remover (tests) or a factory called once at startup.

    Example:
        >>> app = create_app(lambda: Remover(), ServerSettings(workers=2))
    """
    settings = settings or ServerSettings()
    static_dir = static_dir or web_dir()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = InferencePool(settings.workers, settings.queue, settings.timeout_s, settings.retry_after_s)
        app.state.pool = pool
        app.state.budget = MemoryBudget(server_budget(settings), settings.retry_after_s)
        app.state.remover = None
        app.state.load_error = None
        app.state.loaded = asyncio.Event()
        task = None
        if hasattr(remover, "cutout"):
            _ready(app, cast("Remover", remover))
        else:
            # load in the background: /healthz answers at once, /readyz once the model is in memory
            task = asyncio.create_task(_load(app, remover))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            pool.shutdown()

    app = FastAPI(title="alphacut", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  summary="Background removal on your own machine. No upload anywhere else.")
    app.state.settings = settings
    app.state.model_file = model_file or default_model_file
    app.state.static_dir = static_dir

    app.include_router(router)
    app.include_router(removebg_router)

    def is_removebg(path: str) -> bool:
        return path.startswith("/v1.0/")

    @app.exception_handler(AlphacutError)
    async def on_alphacut_error(request: Request, exc: AlphacutError) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        body = removebg_error_body(exc) if is_removebg(request.url.path) else error_body(exc)
        return JSONResponse(body, status_code=exc.http_status, headers=headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        err = ServerError("server.internal", f"Unexpected {type(exc).__name__}.",
                            hint="See the server log; this is a bug worth reporting.")
        body = removebg_error_body(err) if is_removebg(request.url.path) else error_body(err)
        return JSONResponse(body, status_code=500)

    if static_dir.is_dir():
        app.mount("/", _WebFiles(directory=static_dir, html=True, check_dir=False), name="web")
    # the last added runs first: access log and headers, then Host/Origin (and CORS, preflights), then the
    # key: refused requests are logged too, and refused before any work
    app.add_middleware(_ApiGuard, api_key=settings.api_key, wants_removebg_errors=is_removebg)
    app.add_middleware(OriginGuard, policy=OriginPolicy.build(settings.host, settings.port, settings.allow_hosts,
                                                              settings.allow_origins),
                       error_body=lambda path, exc: removebg_error_body(exc) if is_removebg(path) else error_body(exc))
    app.add_middleware(_AccessAndGuard)
    return app


def server_budget(settings: ServerSettings) -> int:
    """--max-memory, else its default from the machine's RAM and the worker count (alphacut.cost)."""
    from ..cost import default_server_budget

    return settings.max_memory if settings.max_memory is not None else default_server_budget(settings.workers)


def _ready(app: FastAPI, remover: Remover) -> None:
    app.state.remover = remover
    app.state.loaded.set()
    settings: ServerSettings = app.state.settings
    from ..cost import format_bytes

    log.info("serving model %s with %d workers, queue %d, memory budget %s", remover.model_id, settings.workers,
             settings.queue, format_bytes(app.state.budget.total))


async def _load(app: FastAPI, factory: Callable[[], Remover]) -> None:
    try:
        _ready(app, await asyncio.to_thread(factory))
    except AlphacutError as exc:
        app.state.load_error = exc
        log.error("the model could not be loaded: %s", exc)
    except Exception as exc:  # noqa: BLE001 - any failure must reach clients as JSON, not a hung request
        app.state.load_error = ServerError("server.load-failed", f"Loading the model failed: {exc!r}.",
                                             hint="See the server log.")
        log.error("the model could not be loaded: %r", exc)
    finally:
        app.state.loaded.set()


def build_remover(settings: Settings, *, workers: int = 1) -> Remover:
    """The server's one warm Remover, its model ensured (fetched unless offline) by the store.

    workers: the images cut out at once (ServerSettings.workers), each with settings' threads.
    """
    from ..api import Remover
    from ..models.store import ModelStore

    store = ModelStore(settings.home_path, offline=bool(settings.offline.value))
    # The model loads in the background; wait here so the server is "ready" only once it can serve.
    return Remover(settings=settings, store=store, concurrency=max(1, workers)).wait_ready()


def default_model_file(model_id: str, settings: Settings | None = None) -> Path | None:
    """The cached, verified file of a catalog model for the private browser mode, or None.

    `settings` are the serve command's (its --home): the file comes from the cache the server
    itself uses. Never fetches: the page gets only what this machine already has. The store
    re-hashes the file unless its verification stamp matches, and refuses (deletes) a corrupt one.
    """
    from ..config import load_settings
    from ..errors import ModelError as _ModelError
    from ..models.store import ModelStore

    settings = settings or load_settings()
    store = ModelStore(settings.home_path, offline=True)
    if model_id not in store.catalog or not store.is_cached(model_id) or store.catalog.get(model_id).task != "matting":
        return None  # (the id-photo face landmark model is not a background remover for the page)
    try:
        return store.ensure(model_id)
    except _ModelError as exc:
        log.warning("not serving model %s: %s", model_id, exc)
        return None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alphacut")
    except PackageNotFoundError:  # run from a source tree (PYTHONPATH=src)
        return "0+local"
