"""decode → preprocess → infer → refine → roi → clean → [composition: decontaminate → layout → background] → encode.

The order of the steps and which options turn them on live here (what follows the matte: in
composition.py); the pixel work is in ops/ (pure numpy), decoding and encoding in io/. The
Remover in api.py supplies the backend, model spec and options. Nothing here reads settings or
the environment.

Mattes are H×W float32 in [0, 1]. The full-resolution photo stays H×W×3 uint8 through
refinement, decontamination and compose_u8, which turn it into floats a band of rows at a time;
layout and the other float steps take H×W×3 float32 in [0, 1].
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from . import composition
from .composition import Cutout, CutoutInfo, apply_background, encode_cutout, layout
from .errors import OptionsError
from .io.decode import DRAFT_SCALES, Decoded, ImageInput, decode_image, enlarge_matte, resize_for_model
from .models.catalog import ModelSpec
from .ops import components, framing, guided, levels, morphology
from .ops.pixels import U8_SCALE, float_to_u8, u8_to_float
from .ops.resize import resize_matte
from .options import BackgroundKind, Fit, Options, OutputFormat, Quality, Refine, check_fits_image
from .runtime.base import Backend

if TYPE_CHECKING:
    from .runtime.faces import FaceLandmarker

# Cutout, CutoutInfo, encode_cutout, layout and apply_background live in composition.py, re-exported here.
__all__ = ["DRAFT_MIN_SUBJECT_FRAC", "GUIDED_MIN_SCALE", "Cutout", "CutoutInfo", "Prepared", "apply_background",
           "clean_matte", "compose_cutout", "cut", "encode_cutout", "finish", "guide_decode_size",
           "guide_may_be_reduced", "infer", "layout", "matte_from_raw", "min_decode_size", "postprocess",
           "predict_matte", "preload", "prepare", "preprocess", "refine_matte", "runs_mirrored", "unmirror"]

log = logging.getLogger(__name__)


def model_input_size(spec: ModelSpec, options: Options, backend: Backend) -> tuple[int, int]:
    """The (w, h) the model runs at: the backend's fixed size, else options.resolution, else the spec's."""
    fixed = backend.info.fixed_size_hw
    side = options.resolution or spec.input_size
    if fixed is not None:
        if options.resolution is not None and (side, side) != fixed:
            raise OptionsError("options.fixed-resolution",
                               f"Model '{spec.id}' runs at {fixed[1]}x{fixed[0]} only; "
                               f"resolution={side} was asked for.",
                               hint="Use a dynamic-resolution variant of the model for other resolutions.")
        return (fixed[1], fixed[0])
    if side % spec.size_multiple:
        raise OptionsError("options.invalid",
                           f"Model '{spec.id}' takes sides that are multiples of {spec.size_multiple}; "
                           f"resolution={side} is not.",
                           hint=f"Use resolution={side - side % spec.size_multiple or spec.size_multiple} "
                                f"or {side - side % spec.size_multiple + spec.size_multiple}.")
    return (side, side)


def content_size(image_wh: tuple[int, int], model_wh: tuple[int, int]) -> tuple[int, int]:
    """The (w, h) the image takes inside the model input, from its top left.

    Half-way between stretching to the input (what the network was trained on, and what the peers
    do) and keeping the aspect ratio (letterboxing): the content's aspect ratio is the geometric
    mean of the image's and the input's, and its longer side spans the input. A 16:9 photo goes in
    at 4:3 (stretched by sqrt(16/9) = 1.33 instead of 1.78); preprocess mirrors it into the rest.
    Chosen by leave-one-set-out cross-validation against plain stretching (bench/quality_cv.py;
    docs/studies/quality-rounds.md, "Where the image sits in the model's square, and the resize filter").

    Example:
        >>> content_size((1920, 1080), (1024, 1024)), content_size((500, 500), (1024, 1024))
        ((1024, 768), (1024, 1024))
    """
    (w, h), (mw, mh) = image_wh, model_wh
    aspect = math.sqrt((w / h) * (mw / mh))  # sqrt: correctly rounded, so the page's JS agrees
    cw, ch = (mw, mw / aspect) if aspect >= mw / mh else (mh * aspect, mh)
    return (min(mw, max(1, int(cw + 0.5))), min(mh, max(1, int(ch + 0.5))))


def preprocess(rgb: NDArray[np.uint8], spec: ModelSpec, size_wh: tuple[int, int],
               mirrored: bool = False) -> tuple[NDArray[np.float32], tuple[int, int]]:
    """The model's input (1×3×H×W float32) and where the image sits in it (its w, h from the top left).

    The image is resized to content_size (bicubic when enlarged, antialiased bilinear when
    reduced: resize_for_model), normalized as the model was trained, and the rest of the input is
    filled with the image mirrored at its bottom and right edges (numpy's "symmetric" padding,
    repeated as often as needed). A subject touching those edges so continues past them, instead
    of ending in a band of repeated last rows that the network reads as background (the previous
    padding: subjects cut by the bottom of a webcam frame lost their shoulders). Chosen by
    leave-one-set-out cross-validation (bench/quality_cv.py; docs/studies/quality-rounds.md, "Where the
    image sits in the model's square, and the resize filter").

    mirrored: the whole input goes in mirrored left-right (the image at the top right, the padding at
    its left): the network sees the exact mirror image of its usual input, so a subject at the
    image's right edge still continues into the padding; unmirror() flips the output back.
    """
    content = content_size((rgb.shape[1], rgb.shape[0]), size_wh)
    small = resize_for_model(rgb, content)
    # Normalized plane by plane (C×H×W, scalar operands: numpy's fast loops), with the float32
    # operations of u8_to_float(small) - mean) / std, so the same values, faster
    # (docs/studies/post_network.md).
    x = np.empty((3, content[1], content[0]), dtype=np.float32)
    for c in range(3):
        np.multiply(small[:, :, c], U8_SCALE, out=x[c])
        x[c] -= np.float32(spec.mean[c])
        x[c] /= np.float32(spec.std[c])
    pad = ((0, 0), (0, size_wh[1] - content[1]), (0, size_wh[0] - content[0]))
    if pad[1][1] or pad[2][1]:
        x = np.pad(x, pad, mode="symmetric")
    if mirrored:
        x = x[:, :, ::-1]
    return np.ascontiguousarray(x[None], dtype=np.float32), content


def postprocess(raw: NDArray[np.float32], spec: ModelSpec, content_wh: tuple[int, int]) -> NDArray[np.float32]:
    """The model's output (1×1×h×w) as a matte in [0, 1] over the image's own part of the input.

    The matte is min-max stretched to span [0, 1] (as rembg does): chosen by leave-one-set-out
    cross-validation (docs/studies/quality-rounds.md, "Preprocessing: resize filter, normalization,
    output stretch"); it changes mattes that never reach 0 or 1, mostly weak
    ones (adobe_crops, subjects cut by the frame), and leaves the others as they are. Then the
    model's value curve, if its catalog entry has one (spec.levels: ops/levels.apply_levels), moves
    the faint greys the network leaves in the background towards 0 and the almost-opaque subject
    towards 1, keeping their order (also chosen by leave-one-set-out cross-validation).
    """
    m = raw[0, 0, :content_wh[1], :content_wh[0]].astype(np.float32, copy=False)
    if spec.activation == "sigmoid":
        m = (1.0 / (1.0 + np.exp(-m))).astype(np.float32, copy=False)
    m = np.clip(m, 0.0, 1.0)
    lo, hi = float(m.min()), float(m.max())
    if hi - lo > 1e-6:
        m = (m - lo) * np.float32(1.0 / (hi - lo))
    m = np.clip(m, 0.0, 1.0).astype(np.float32, copy=False)
    if spec.levels is not None:
        m = levels.apply_levels(m, spec.levels[0], spec.levels[1], tail=spec.levels[2])
    return m


#: Reduced decoding (JPEG draft mode) is chosen so that the layout never upsamples the decoded photo
#: for a subject whose box spans at least this fraction of the frame's width and height (for
#: head_frame: a head at least this fraction of the frame's height).
DRAFT_MIN_SUBJECT_FRAC = 0.25


def _counts_source_pixels(options: Options) -> bool:
    """True when an option is measured in the photo's own pixels, so a smaller decode would change it."""
    return bool(options.erode_px or options.dilate_px or options.min_area_px or options.background.kind is BackgroundKind.BLUR
                or (options.crop and options.margin.max_side_px > 0) or (options.roi is not None and options.roi.in_px))


def _decode_is_enough(wh: tuple[int, int], model_wh: tuple[int, int], options: Options) -> bool:
    """Whether a photo decoded at wh feeds the model and the options' layout without upsampling."""
    w, h = wh
    f = DRAFT_MIN_SUBJECT_FRAC
    content_w, content_h = content_size(wh, model_wh)
    if w < content_w or h < content_h:  # the model input must be a reduction along both sides
        return False
    if options.size_wh is None:  # only max_output_pixels bounds the output: the frame (or crop) shrunk to it
        assert options.max_output_pixels is not None
        k = f if options.crop else 1.0
        return (k * w) * (k * h) >= options.max_output_pixels
    cw, ch = options.size_wh
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
    1/8 per side) is allowed only when options.size_wh or options.max_output_pixels bounds the
    output and no option is counted in the photo's pixels (erode, dilate, min_area, a margin or roi
    in px, background blur) nor moves the subject in its frame (scale, position); otherwise
    this returns source_wh. The reduction chosen is the largest for which
      1. the model input is still a reduction along both sides: (w, h) >= content_size, and
      2. the layout scales the decoded photo by at most 1 (every output pixel backed by at least
         one decoded pixel) for any subject box of at least f = DRAFT_MIN_SUBJECT_FRAC of the
         frame on each side. With canvas (cw, ch) the layout's scale is, per path:
           head_frame (top, k):  k·ch / head_h                 → f·h >= k·ch
           fill_frac p:          p·min(cw / box_w, ch / box_h)  → f·w >= p·cw or f·h >= p·ch
           Fit.FIT:              min(cw / w, ch / h)            → w >= cw or h >= ch
           Fit.FILL:             max(cw / w, ch / h)            → w >= cw and h >= ch
           max_output_pixels N only (no size_wh): min(1, sqrt(N / (w·h)))  → w·h >= N
         (with crop, Fit.FIT / Fit.FILL / N scale the crop, so w and h become f·w and f·h; the last
         path never enlarges, and the rule keeps the result as large as the full decode gives).
    So the matte is upscaled once (model → decoded size) and then only reduced by the layout.
    A subject smaller than f of the frame is upscaled by the layout at most draft_scale× more
    than it would be from the full decode.

    Example:
        >>> min_decode_size((6000, 4000), (1024, 1024), Options(size_wh=(512, 512), fill_frac=0.9))
        (3000, 2000)
    """
    if (options.size_wh is None and options.max_output_pixels is None) or _counts_source_pixels(options) \
            or options.subject_scale is not None or options.subject_position is not None:
        return source_wh
    sw, sh = source_wh
    for s in DRAFT_SCALES:
        wh = (-(-sw // s), -(-sh // s))
        if _decode_is_enough(wh, model_wh, options):
            return wh
    return source_wh


def guide_may_be_reduced(options: Options) -> bool:
    """Whether options let a mask be refined against a reduced decode (Options.guide_min_pixels):
    only the matte is written, at the photo's own size, and nothing counts the photo's pixels."""
    return (options.guide_min_pixels is not None and options.format is OutputFormat.MASK
            and options.refine is not Refine.MATTING and not composition.changes_geometry(options)
            and not _counts_source_pixels(options))


def guide_decode_size(source_wh: tuple[int, int], model_wh: tuple[int, int], min_pixels: int) -> tuple[int, int]:
    """The smallest upright (w, h) to decode a photo at for refining its mask: at least min_pixels
    (aspect kept) and never below the model input's share of it (content_size).

    Example:
        >>> guide_decode_size((6000, 4000), (768, 768), 2_000_000)
        (1733, 1155)
    """
    w, h = source_wh
    f = min(1.0, math.sqrt(min_pixels / (w * h)))
    cw, ch = content_size(source_wh, model_wh)
    return (min(w, max(cw, math.ceil(w * f))), min(h, max(ch, math.ceil(h * f))))


def runs_mirrored(spec: ModelSpec, size_wh: tuple[int, int]) -> bool:
    """Whether the model's one standard run takes its input mirrored left-right: spec.mirror, at the
    model's own input size only. For ISNet at 1024 px the mirrored run is chosen on every held-out
    fold of the leave-one-set-out CV; at --fast's 768 px it measured no better, so smaller inputs
    keep the image's own orientation (docs/studies/quality-rounds.md, "Out of fold: the network runs
    on the mirrored input")."""
    return spec.mirror and size_wh == (spec.input_size, spec.input_size)


