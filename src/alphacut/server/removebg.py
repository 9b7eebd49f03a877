"""A remove.bg-compatible endpoint, POST /v1.0/removebg, answering in remove.bg's shapes.

What each remove.bg field does here (also in the OpenAPI description):

- image_file (multipart), image_file_b64 (form/JSON): the image. image_url: refused (400
  ``url_fetch_disabled``): the server never fetches URLs, for privacy.
- size: a cap on the output's pixel count, as remove.bg defines it: preview/small/regular 0.25 MP,
  medium 1.5 MP, hd 4 MP, full/4k/auto the original size. The default is **auto** (remove.bg's is
  preview), since nothing is charged here. It is Options.max_output_pixels: the model runs the same
  for all sizes, but a big JPEG is decoded at 1/2..1/8 when the cap allows (pipeline.min_decode_size).
- type, type_level: accepted; no classifier runs, X-Type is the requested type or "other"
  (type_level=none leaves it out).
- format: auto (PNG if any pixel is transparent, else JPG), png, jpg, zip (color.jpg + alpha.png).
- bg_color: a colour (hex with optional alpha, or a name). bg_image_file, bg_image_url: 400
  ``bg_image_unsupported`` until the pipeline composites images.
- crop, crop_margin ("30px", "10%", 1, 2 or 4 values, at most 50 % of the subject or 500 px per side).
- roi ("x1 y1 x2 y2" in px or %): everything outside is background.
- scale ("10%".."100%": the subject's box spans that much of the frame, centred unless position
  is given) and position ("original", "center", "30%" or "0% 100%": x y in the frame's free space);
  the frame keeps its size (the crop's, with crop=true).
- channels: rgba, or alpha (the matte as a greyscale image).
- semitransparency, add_shadow, shadow_method: accepted and ignored (remove.bg applies them to cars only).
- quality (alphacut's own, not remove.bg's): standard (default) or best, which runs the model on the
  image and on its mirror image and averages the two (2x the network's time; Options.quality).
- Accept: application/json → {"data": {"result_b64", "foreground_top", "foreground_left",
  "foreground_width", "foreground_height"}}. Headers: X-Width, X-Height, X-Type, X-Credits-Charged: 0.
"""

from __future__ import annotations

import base64
import io
import re
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from ..errors import AlphacutError, InputError, ServerError
from ..io.encode import encode_image
from ..ops.pixels import float_to_u8
from ..options import (
    MIN_SUBJECT_SCALE,
    Background,
    Color,
    Length,
    Margin,
    MarginBasis,
    Options,
    OutputFormat,
    Quality,
    Roi,
    parse_position,
    parse_scale,
)
from .routes import admit, admit_cost, check_model, run_job
from .schemas import decode_b64, parse_bool, request_body_doc

if TYPE_CHECKING:
    from .. import Cutout

__all__ = ["RemoveBgRequest", "error_entry", "parse_removebg", "removebg_options", "render", "router"]

router = APIRouter()

SIZE_LIMITS_PX: dict[str, int | None] = {
    "preview": 250_000, "small": 250_000, "regular": 250_000, "medium": 1_500_000, "hd": 4_000_000,
    "full": None, "4k": None, "auto": None,
}
KNOWN = {"image_file", "image_file_b64", "image_url", "size", "type", "type_level", "format", "roi", "crop",
         "crop_margin", "scale", "position", "channels", "add_shadow", "semitransparency", "shadow_method",
         "bg_color", "bg_image_url", "bg_image_file", "model", "quality"}

FIELDS_DOC = {
    "image_file_b64": "the image, base64", "image_url": "refused: the server never fetches URLs",
    "size": "preview|small|regular (0.25 MP), medium (1.5 MP), hd (4 MP), full|4k|auto (original; default)",
    "type": "auto|person|product|car: echoed in X-Type, no classifier runs", "type_level": "none hides X-Type",
    "format": "auto|png|jpg|zip", "bg_color": "hex (81d4fa, fff, 81d4fa77) or a colour name",
    "crop": "true|false", "crop_margin": "30px, 10%, 1/2/4 values (max 50% of the subject or 500 px)",
    "roi": "x1 y1 x2 y2 in px or %", "position": "original|center|X%|'X% Y%'", "scale": "original|10%..100%",
    "channels": "rgba|alpha", "semitransparency": "accepted, ignored", "add_shadow": "accepted, ignored",
    "shadow_method": "accepted, ignored",
    "quality": "alphacut's own: standard (default) or best (the image and its mirror image, averaged: 2x the "
               "network's time)",
}

