"""alphacut's own API: /v1/remove, health, the page's config, the model file for private mode, /docs."""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from ..api import Remover
from ..errors import AlphacutError, InputError, ServerError, error_for
from ..io.encode import CONTENT_TYPES
from ..options import Options
from .schemas import (
    REMOVE_FIELDS_DOC,
    RequestData,
    ServerSettings,
    options_from_fields,
    parse_body,
    request_body_doc,
)

if TYPE_CHECKING:
    from .. import Cutout

__all__ = ["admit", "admit_cost", "check_image_bytes", "printable", "read_body", "ready_remover", "result_headers", "router", "run_job"]

T = TypeVar("T")

router = APIRouter()
log = logging.getLogger(__name__)


def printable(text: str, limit: int = 512) -> str:
    r"""`text` safe for one log line: backslash and every unprintable character (line breaks, ESC,
    NUL, U+2028) escaped as \\xNN / \\uNNNN, and at most `limit` characters kept.

    Example:
        >>> printable("/a\nINFO forged")
        '/a\\x0aINFO forged'
    """
    out = []
    for ch in text[:limit]:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out) + ("..." if len(text) > limit else "")


async def ready_remover(app: Any, timeout_s: float) -> Remover:
    """The loaded Remover; waits (up to timeout_s) while it loads; 503 if loading failed or took too long."""
    if app.state.remover is None and app.state.load_error is None:
        try:
            await asyncio.wait_for(app.state.loaded.wait(), timeout_s)
        except asyncio.TimeoutError:
            raise ServerError("server.loading", "The model is still loading.", hint="Retry shortly.", headers={"Retry-After": "5"}) from None
    if app.state.load_error is not None:
        err: AlphacutError = app.state.load_error
        raise error_for(err.code, err.message, hint=err.hint)
    result: Remover = app.state.remover
    return result