@dataclass(frozen=True, slots=True)
class Prepared:
    """An image decoded and turned into the model's input: what inference needs, and what comes after."""

    decoded: Decoded
    batch: NDArray[np.float32]  # 1×3×h×w
    model_input_wh: tuple[int, int]
    content_wh: tuple[int, int]  # the image's part of the input, from its top left
    timings_ms: dict[str, float]
    #: The size the matte is enlarged to after refinement, when the photo was decoded reduced only to
    #: refine a mask against (Options.guide_min_pixels); None: the decoded size.
    matte_wh: tuple[int, int] | None = None
    #: Quality.BEST: the mirrored input (preprocess(mirrored=True)), run too and averaged by infer.
    mirror_batch: NDArray[np.float32] | None = None
    #: batch holds the mirrored input (runs_mirrored): infer flips the output back.
    mirrored: bool = False
    #: the inference runtime that runs the model (BackendInfo.runtime), for CutoutInfo
    runtime: str = ""


def prepare(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec, options: Options, *,
            full_resolution: bool = False, max_bytes: int | None = None) -> Prepared:
    """Decode (unless already decoded) and preprocess: everything before inference.

    A JPEG is decoded at reduced size when the options' output allows it (see min_decode_size),
    unless full_resolution is set (a matte at the photo's own size).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    size_wh = model_input_size(spec, options, backend)
    reduced_guide = False
    if isinstance(source, Decoded):
        decoded = source
    else:
        bounded = options.size_wh is not None or options.max_output_pixels is not None
        need = None if full_resolution or not bounded else partial(
            min_decode_size, model_wh=size_wh, options=options)
        if need is None and not full_resolution and guide_may_be_reduced(options):
            assert options.guide_min_pixels is not None
            need = partial(guide_decode_size, model_wh=size_wh, min_pixels=options.guide_min_pixels)
            reduced_guide = True
        decoded = decode_image(source, max_pixels=options.max_pixels, min_size_wh=need,
                               **({"max_bytes": max_bytes} if max_bytes is not None else {}))
    check_fits_image(options, decoded.size_wh)  # size-like options bounded by the image, before inference
    if decoded.draft_scale > 1:
        log.info("%s: decoded at 1/%d (%dx%d) for a %dx%d output", decoded.name, decoded.draft_scale,
                 *decoded.size_wh, *(options.size_wh or decoded.size_wh))
    t1 = time.perf_counter()
    rgb = decoded.rgb
    if decoded.alpha is not None:
        # Transparent input pixels hide arbitrary colours: show the model them over white.
        a = u8_to_float(decoded.alpha)[:, :, None]
        rgb = float_to_u8(u8_to_float(rgb) * a + (1.0 - a))
    best = options.quality is Quality.BEST
    mirrored = runs_mirrored(spec, size_wh) and not best  # BEST runs both orientations anyway
    batch, content_wh = preprocess(rgb, spec, size_wh, mirrored=mirrored)
    # BEST's mirrored input is preprocess(mirrored=True): the same input flipped, not resized again
    mirror = np.ascontiguousarray(batch[..., ::-1]) if best else None
    timings["decode"] = (t1 - t0) * 1e3
    timings["preprocess"] = (time.perf_counter() - t1) * 1e3
    matte_wh = decoded.source_size_wh if reduced_guide and decoded.draft_scale > 1 else None
    return Prepared(decoded=decoded, batch=batch, model_input_wh=size_wh, content_wh=content_wh,
                    timings_ms=timings, matte_wh=matte_wh, mirror_batch=mirror, mirrored=mirrored,
                    runtime=backend.info.runtime)


#: From this many pixels on, the model's working memory is returned to the system after inference
#: (Backend.run_and_release), so the photo's full-resolution steps reuse it and the peak drops;
#: growing it back costs CPU on the next image, so smaller photos, whose finish needs little, keep it
#: (docs/PERFORMANCE.md, "Memory: 24 MP under 1 GiB").
RELEASE_ARENA_MIN_PIXELS = 16_000_000


def infer(prepared: Prepared, backend: Backend) -> NDArray[np.float32]:
    """Run the model on a prepared input; the only step that holds the CPU for seconds."""
    t = time.perf_counter()
    w, h = prepared.decoded.size_wh
    release = getattr(backend, "run_and_release", None) if w * h >= RELEASE_ARENA_MIN_PIXELS else None
    last_run = release if release is not None else backend.run  # the arena is released after the last run
    if prepared.mirror_batch is not None:
        raw = mirror_mean(backend.run(prepared.batch), last_run(prepared.mirror_batch))
    else:
        raw = last_run(prepared.batch)
        if prepared.mirrored:
            raw = unmirror(raw)
    prepared.timings_ms["inference"] = (time.perf_counter() - t) * 1e3
    return raw


def mirror_mean(raw: NDArray[np.float32], mirrored: NDArray[np.float32]) -> NDArray[np.float32]:
    """Quality.BEST's fusion: the mean of the model's output for the input and, flipped back, for the
    mirrored input (preprocess(mirrored=True)). Averaged before postprocess (min-max, value curve), as
    bench/quality_cv.py scored it."""
    fused: NDArray[np.float32] = (raw + unmirror(mirrored)) * np.float32(0.5)
    return fused


def unmirror(raw: NDArray[np.float32]) -> NDArray[np.float32]:
    """The model's output (…×H×W) for a mirrored input (preprocess(mirrored=True)) flipped back left-right."""
    return np.ascontiguousarray(raw[..., ::-1], dtype=np.float32)