#: The one place alphacut's codes (errors.CODES) become remove.bg's snake_case wire codes, which
#: remove.bg clients match on: its documented ones where it has one, else '_' for '.' and '-'.
_CODES = {"input.file-too-large": "file_too_large", "input.too-large": "resolution_too_high",
          "input.undecodable": "invalid_file_type", "input.empty": "invalid_file_type",
          "input.missing": "missing_source", "auth.invalid-key": "auth_failed",
          "server.overloaded": "rate_limit_exceeded", "request.unknown-field": "unknown_parameter",
          "request.url-not-fetched": "url_fetch_disabled", "request.multiple-sources": "multiple_sources",
          "options.roi-empty": "roi_region_empty", "options.roi-outside": "roi_exceeds_bounds"}
#: per field: options.unsupported → "<field>_unsupported" (bg_image_file → bg_image_unsupported)
_UNSUPPORTED = {"bg_image_file": "bg_image_unsupported"}


def error_entry(exc: AlphacutError) -> dict[str, str]:
    """One remove.bg error: {"title", "code", "detail"}."""
    field = getattr(exc, "field_name", None)
    if exc.code == "options.invalid" and field:
        code = f"invalid_{field}"
    elif exc.code == "options.unsupported" and field:
        code = _UNSUPPORTED.get(field, f"{field}_unsupported")
    else:
        code = _CODES.get(exc.code) or exc.code.replace(".", "_").replace("-", "_")
    detail = exc.message + (f" {exc.hint}" if exc.hint else "")
    return {"title": exc.message, "code": code, "detail": detail}


def _bad(field: str, message: str, hint: str | None = None) -> ServerError:
    return ServerError("options.invalid", message, hint=hint, field_name=field)


@dataclass(frozen=True, slots=True)
class RemoveBgRequest:
    """The remove.bg fields, parsed."""

    image: bytes
    max_output_px: int | None
    fmt: str  # auto, png, jpg, zip
    background: Color | None
    alpha_only: bool
    crop: bool
    crop_margin: Margin  # per side, % of the subject's own axis, clamped to 50 % and 500 px
    roi: Roi | None
    scale: float | None  # the subject's share of the frame; None: original
    position: tuple[float, float] | None  # (x, y) in the frame's free space; None: original (centred if scaled)
    x_type: str | None
    quality: Quality = Quality.STANDARD  # alphacut's own field


#: remove.bg's foreground types (no classifier runs here: the value is only echoed in X-Type)
TYPES = ("auto", "person", "product", "car", "animal", "graphic", "transportation")

_LENGTH = re.compile(r"^\d+(\.\d+)?(px|%)?$")