async def read_body(request: Request, limit: int, hold: Any | None = None) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes (checked while streaming),
    its bytes reserved on the memory budget (`hold`) as they arrive: a slow or lying client holds
    only what it has sent. A client that hangs up mid-upload ends here quietly (request.client-gone)."""
    from starlette.requests import ClientDisconnect

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    buf = bytearray()
    try:
        async for chunk in request.stream():
            if len(buf) + len(chunk) > limit:
                raise _too_large(limit)
            if hold is not None:
                hold.grow(len(chunk), "The request body")
            buf += chunk
    except ClientDisconnect:
        log.info("client went away after %d bytes of %s %s", len(buf), request.method, printable(request.url.path))
        raise ServerError("request.client-gone", "The client closed the connection before the body was in.") from None
    return bytes(buf)


def _too_large(limit: int) -> ServerError:
    return ServerError("input.file-too-large", f"The request body exceeds the limit of {limit:,} bytes.",
                       hint="Send a smaller file or raise `alphacut serve --max-bytes` (the body may be 4/3 of it, "
                            "for base64).")


def check_image_bytes(image: bytes, max_bytes: int, name: str = "The image") -> None:
    """413 input.file-too-large for an image (file part, raw body, decoded base64) over --max-bytes."""
    if len(image) > max_bytes:
        raise ServerError("input.file-too-large", f"{name} is {len(image):,} bytes; the limit is {max_bytes:,} bytes.",
                          hint="Send a smaller file or raise `alphacut serve --max-bytes`.")


async def admit(request: Request) -> tuple[Any, RequestData, Remover]:
    """Read the whole body first (size-checked, within --read-timeout, its bytes on the memory budget),
    parse it off the event loop, and only then take a pool slot (503 when full): a slow upload holds
    no worker. The slot carries the request's memory reservation (admit_cost adds the cutout's)."""
    settings: ServerSettings = request.app.state.settings
    remover = await ready_remover(request.app, settings.timeout_s)
    hold = request.app.state.budget.hold()
    try:
        try:
            body = await asyncio.wait_for(read_body(request, settings.max_body_bytes, hold), settings.read_timeout_s)
        except asyncio.TimeoutError:
            raise ServerError("request.upload-timeout", f"The upload took longer than {settings.read_timeout_s:g} s.",
                              hint="Check the connection, or raise `alphacut serve --read-timeout`.") from None
        # python-multipart and json are pure Python/C on the whole body: a worker thread, not the event loop
        data = await asyncio.to_thread(parse_body, body, request.headers.get("content-type"),
                                       max_fields=settings.max_fields)
        data.merge_query(request.query_params)
        data.check_repeated()
        slot = request.app.state.pool.acquire()
    except BaseException:
        hold.release()
        raise
    slot.attach(hold)
    return slot, data, remover


async def admit_cost(request: Request, slot: Any, remover: Remover, image: bytes, options: Options) -> None:
    """Reserve the cutout's estimated peak memory (alphacut.cost) on the budget before it is queued:
    413 input.too-costly if it could never fit, 503 server.memory-busy if not now; and the HTTP cap
    on `resolution` (--max-resolution)."""
    settings: ServerSettings = request.app.state.settings
    check_image_bytes(image, settings.max_bytes)
    if options.resolution is not None and options.resolution > settings.max_resolution:
        raise ServerError("options.too-large", f"resolution={options.resolution} is above this server's cap of "
                          f"{settings.max_resolution} (the model's memory grows with its square).",
                          field_name="resolution", hint="Send a lower resolution, or start `alphacut serve "
                          "--max-resolution` higher (and mind --max-memory).")
    size = await asyncio.to_thread(remover._image_size_wh, image)
    if size is not None and size[0] * size[1] > options.max_pixels:
        size = None  # decoding refuses it from its header (input.too-large), before any pixel is decoded
    slot.hold.grow(remover._estimate_peak_bytes(size or (0, 0), options, input_bytes=len(image)),
                   f"This image ({size[0]}x{size[1]} at model side {options.resolution or remover.spec.input_size})"
                   if size else "This image")


def pick_image(data: RequestData, content_type: str | None) -> bytes:
    """The uploaded image: the `file` (or `image`, or only) part, else the raw body.

    No image at all is 400 input.missing; an image that is there but 0 bytes long is 415
    input.empty (as the library says of an empty file); image_url is refused (never fetched).
    """
    if data.fields.get("image_url"):
        raise ServerError("request.url-not-fetched", "image_url is refused: this server never fetches URLs.",
                          field_name="image_url", hint="Fetching images server-side would leak what you "
                          "process; send the image itself (multipart `file` or the body).")
    extra = sorted(set(data.files) - {"file", "image"}) if len(data.files) > 1 else []
    if extra:  # a second file part (bg_image, ...) would be ignored silently, as no text field is
        raise ServerError("request.unknown-field", f"Unknown file part '{extra[0]}'.", field_name=extra[0],
                          hint="Send the image as the `file` part, alone.")
    if len(data.files) > 1:
        raise ServerError("request.multiple-sources", "Give either `file` or `image`, not both.", field_name="file")
    for name in ("file", "image", *data.files):
        if name in data.files:
            if not data.files[name]:
                raise InputError("input.empty", f"The uploaded file `{name}` is empty (0 bytes).",
                                 hint="Send the image's bytes.")
            return data.files[name]
    if data.raw:
        return data.raw
    if data.raw is not None and content_type:  # a body declared as an image, with nothing in it
        raise InputError("input.empty", "The request body is empty (0 bytes).", hint="Send the image's bytes.")
    raise ServerError("input.missing", "No image in the request.", field_name="file",
                      hint="Send multipart/form-data with a `file` part, or the image as the body.")


def check_model(remover: Remover, fields: dict[str, str]) -> None:
    wanted = fields.get("model")
    served = remover.model_id
    if wanted and wanted != served:
        raise ServerError("options.invalid", f"model: this server runs '{served}', not '{wanted}'.",
                          field_name="model",
                          hint="Leave model out, or start `alphacut serve --model ...` with that model.")


async def run_job(request: Request, slot: Any, job: Callable[[], T]) -> T:
    """Run `job` (cut-out and encoding: everything CPU-heavy) on the shared pool, off the event loop,
    timed out after the server's timeout."""
    result: T = await request.app.state.pool.run(slot, job)
    return result


def result_headers(cutout: Cutout, size_wh: tuple[int, int], t0: float) -> dict[str, str]:
    timings = ";".join(f"{k};dur={v:.1f}" for k, v in cutout.info.timings_ms.items())
    return {"X-Width": str(size_wh[0]), "X-Height": str(size_wh[1]), "X-Model": cutout.info.model,
            "Server-Timing": f"{timings};total;dur={(time.perf_counter() - t0) * 1e3:.1f}".lstrip(";"),
            "Cache-Control": "no-store"}


@router.post("/v1/remove", tags=["alphacut"], response_class=Response,
             responses={200: {"content": {"image/png": {}, "image/webp": {}, "image/jpeg": {}},
                              "description": "The cutout (X-Width, X-Height, Server-Timing headers)"},
                        400: {"description": "Bad field: {\"error\": {code, message, hint}}"},
                        403: {"description": "Missing or wrong X-Api-Key"},
                        408: {"description": "The body took longer than --read-timeout"},
                        413: {"description": "Upload (--max-bytes), pixel count (--max-pixels) or estimated memory "
                                             "(--max-memory) over the limit: docs/LIMITS.md"},
                        415: {"description": "Not an image alphacut can read"},
                        503: {"description": "Overloaded (workers or memory budget busy): retry after Retry-After "
                                             "seconds"},
                        504: {"description": "Timed out"}},
             openapi_extra=request_body_doc(REMOVE_FIELDS_DOC, ("file",), raw=True))
