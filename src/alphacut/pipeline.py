"""decode → preprocess → infer → upsample → composite → encode, top to bottom.

Pure steps over explicit arguments: the Remover in api.py supplies the backend, model spec and
options. Nothing here reads settings or the environment.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from . import post
from .errors import BackendError
from .io.decode import DRAFT_SCALES, Decoded, ImageInput, decode_image, resize_for_model
from .io.encode import encode_image, float_to_u8, pixels_to_pil, to_pil, u8_to_float
from .models.catalog import ModelSpec
from .ops.components import Subject, split_subjects
from .ops.resize import resize_matte
from .options import Fit, Options, OutputFormat, Refine
from .runtime.base import Backend

__all__ = ["DRAFT_MIN_SUBJECT_FRAC", "Cutout", "CutoutInfo", "Prepared", "cut", "encode_cutout", "finish", "infer",
           "matte_from_raw", "min_decode_size", "postprocess", "predict_matte", "preload", "prepare", "preprocess"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CutoutInfo:
    """How a cutout was made: for logs, the server's headers and reproducibility."""

    model: str
    size_wh: tuple[int, int]  # the input image's upright size (in the file, however it was decoded)
    model_input_wh: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    decode_scale: int = 1  # 2, 4 or 8: a JPEG decoded at 1/decode_scale per side for a small output


@dataclass(frozen=True, slots=True)
class Cutout:
    """The result for one image: the composed image, the full-resolution matte and how it was made."""

    image: Image.Image  # RGBA, or RGB when a background colour was applied
    alpha: NDArray[np.float32]  # H×W in [0, 1]
    info: CutoutInfo

    def to_bytes(self, options: Options) -> bytes:
        return encode_cutout(self, options)

    def subjects(self) -> list[Subject]:
        """The separate subjects of the matte (small nearby parts merged, specks dropped), largest first."""
        return split_subjects(self.alpha)

    def layers(self) -> list[tuple[Subject, Image.Image]]:
        """Each subject as its own RGBA image, cropped to its box."""
        rgba = np.asarray(self.image.convert("RGBA"))
        out = []
        for subject in self.subjects():
            x0, y0, x1, y1 = subject.bbox
            crop = rgba[y0:y1, x0:x1].copy()
            crop[:, :, 3] = np.minimum(crop[:, :, 3], float_to_u8(subject.alpha))
            out.append((subject, Image.fromarray(crop, "RGBA")))
        return out


def model_input_size(spec: ModelSpec, options: Options, backend: Backend) -> tuple[int, int]:
    """The (w, h) the model runs at: the backend's fixed size, else options.resolution, else the spec's."""
    fixed = backend.info.fixed_size_hw
    side = options.resolution or spec.input_size
    if fixed is not None:
        if options.resolution is not None and (side, side) != fixed:
            raise BackendError("backend.fixed-resolution",
                               f"Model '{spec.id}' runs at {fixed[1]}x{fixed[0]} only; "
                               f"resolution={side} was asked for.",
                               hint="Use a dynamic-resolution variant of the model for other resolutions.")
        return (fixed[1], fixed[0])
    return (side, side)


def content_size(image_wh: tuple[int, int], model_wh: tuple[int, int]) -> tuple[int, int]:
    """The (w, h) the image takes inside the model input, from its top left.

    Half-way between stretching to the input (what the network was trained on, and what the peers
    do) and keeping the aspect ratio (letterboxing): the content's aspect ratio is the geometric
    mean of the image's and the input's, and its longer side spans the input. A 16:9 photo goes in
    at 4:3 (stretched by sqrt(16/9) = 1.33 instead of 1.78), the rest of the square padded.
    Measured on evaldata's 150 non-square images (int8 model, MAE, images better / worse than
    letterboxing): davis_animals 21/9, davis_objects 21/6, davis_people 25/8, grabcut 23/19; mean
    MAE over those sets 0.0332 → 0.0317; stretching fully and letterboxing each lose on some set.

    Example:
        >>> content_size((1920, 1080), (1024, 1024)), content_size((500, 500), (1024, 1024))
        ((1024, 768), (1024, 1024))
    """
    (w, h), (mw, mh) = image_wh, model_wh
    aspect = math.sqrt((w / h) * (mw / mh))  # sqrt: correctly rounded, so the page's JS agrees
    cw, ch = (mw, mw / aspect) if aspect >= mw / mh else (mh * aspect, mh)
    return (min(mw, max(1, int(cw + 0.5))), min(mh, max(1, int(ch + 0.5))))