def matte_from_raw(prepared: Prepared, raw: NDArray[np.float32], spec: ModelSpec,
                   options: Options) -> NDArray[np.float32]:
    """The model's output as a full-resolution matte: refined, cleaned, input alpha respected."""
    t = time.perf_counter()
    decoded = prepared.decoded
    low = postprocess(raw, spec, prepared.content_wh)
    if options.refine is Refine.NONE:
        alpha = resize_matte(low, decoded.size_wh)
    else:
        alpha = refine_matte(low, decoded.rgb, options.refine)
    if decoded.alpha is not None:
        alpha = np.minimum(alpha, u8_to_float(decoded.alpha))
    if prepared.matte_wh is not None and (alpha.shape[1], alpha.shape[0]) != prepared.matte_wh:
        alpha = enlarge_matte(alpha, prepared.matte_wh)  # refined against a reduced decode: to full size
    if options.roi is not None:  # before cleaning: a subject chosen later is one inside the roi
        alpha = framing.keep_inside(alpha, options.roi.box_xyxy((alpha.shape[1], alpha.shape[0])))
    alpha = clean_matte(alpha, options)
    prepared.timings_ms["matte"] = (time.perf_counter() - t) * 1e3
    return alpha


def finish(prepared: Prepared, raw: NDArray[np.float32], spec: ModelSpec, options: Options, *,
           landmarker: FaceLandmarker | None = None) -> Cutout:
    """Everything after inference: matte, decontamination, layout and background at full resolution."""
    return compose_cutout(prepared, matte_from_raw(prepared, raw, spec, options), spec, options,
                          landmarker=landmarker)