async def remove(request: Request) -> Response:
    """Cut out one image: multipart `file` (or the raw body); options as query or form fields named as
    in the CLI: format (png, webp, jpg, mask), bg (white, #RRGGBB, r,g,b), resolution, max_pixels,
    jpeg_quality, quality (standard or best; a number is the older jpeg_quality alias). `model` must
    be the served model if given."""
    t0 = time.perf_counter()
    slot, data, remover = await admit(request)
    try:
        image = pick_image(data, request.headers.get("content-type"))
        check_model(remover, data.fields)
        options = options_from_fields(data.fields, max_pixels=request.app.state.settings.max_pixels)
        await admit_cost(request, slot, remover, image, options)
    except BaseException:
        slot.release()
        raise

    def job() -> tuple[Cutout, bytes]:
        cutout = remover.cutout(image, options)
        return cutout, cutout.to_bytes(options)

    cutout, payload = await run_job(request, slot, job)
    return Response(payload, media_type=CONTENT_TYPES[options.format],
                    headers=result_headers(cutout, cutout.info.size_wh, t0))


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the model is loaded; how many pool slots are busy and how much of the memory budget
    (--max-memory) the requests in flight hold."""
    remover = request.app.state.remover
    if request.app.state.load_error is not None:
        return JSONResponse({"status": "failed", "error": request.app.state.load_error.to_dict()}, status_code=503)
    if remover is None:
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "2"})
    pool, budget = request.app.state.pool, request.app.state.budget
    return JSONResponse({"status": "ready", "model": remover.model_id, "busy": pool.busy,
                         "capacity": pool.capacity, "memory_reserved_bytes": budget.used,
                         "memory_budget_bytes": budget.total})


@router.get("/config.json", tags=["page"])
async def page_config(request: Request) -> dict[str, Any]:
    """What the page needs to know: whether a key is required, limits, and the private-mode model."""
    settings: ServerSettings = request.app.state.settings
    remover = await ready_remover(request.app, settings.timeout_s)
    spec = remover.spec
    private = None
    if request.app.state.model_file(spec.id) is not None:
        private = {"id": spec.id, "url": f"/model/{spec.id}.onnx", "input_size": spec.input_size,
                   "mean": list(spec.mean), "std": list(spec.std), "size_bytes": spec.size_bytes,
                   "output_index": spec.output_index, "activation": spec.activation,
                   "levels": list(spec.levels) if spec.levels is not None else None, "mirror": spec.mirror,
                   "sha256": spec.hash_hex if spec.checksum.startswith("sha256:") else None}
    return {"api_key_required": bool(settings.api_key), "max_upload_bytes": settings.max_bytes,
            "max_pixels": settings.max_pixels, "model": spec.id, "private_model": private}


@router.get("/model/{model_id}.onnx", tags=["page"], response_class=Response)
async def model_file(request: Request, model_id: str) -> Response:
    """The verified model file from the cache, for private in-browser mode (ETag + long cache, ranges)."""
    path = request.app.state.model_file(model_id)
    if path is None:
        raise ServerError("model.not-served", f"'{model_id}' is not a cached, verified catalog model.",
                          hint=f"Run `alphacut models fetch {model_id}` on the server machine.")
    from ..models.catalog import load_catalog

    catalog = load_catalog()
    etag = f'"{catalog.get(model_id).hash_hex}"' if model_id in catalog else None
    headers = {"Cache-Control": "public, max-age=604800"}
    if etag:
        headers["ETag"] = etag
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
    response = FileResponse(path, media_type="application/octet-stream", headers=headers)
    if etag:
        response.headers["etag"] = etag
    return response


@router.get("/docs", include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    """Swagger UI from the vendored swagger-ui-dist files (no CDN); a plain list if they're not built."""
    vendor = request.app.state.static_dir / "vendor" / "swagger"
    if (vendor / "swagger-ui-bundle.js").is_file():
        return HTMLResponse(_SWAGGER_PAGE)
    rows = "".join(
        f"<li><code>{html.escape(m.upper())} {html.escape(p)}</code> {html.escape(op.get('summary', ''))}</li>"
        for p, ops in request.app.openapi()["paths"].items() for m, op in ops.items())
    return HTMLResponse(f"<!doctype html><title>alphacut API</title><h1>alphacut API</h1><ul>{rows}</ul>"
                        "<p>Full schema: <a href='/openapi.json'>/openapi.json</a>. Run <code>make web</code> "
                        "for the interactive docs.</p>")


_SWAGGER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>alphacut API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="/vendor/swagger/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/vendor/swagger/swagger-ui-bundle.js"></script>
<script src="/vendor/swagger/docs-init.js"></script>
</body></html>"""