def parse_removebg(fields: dict[str, str], files: dict[str, bytes]) -> RemoveBgRequest:
    """Check and parse the remove.bg fields; a 400 names the first bad one."""
    unknown = sorted((set(fields) | set(files)) - KNOWN)
    if unknown:
        raise ServerError("request.unknown-field", f"Unknown parameter '{unknown[0]}'.", field_name=unknown[0])
    if fields.get("image_url"):
        raise ServerError("request.url-not-fetched", "image_url is disabled: this server never fetches URLs.",
                          field_name="image_url",
                          hint="Fetching images server-side would leak what you process; send image_file or "
                               "image_file_b64 instead.")
    sources = [s for s in ("image_file", "image_file_b64") if s in files or fields.get(s)]
    if len(sources) > 1:
        raise ServerError("request.multiple-sources", "Give either image_file or image_file_b64, not both.")
    if not sources:
        raise ServerError("input.missing", "No image given.", field_name="image_file",
                          hint="Provide the source image in image_file or image_file_b64.")
    image = files["image_file"] if "image_file" in files else decode_b64(fields["image_file_b64"], "image_file_b64")
    if not image:
        raise InputError("input.empty", "The image is empty (0 bytes).", hint="Send the image's bytes.")
    if "image_file" in fields and not files.get("image_file"):
        raise _bad("image_file", "image_file must be a file part of a multipart/form-data request.")
    if files.get("bg_image_file") or fields.get("bg_image_file") or fields.get("bg_image_url"):
        raise ServerError("options.unsupported", "Background images are not supported yet.",
                          field_name="bg_image_file", hint="Use bg_color, or composite the PNG result yourself.")
    size = fields.get("size", "auto").lower() or "auto"
    if size not in SIZE_LIMITS_PX:
        raise _bad("size", f"Invalid value for parameter 'size': {size!r}.",
                   hint="Use preview, small, regular, medium, hd, full, 4k or auto.")
    fmt = fields.get("format", "auto").lower() or "auto"
    fmt = "jpg" if fmt == "jpeg" else fmt
    if fmt not in ("auto", "png", "jpg", "zip"):
        raise _bad("format", f"Invalid format parameter given: {fmt!r}.", hint="Use auto, png, jpg or zip.")
    channels = fields.get("channels", "rgba").lower() or "rgba"
    if channels not in ("rgba", "alpha"):
        raise _bad("channels", f"Invalid value for parameter 'channels': {channels!r}.", hint="Use rgba or alpha.")
    background = None
    if fields.get("bg_color"):
        try:
            background = Color.parse(fields["bg_color"])
        except AlphacutError:
            raise _bad("bg_color", f"Invalid bg_color parameter given: {fields['bg_color']!r}.",
                       hint="Use a hex code (81d4fa, fff, 81d4fa77) or a colour name.") from None
    try:
        scale = parse_scale(fields.get("scale", "original"))
        if scale is not None and not (MIN_SUBJECT_SCALE <= scale <= 1.0):
            raise ValueError
    except (AlphacutError, ValueError):
        raise _bad("scale", f"Invalid scale parameter given: {fields['scale']!r}.",
                   hint="Use original or a value from 10% to 100%.") from None
    try:
        position = parse_position(fields.get("position", "original"))
        if position is not None and not all(0.0 <= v <= 1.0 for v in position):
            raise ValueError
    except (AlphacutError, ValueError):
        raise _bad("position", f"Invalid position parameter given: {fields['position']!r}.",
                   hint="Use original, center, a value from 0% to 100%, or two ('0% 100%': x y).") from None
    for name in ("semitransparency", "add_shadow", "crop"):
        try:
            parse_bool(fields.get(name), name)
        except AlphacutError:
            raise _bad(name, f"Invalid {name} parameter given: {fields[name]!r}.") from None
    kind = (fields.get("type") or "auto").lower()
    if kind not in TYPES:
        raise _bad("type", f"Invalid type parameter given: {fields['type']!r}.", hint=f"Use {', '.join(TYPES)}.")
    level = (fields.get("type_level") or "1").lower()
    if level not in ("none", "1", "2", "latest"):
        raise _bad("type_level", f"Invalid type_level parameter given: {fields['type_level']!r}.",
                   hint="Use none, 1, 2 or latest.")
    try:
        quality = Quality.parse(fields.get("quality", "standard"))
    except AlphacutError:
        raise _bad("quality", f"Invalid quality parameter given: {fields['quality']!r}.",
                   hint="Use standard or best (alphacut's own field: best runs the model twice).") from None
    x_type = None if fields.get("type_level") == "none" else (
        fields.get("type", "auto") if fields.get("type", "auto") not in ("", "auto") else "other")
    return RemoveBgRequest(image=image, max_output_px=SIZE_LIMITS_PX[size], fmt=fmt, background=background,
                           alpha_only=channels == "alpha", crop=parse_bool(fields.get("crop"), "crop"),
                           crop_margin=_margin(fields.get("crop_margin", "0") or "0"),
                           roi=_roi(fields.get("roi")), scale=scale, position=position, x_type=x_type,
                           quality=quality)


#: remove.bg's cap on each side of crop_margin: 50 % of the subject's extent and 500 px
MARGIN_MAX_FRAC, MARGIN_MAX_PX = 0.5, 500


def _margin(text: str) -> Margin:
    """crop_margin: 1, 2 or 4 lengths; a percentage is of the subject's height (top, bottom) or
    width (left, right); each side at most 50 % of that and 500 px (larger values are clamped)."""
    parts = text.replace(",", " ").split()
    if len(parts) not in (1, 2, 4) or not all(_LENGTH.match(p) for p in parts):
        raise _bad("crop_margin", f"Invalid crop_margin parameter given: {text!r}.",
                   hint="Use e.g. 30px, 10% or '10px 20px'.")
    sides = [Length.parse(p) for p in parts]
    # a value past the cap is the cap (remove.bg clamps): 50 % or 500 px, whichever bounds it first
    sides = [Length(min(s.value, 100 * MARGIN_MAX_FRAC), True) if s.percent else Length(min(s.value, MARGIN_MAX_PX))
             for s in sides]
    return Margin.of(sides, basis=MarginBasis.AXIS, max_frac=MARGIN_MAX_FRAC, max_px=MARGIN_MAX_PX)


def _roi(text: str | None) -> Roi | None:
    if not text:
        return None
    parts = text.split()
    if len(parts) != 4 or not all(_LENGTH.match(p) for p in parts):
        raise _bad("roi", f"Invalid roi parameter given: {text!r}.", hint="Use 'x1 y1 x2 y2', e.g. '0% 0% 50% 100%'.")
    return Roi.parse(text)  # a coordinate past 100 %: options.roi-outside (roi_exceeds_bounds)