def compose_cutout(prepared: Prepared, alpha: NDArray[np.float32], spec: ModelSpec, options: Options, *,
                   landmarker: FaceLandmarker | None = None,
                   background_rgb: NDArray[np.float32] | None = None) -> Cutout:
    """finish() after the matte: a given full-resolution matte composed as options say
    (composition.compose; video steadies the matte between matte_from_raw and this).
    landmarker: the face landmark model for head framing (portrait.py). background_rgb: options'
    background picture already decoded (composition.background_picture), so a caller composing
    many frames over one picture decodes it once; None decodes it here."""
    image, alpha = composition.compose(prepared.decoded.rgb, alpha, options, prepared.timings_ms,
                                       landmarker=landmarker, background_rgb=background_rgb)
    return Cutout(image=image, alpha=alpha, info=_info(prepared, spec))


def _info(prepared: Prepared, spec: ModelSpec) -> CutoutInfo:
    decoded = prepared.decoded
    return CutoutInfo(model=spec.id, size_wh=decoded.source_size_wh, model_input_wh=prepared.model_input_wh,
                      timings_ms=dict(prepared.timings_ms), warnings=decoded.warnings,
                      decode_scale=decoded.draft_scale, runtime=prepared.runtime)


#: Guided upsampling beats bilinear only when the photo is at least this many times the matte's
#: size along its shorter side (measured on evaldata: below that, bilinear is as good or better).
GUIDED_MIN_SCALE = 2.0