def preprocess(rgb: NDArray[np.uint8], spec: ModelSpec,
               size_wh: tuple[int, int]) -> tuple[NDArray[np.float32], tuple[int, int]]:
    """The model's input (1×3×H×W float32) and where the image sits in it (its w, h from the top left).

    The image is resized to content_size (bicubic when enlarged, antialiased bilinear when
    reduced: resize_for_model), normalized as the model was trained, and the rest of the input is
    filled by repeating its last row and column.
    """
    content = content_size((rgb.shape[1], rgb.shape[0]), size_wh)
    small = resize_for_model(rgb, content)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    x = (u8_to_float(small) - mean) / std
    pad = ((0, size_wh[1] - content[1]), (0, size_wh[0] - content[0]), (0, 0))
    if pad[0][1] or pad[1][1]:
        x = np.pad(x, pad, mode="edge")
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32), content


def postprocess(raw: NDArray[np.float32], spec: ModelSpec, content_wh: tuple[int, int]) -> NDArray[np.float32]:
    """The model's output (1×1×h×w) as a matte in [0, 1] over the image's own part of the input."""
    m = raw[0, 0, :content_wh[1], :content_wh[0]].astype(np.float32, copy=False)
    if spec.activation == "sigmoid":
        m = 1.0 / (1.0 + np.exp(-m))
    return np.clip(m, 0.0, 1.0).astype(np.float32, copy=False)


#: Reduced decoding (JPEG draft mode) is chosen so that the layout never upsamples the decoded photo
#: for a subject whose box spans at least this fraction of the frame's width and height (for
#: head_frame: a head at least this fraction of the frame's height).
DRAFT_MIN_SUBJECT_FRAC = 0.25


def _counts_source_pixels(options: Options) -> bool:
    """True when an option is measured in the photo's own pixels, so a smaller decode would change it."""
    return bool(options.erode_px or options.dilate_px or options.min_area_px or options.background_blur is not None
                or (options.crop and not options.margin.percent and options.margin.value > 0))


def _decode_is_enough(wh: tuple[int, int], model_wh: tuple[int, int], options: Options) -> bool:
    """Whether a photo decoded at wh feeds the model and the options' layout without upsampling."""
    assert options.size_wh is not None
    w, h = wh
    cw, ch = options.size_wh
    f = DRAFT_MIN_SUBJECT_FRAC
    content_w, content_h = content_size(wh, model_wh)
    if w < content_w or h < content_h:  # the model input must be a reduction along both sides
        return False
    if options.head_frame is not None:  # scale = head_frac * ch / head_h, head_h >= f * h
        return f * h >= options.head_frame[1] * ch
    if options.fill_frac is not None:  # scale = fill * min(cw / bw, ch / bh), bw >= f * w, bh >= f * h
        p = options.fill_frac
        return f * w >= p * cw or f * h >= p * ch
    k = f if options.crop else 1.0  # crop: the box (+ margin) is what gets fitted, else the whole frame
    if options.fit is Fit.FILL:  # scale = max(cw / w, ch / h)
        return k * w >= cw and k * h >= ch
    return k * w >= cw or k * h >= ch  # Fit.FIT: scale = min(cw / w, ch / h)