def removebg_options(req: RemoveBgRequest, max_pixels: int) -> Options:
    """The one place remove.bg's fields become Options; the route then calls Remover.cutout with them.

    crop, crop_margin → crop, margin (per side, Margin's AXIS basis and remove.bg's clamps); roi →
    roi; scale, position → subject_scale, subject_position; size → max_output_pixels; bg_color → a solid background; format jpg → JPEG (white unless
    bg_color is set: Options' JPEG rule); channels=alpha → MASK (the matte).
    """
    if req.alpha_only:
        fmt = OutputFormat.MASK
    elif req.fmt == "jpg":
        fmt = OutputFormat.JPEG
    else:
        fmt = OutputFormat.PNG
    background = Background.solid(req.background) if req.background is not None else Background()
    return Options(max_pixels=max_pixels, background=background, format=fmt, crop=req.crop,
                   margin=req.crop_margin, roi=req.roi, subject_scale=req.scale, subject_position=req.position,
                   max_output_pixels=req.max_output_px, quality=req.quality)


def render(cutout: Cutout, req: RemoveBgRequest) -> tuple[bytes, str, tuple[int, int], tuple[int, int, int, int]]:
    """The result bytes, content type, (w, h) and foreground box (left, top, width, height): only
    encoding; crop, margins, roi and size were applied by the library (removebg_options)."""
    matte = Image.fromarray(float_to_u8(cutout.alpha), "L")
    image = matte if req.alpha_only else cutout.image
    box = cutout.subject_box()
    fg_box = (0, 0, *image.size) if box is None else (box[0], box[1], box[2] - box[0], box[3] - box[1])
    size_wh = image.size
    transparent = image.mode == "RGBA" and int(np.asarray(image.getchannel("A")).min()) < 255
    fmt = req.fmt if req.fmt != "auto" else ("png" if transparent else "jpg")
    if fmt == "zip":
        return _zip(image, matte), "application/zip", size_wh, fg_box
    # jpg: the pipeline already filled with white or bg_color (removebg_options); an "auto" jpg is opaque
    out_fmt = OutputFormat.PNG if fmt == "png" else OutputFormat.JPEG
    return encode_image(image if fmt == "png" else image.convert("RGB"), out_fmt), \
        "image/png" if fmt == "png" else "image/jpeg", size_wh, fg_box


def _zip(image: Image.Image, matte: Image.Image) -> bytes:
    """remove.bg's zip: color.jpg (the colours, no alpha) and alpha.png (the matte)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("color.jpg", encode_image(image.convert("RGB"), OutputFormat.JPEG))
        zf.writestr("alpha.png", encode_image(matte, OutputFormat.MASK))
    return buf.getvalue()


@router.post("/v1.0/removebg", tags=["remove.bg compatible"], response_class=Response,
             responses={200: {"description": "The image (or JSON with result_b64 for Accept: application/json)"},
                        400: {"description": "{\"errors\": [{title, code, detail}]}"}},
             description=__doc__, openapi_extra=request_body_doc(FIELDS_DOC, ("image_file", "bg_image_file"), raw=False))
async def removebg(request: Request) -> Response:
    """remove.bg's /v1.0/removebg, answered locally. X-Credits-Charged is always 0."""
    t0 = time.perf_counter()
    slot, data, remover = await admit(request)
    try:
        if data.raw:
            raise ServerError("input.missing", "Send multipart/form-data, urlencoded or JSON fields.",
                              hint="Put the image in image_file or image_file_b64.")
        check_model(remover, data.fields)
        req = parse_removebg(data.fields, data.files)
        options = removebg_options(req, request.app.state.settings.max_pixels)
        await admit_cost(request, slot, remover, req.image, options)
    except BaseException:
        slot.release()
        raise
    payload, ctype, size_wh, fg = await run_job(request, slot, lambda: render(remover.cutout(req.image, options), req))
    headers = {"X-Width": str(size_wh[0]), "X-Height": str(size_wh[1]), "X-Credits-Charged": "0",
               "Cache-Control": "no-store",
               "Server-Timing": f"total;dur={(time.perf_counter() - t0) * 1e3:.1f}"}
    if req.x_type:
        headers["X-Type"] = req.x_type
    if "application/json" in request.headers.get("accept", ""):
        body = {"data": {"result_b64": base64.b64encode(payload).decode("ascii"), "foreground_left": fg[0],
                         "foreground_top": fg[1], "foreground_width": fg[2], "foreground_height": fg[3]}}
        return JSONResponse(body, headers=headers)
    return Response(payload, media_type=ctype, headers=headers)