def refine_matte(low: NDArray[np.float32], image: NDArray[np.uint8] | NDArray[np.float32],
                 refine: Refine) -> NDArray[np.float32]:
    """The model's matte (any size) at the image's size, following the image's edges where it helps.

    Refine.MATTING first does what GUIDED does, then re-solves the matte's soft band by closed-form
    matting (ops/matting.py), on at most matting.MATTING_WORK_PIXELS pixels.

    Args:
        image: H×W×3 photo, uint8 or float32 in [0, 1].
    """
    h, w = image.shape[:2]
    scale = min(h / low.shape[0], w / low.shape[1])
    if refine is Refine.NONE or scale < GUIDED_MIN_SCALE:
        alpha = resize_matte(low, (w, h))
    else:
        # Blocks an 8-bit matte holds as 0 or 255 are not evaluated (written 0 or 1): the float
        # matte moves by < 0.5/255 there, its 8-bit values not at all (docs/studies/post_network.md).
        alpha = guided.guided_upsample(low, image, saturate=guided.U8_SATURATE)
    if refine is Refine.MATTING:
        from .ops import matting  # scipy.sparse: loaded only when matting is asked for

        alpha = matting.refine_alpha(image, alpha)
    return alpha


def clean_matte(alpha: NDArray[np.float32], options: Options) -> NDArray[np.float32]:
    """Threshold, erode/dilate, speck removal and subject selection, as options ask."""
    if options.threshold is not None:
        alpha = morphology.threshold(alpha, options.threshold)
    if options.erode_px:
        alpha = morphology.erode(alpha, options.erode_px)
    if options.dilate_px:
        alpha = morphology.dilate(alpha, options.dilate_px)
    if options.min_area_px:
        alpha = morphology.remove_small(alpha, options.min_area_px)
    if options.subject is not None:
        subjects = components.split_subjects(alpha)
        if not subjects:
            return np.zeros_like(alpha)
        which: int | str = int(options.subject) if options.subject.isdigit() else options.subject
        try:
            alpha = components.select_subject(subjects, which).full_alpha()  # type: ignore[arg-type]
        except IndexError:
            raise OptionsError("options.invalid",
                               f"subject={options.subject}: this image has {len(subjects)} subject(s).",
                               hint=f"Use an index from 0 to {len(subjects) - 1}, largest or center.") from None
    return alpha