def min_decode_size(source_wh: tuple[int, int], model_wh: tuple[int, int], options: Options) -> tuple[int, int]:
    """The smallest upright (w, h) a photo of source_wh may be decoded at for these options.

    A full-resolution cutout needs the full decode, so a reduced one (JPEG draft mode: 1/2, 1/4,
    1/8 per side) is allowed only when options.size_wh bounds the output and no option is counted
    in the photo's pixels (erode, dilate, min_area, a margin in px, background blur); otherwise
    this returns source_wh. The reduction chosen is the largest for which
      1. the model input is still a reduction along both sides: (w, h) >= content_size, and
      2. the layout scales the decoded photo by at most 1 (every output pixel backed by at least
         one decoded pixel) for any subject box of at least f = DRAFT_MIN_SUBJECT_FRAC of the
         frame on each side. With canvas (cw, ch) the layout's scale is, per path:
           head_frame (top, k):  k·ch / head_h                 → f·h >= k·ch
           fill_frac p:          p·min(cw / box_w, ch / box_h)  → f·w >= p·cw or f·h >= p·ch
           Fit.FIT:              min(cw / w, ch / h)            → w >= cw or h >= ch
           Fit.FILL:             max(cw / w, ch / h)            → w >= cw and h >= ch
         (with crop, Fit.FIT / Fit.FILL scale the crop, so w and h become f·w and f·h).
    So the matte is upscaled once (model → decoded size) and then only reduced by the layout.
    A subject smaller than f of the frame is upscaled by the layout at most draft_scale× more
    than it would be from the full decode.

    Example:
        >>> min_decode_size((6000, 4000), (1024, 1024), Options(size_wh=(512, 512), fill_frac=0.9))
        (3000, 2000)
    """
    if options.size_wh is None or _counts_source_pixels(options):
        return source_wh
    sw, sh = source_wh
    for s in DRAFT_SCALES:
        wh = (-(-sw // s), -(-sh // s))
        if _decode_is_enough(wh, model_wh, options):
            return wh
    return source_wh


@dataclass(frozen=True, slots=True)
class Prepared:
    """An image decoded and turned into the model's input: what inference needs, and what comes after."""

    decoded: Decoded
    batch: NDArray[np.float32]  # 1×3×h×w
    model_input_wh: tuple[int, int]
    content_wh: tuple[int, int]  # the image's part of the input, from its top left
    timings_ms: dict[str, float]


def prepare(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec, options: Options, *,
            full_resolution: bool = False) -> Prepared:
    """Decode (unless already decoded) and preprocess: everything before inference.

    A JPEG is decoded at reduced size when the options' output allows it (see min_decode_size),
    unless full_resolution is set (a matte at the photo's own size).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    size_wh = model_input_size(spec, options, backend)
    if isinstance(source, Decoded):
        decoded = source
    else:
        need = None if full_resolution or options.size_wh is None else partial(
            min_decode_size, model_wh=size_wh, options=options)
        decoded = decode_image(source, max_pixels=options.max_pixels, min_size_wh=need)
    if decoded.draft_scale > 1:
        log.info("%s: decoded at 1/%d (%dx%d) for a %dx%d output", decoded.name, decoded.draft_scale,
                 *decoded.size_wh, *(options.size_wh or decoded.size_wh))
    t1 = time.perf_counter()
    rgb = decoded.rgb
    if decoded.alpha is not None:
        # Transparent input pixels hide arbitrary colours: show the model them over white.
        a = u8_to_float(decoded.alpha)[:, :, None]
        rgb = float_to_u8(u8_to_float(rgb) * a + (1.0 - a))
    batch, content_wh = preprocess(rgb, spec, size_wh)
    timings["decode"] = (t1 - t0) * 1e3
    timings["preprocess"] = (time.perf_counter() - t1) * 1e3
    return Prepared(decoded=decoded, batch=batch, model_input_wh=size_wh, content_wh=content_wh,
                    timings_ms=timings)


#: From this many pixels on, the model's working memory is returned to the system after inference
#: (Backend.run_and_release), so the photo's full-resolution steps reuse it: 24 MP PNG cutout peak
#: RSS 1049-1120 -> 761 MiB; it costs ~0.1 s of CPU to grow back on the next image, so smaller
#: photos, whose finish needs little, keep it (docs/PERFORMANCE.md, "Memory").
RELEASE_ARENA_MIN_PIXELS = 16_000_000


def infer(prepared: Prepared, backend: Backend) -> NDArray[np.float32]:
    """Run the model on a prepared input; the only step that holds the CPU for seconds."""
    t = time.perf_counter()
    w, h = prepared.decoded.size_wh
    release = getattr(backend, "run_and_release", None) if w * h >= RELEASE_ARENA_MIN_PIXELS else None
    raw = release(prepared.batch) if release is not None else backend.run(prepared.batch)
    prepared.timings_ms["inference"] = (time.perf_counter() - t) * 1e3
    return raw


def matte_from_raw(prepared: Prepared, raw: NDArray[np.float32], spec: ModelSpec,
                   options: Options) -> NDArray[np.float32]:
    """The model's output as a full-resolution matte: refined, cleaned, input alpha respected."""
    t = time.perf_counter()
    decoded = prepared.decoded
    low = postprocess(raw, spec, prepared.content_wh)
    if options.refine is Refine.NONE:
        alpha = resize_matte(low, decoded.size_wh)
    else:
        alpha = post.refine_matte(low, decoded.rgb, options.refine)
    if decoded.alpha is not None:
        alpha = np.minimum(alpha, u8_to_float(decoded.alpha))
    alpha = post.clean_matte(alpha, options)
    prepared.timings_ms["matte"] = (time.perf_counter() - t) * 1e3
    return alpha


def finish(prepared: Prepared, raw: NDArray[np.float32], spec: ModelSpec, options: Options) -> Cutout:
    """Everything after inference: matte, decontamination, layout and background at full resolution.

    The photo stays uint8 at full size. The common outputs (transparent, over a colour, the mask)
    are composed straight to uint8; layout and background images work on float32 copies.
    """
    rgb = prepared.decoded.rgb
    alpha = matte_from_raw(prepared, raw, spec, options)
    if options.format is OutputFormat.MASK and not _changes_geometry(options):
        # Only the matte is written: no colours to decontaminate, nothing to compose.
        return Cutout(image=Image.fromarray(float_to_u8(alpha), "L"), alpha=alpha, info=_info(prepared, spec))
    if not _changes_geometry(options) and options.background_image is None and options.background_blur is None:
        t = time.perf_counter()  # decontamination included
        result = pixels_to_pil(post.compose_u8(rgb, alpha, options))
        prepared.timings_ms["compose"] = (time.perf_counter() - t) * 1e3
        return Cutout(image=result, alpha=alpha, info=_info(prepared, spec))
    t = time.perf_counter()
    fg = u8_to_float(post.decontaminate(rgb, alpha) if options.decontaminate else rgb)
    prepared.timings_ms["decontaminate"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    bg_image = None
    if options.background_image is not None:
        bg_image = u8_to_float(decode_image(options.background_image, max_pixels=options.max_pixels).rgb)
    elif options.background_blur is not None:
        bg_image = post.blurred_background(u8_to_float(rgb), alpha, options.background_blur)
    fg, alpha = post.layout(fg, alpha, options)
    out_rgb, out_alpha = post.apply_background(fg, alpha, options, bg_image)
    del fg, bg_image
    result = to_pil(float_to_u8(out_rgb), None if out_alpha is None else float_to_u8(out_alpha))
    prepared.timings_ms["compose"] = (time.perf_counter() - t) * 1e3
    return Cutout(image=result, alpha=alpha, info=_info(prepared, spec))


def _info(prepared: Prepared, spec: ModelSpec) -> CutoutInfo:
    decoded = prepared.decoded
    return CutoutInfo(model=spec.id, size_wh=decoded.source_size_wh, model_input_wh=prepared.model_input_wh,
                      timings_ms=dict(prepared.timings_ms), warnings=decoded.warnings,
                      decode_scale=decoded.draft_scale)


def preload(options: Options) -> None:
    """Import what finish() will need for these options (see post.preload); call from an idle thread."""
    post.preload(options, mask_only=options.format is OutputFormat.MASK and not _changes_geometry(options))


def _changes_geometry(options: Options) -> bool:
    return options.crop or options.size_wh is not None or options.outline_px > 0 or options.shape.value != "rect"


def predict_matte(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec,
                  options: Options) -> NDArray[np.float32]:
    """The full-resolution matte for one image."""
    prepared = prepare(source, backend, spec, options, full_resolution=True)
    return matte_from_raw(prepared, infer(prepared, backend), spec, options)


def cut(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec, options: Options) -> Cutout:
    """One image, start to finish."""
    prepared = prepare(source, backend, spec, options)
    return finish(prepared, infer(prepared, backend), spec, options)


def encode_cutout(cutout: Cutout, options: Options) -> bytes:
    """Encode a cutout in options.format (the matte alone for OutputFormat.MASK)."""
    if options.format is OutputFormat.MASK:
        # finish() made the mask-only output's image from this very alpha: no second conversion.
        mask = cutout.image if cutout.image.mode == "L" and cutout.image.size == cutout.alpha.shape[::-1] \
            else Image.fromarray(float_to_u8(cutout.alpha), "L")
        return encode_image(mask, options.format)
    return encode_image(cutout.image, options.format, quality=options.jpeg_quality)
