"""decode → preprocess → infer → upsample → composite → encode, top to bottom.

Pure steps over explicit arguments: the Remover in api.py supplies the backend, model spec and
options. Nothing here reads settings or the environment.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from .errors import BackendError
from .io.decode import Decoded, ImageInput, decode_image, resize_for_model
from .io.encode import encode_image, float_to_u8, to_pil, u8_to_float
from .models.catalog import ModelSpec
from .ops.resize import resize_matte
from .options import Options, OutputFormat
from .runtime.base import Backend

__all__ = ["Cutout", "CutoutInfo", "preprocess", "postprocess", "predict_matte", "compose",
           "cut", "encode_cutout"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CutoutInfo:
    """How a cutout was made: for logs, the server's headers and reproducibility."""

    model: str
    size_wh: tuple[int, int]
    model_input_wh: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cutout:
    """The result for one image: the composed image, the full-resolution matte and how it was made."""

    image: Image.Image  # RGBA, or RGB when a background colour was applied
    alpha: NDArray[np.float32]  # H×W in [0, 1]
    info: CutoutInfo

    def to_bytes(self, options: Options) -> bytes:
        return encode_cutout(self, options)


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


def preprocess(rgb: NDArray[np.uint8], spec: ModelSpec, size_wh: tuple[int, int]) -> NDArray[np.float32]:
    """Resize to the model's input and normalize as it was trained: 1×3×H×W float32."""
    small = resize_for_model(rgb, size_wh)
    x = u8_to_float(small)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def postprocess(raw: NDArray[np.float32], spec: ModelSpec) -> NDArray[np.float32]:
    """The model's output (1×1×h×w) as an h×w matte in [0, 1]."""
    m = raw[0, 0].astype(np.float32, copy=False)
    if spec.activation == "sigmoid":
        m = 1.0 / (1.0 + np.exp(-m))
    return np.clip(m, 0.0, 1.0).astype(np.float32, copy=False)


def predict_matte(decoded: Decoded, backend: Backend, spec: ModelSpec, options: Options,
                  timings: dict[str, float] | None = None) -> NDArray[np.float32]:
    """The full-resolution matte for a decoded image (input alpha respected)."""
    t = time.perf_counter()
    size_wh = model_input_size(spec, options, backend)
    rgb = decoded.rgb
    if decoded.alpha is not None:
        # Transparent input pixels hide arbitrary colours: show the model them over white.
        a = u8_to_float(decoded.alpha)[:, :, None]
        rgb = float_to_u8(u8_to_float(rgb) * a + (1.0 - a))
    batch = preprocess(rgb, spec, size_wh)
    t1 = time.perf_counter()
    raw = backend.run(batch)
    t2 = time.perf_counter()
    low = postprocess(raw, spec)
    alpha = resize_matte(low, decoded.size_wh)
    if decoded.alpha is not None:
        alpha = np.minimum(alpha, u8_to_float(decoded.alpha))
    t3 = time.perf_counter()
    if timings is not None:
        timings["preprocess"] = (t1 - t) * 1e3
        timings["inference"] = (t2 - t1) * 1e3
        timings["matte"] = (t3 - t2) * 1e3
    return alpha


def compose(decoded: Decoded, alpha: NDArray[np.float32], options: Options) -> Image.Image:
    """The output image: RGBA with the original colours, or RGB over options.background."""
    alpha_u8 = float_to_u8(alpha)
    bg = options.background
    if bg is None:
        return to_pil(decoded.rgb, alpha_u8)
    a = u8_to_float(alpha_u8)[:, :, None]
    fill = np.asarray(bg.rgb, dtype=np.float32) / 255.0
    rgb = u8_to_float(decoded.rgb) * a + fill * (1.0 - a)
    if bg.a == 255:
        return to_pil(float_to_u8(rgb), None)
    # A translucent background: the result keeps an alpha of its own.
    bga = bg.a / 255.0
    out_a = a[:, :, 0] + bga * (1.0 - a[:, :, 0])
    safe = np.maximum(out_a, 1e-6)[:, :, None]
    rgb = (u8_to_float(decoded.rgb) * a + fill * bga * (1.0 - a)) / safe
    return to_pil(float_to_u8(rgb), float_to_u8(out_a))


def cut(source: ImageInput | Decoded, backend: Backend, spec: ModelSpec, options: Options) -> Cutout:
    """Decode (unless already decoded), predict the matte and compose the result."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    decoded = source if isinstance(source, Decoded) else decode_image(source, max_pixels=options.max_pixels)
    timings["decode"] = (time.perf_counter() - t0) * 1e3
    alpha = predict_matte(decoded, backend, spec, options, timings)
    t = time.perf_counter()
    image = compose(decoded, alpha, options)
    timings["compose"] = (time.perf_counter() - t) * 1e3
    info = CutoutInfo(model=spec.id, size_wh=decoded.size_wh,
                      model_input_wh=model_input_size(spec, options, backend),
                      timings_ms=timings, warnings=decoded.warnings)
    return Cutout(image=image, alpha=alpha, info=info)


def encode_cutout(cutout: Cutout, options: Options) -> bytes:
    """Encode a cutout in options.format (the matte alone for OutputFormat.MASK)."""
    if options.format is OutputFormat.MASK:
        return encode_image(Image.fromarray(float_to_u8(cutout.alpha), "L"), options.format)
    return encode_image(cutout.image, options.format, quality=options.jpeg_quality)


def describe(info: CutoutInfo) -> dict[str, Any]:
    return {"model": info.model, "size_wh": info.size_wh, "model_input_wh": info.model_input_wh,
            "timings_ms": {k: round(v, 1) for k, v in info.timings_ms.items()},
            "warnings": list(info.warnings)}