def preload(options: Options) -> None:
    """Import now what finish() will surely need for `options` (scipy.ndimage, ~0.3 s).

    Only an import, for an otherwise idle thread while the model loads: a process's first image
    then does not pay it after inference.
    """
    mask_only = options.format is OutputFormat.MASK and not composition.changes_geometry(options)
    needs_ndimage = bool(options.erode_px or options.dilate_px or options.min_area_px
                         or options.subject is not None or options.head_frame is not None
                         or (options.decontaminate and not mask_only))
    if needs_ndimage:
        import scipy.ndimage  # noqa: F401


def predict_matte(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec,
                  options: Options, *, max_bytes: int | None = None) -> NDArray[np.float32]:
    """The full-resolution matte for one image (max_bytes: the largest encoded input read)."""
    prepared = prepare(source, backend, spec, options, full_resolution=True, max_bytes=max_bytes)
    return matte_from_raw(prepared, infer(prepared, backend), spec, options)


def cut(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec, options: Options, *,
        landmarker: FaceLandmarker | None = None, max_bytes: int | None = None) -> Cutout:
    """One image, start to finish (landmarker: the face landmark model for head framing, portrait.py;
    max_bytes: the largest encoded input read)."""
    prepared = prepare(source, backend, spec, options, max_bytes=max_bytes)
    return finish(prepared, infer(prepared, backend), spec, options, landmarker=landmarker)
