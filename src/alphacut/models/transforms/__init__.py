"""Named ONNX graph transforms that derive one model file from another (catalog ``derive`` sources).

Each transform reads ``src`` and writes ``dst`` (atomically) and is deterministic: the same input
file and the same ``onnx`` version give byte-identical output, so the catalog can pin its sha256.

- ``fp16-to-fp32``: fp16 initializers, constants and Cast targets become fp32, and the casts that
  are then no-ops are removed, so ONNX Runtime runs the graph without casts.
- ``dynamic-resolution``: the image input accepts any height and width. Every Resize whose target
  size is a constant gets it instead from the tensor it is later concatenated or added with, or
  from the input image (the side outputs of U²-Net/ISNet), exactly as ``_upsample_like`` did
  before export.
- ``fp16-to-fp32+dynamic-resolution``: both.
- ``fp16-to-int8+dynamic-resolution``: both, then static int8 quantization (QDQ) with the
  activation ranges shipped in ``calibration/isnet-general-use.json``.
- ``tflite-to-onnx``: a float TFLite graph (MediaPipe's face landmark model) as ONNX (models/tflite.py).

``onnx`` (one of alphacut's own dependencies) is imported only when a transform runs.

This module is the registry (``TRANSFORMS``, the file-level functions, calibration data); each
graph rewrite is its own module: ``fp32.py`` (make_fp32), ``resolution.py``
(make_resolution_dynamic), ``int8.py`` (make_int8), with the shared graph plumbing in ``graph.py``.

Example:
    >>> TRANSFORMS["dynamic-resolution"](Path("isnet.onnx"), Path("isnet-dyn.onnx"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ...errors import ModelError, suggest
from ...io.files import write_atomic
from .fp32 import make_fp32
from .graph import _require_onnx
from .int8 import make_int8
from .resolution import make_resolution_dynamic

if TYPE_CHECKING:
    import onnx

__all__ = [
    "TRANSFORMS",
    "apply_transform",
    "dynamic_resolution",
    "fp16_to_fp32",
    "fp16_to_fp32_dynamic_resolution",
    "fp16_to_int8_dynamic_resolution",
    "load_calibration",
    "make_fp32",
    "make_int8",
    "make_resolution_dynamic",
    "tflite_to_onnx",
]

logger = logging.getLogger(__name__)

_METADATA_KEY = "alphacut.transforms"


# --------------------------------------------------------------------------------------- file level

def _load(src: Path) -> onnx.ModelProto:
    _require_onnx()
    import onnx
    try:
        model = onnx.load(str(src))
    except FileNotFoundError as exc:
        raise ModelError("model.transform-failed", f"The model to transform, {src}, does not exist.") from exc
    except Exception as exc:  # onnx raises DecodeError, OSError, ValueError for broken files
        raise ModelError("model.transform-failed", f"{src} is not a readable ONNX model: {exc}.",
                         hint="Delete it and fetch it again.") from exc
    return model


def _save(model: onnx.ModelProto, dst: Path, applied: Iterable[str]) -> None:
    """Check the model, record what was applied and write it byte-for-byte reproducibly."""
    _require_onnx()
    import onnx
    names = [p.value for p in model.metadata_props if p.key == _METADATA_KEY]
    for prop in [p for p in model.metadata_props if p.key == _METADATA_KEY]:
        model.metadata_props.remove(prop)
    model.metadata_props.add(key=_METADATA_KEY, value=",".join([*names, *applied]))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelError("model.transform-failed", f"The transformed graph is not valid ONNX: {exc}.") from exc
    write_atomic(dst, model.SerializeToString(deterministic=True))


def fp16_to_fp32(src: Path, dst: Path) -> None:
    """Write an fp32 copy of an fp16-weight model (see :func:`make_fp32`)."""
    _save(make_fp32(_load(src)), dst, ["fp16-to-fp32"])


def dynamic_resolution(src: Path, dst: Path) -> None:
    """Write a copy of the model that accepts any input height and width."""
    _save(make_resolution_dynamic(_load(src)), dst, ["dynamic-resolution"])


def fp16_to_fp32_dynamic_resolution(src: Path, dst: Path) -> None:
    """Both transforms at once: fp32 weights and any input size."""
    _save(make_resolution_dynamic(make_fp32(_load(src))), dst, ["fp16-to-fp32", "dynamic-resolution"])


def load_calibration(name: str) -> dict[str, tuple[float, float]]:
    """Activation ranges shipped in alphacut/models/calibration/<name>.json (bench/data/calibrate_int8.py)."""
    import json
    from importlib import resources
    try:
        text = resources.files("alphacut.models").joinpath("calibration").joinpath(f"{name}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError("model.transform-failed", f"alphacut ships no calibration named '{name}'.",
                         hint="Reinstall alphacut; the calibration files are package data.") from None
    return {k: (float(v[0]), float(v[1])) for k, v in json.loads(text)["ranges"].items()}


#: ISNet's first Conv stays float: it reads the normalized image directly (0.45 of 160 GMAC), and
#: quantizing its input clipped white backgrounds (product shots: matte MAE vs fp32 0.070 -> 0.0013
#: with it kept float, measured on ecommerce_synthetic; 0.0013 -> 0.0016 on davis_people, noise).
_ISNET_FLOAT_CONVS = frozenset({"/conv_in/Conv"})


def fp16_to_int8_dynamic_resolution(src: Path, dst: Path) -> None:
    """fp32, any input size, then static int8 with ISNet's shipped calibration (see :func:`make_int8`)."""
    model = make_resolution_dynamic(make_fp32(_load(src)))
    _save(make_int8(model, load_calibration("isnet-general-use"), keep_float=_ISNET_FLOAT_CONVS), dst,
          ["fp16-to-fp32", "dynamic-resolution", "int8-static"])


def tflite_to_onnx(src: Path, dst: Path) -> None:
    """Write the TFLite file src as ONNX (models/tflite.py: NCHW input, one flat output)."""
    from ..tflite import tflite_to_onnx as convert

    _require_onnx()
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ModelError("model.transform-failed", f"The model to convert, {src}, can't be read: {exc}.") from exc
    _save(convert(data, graph_name="face_landmark"), dst, ["tflite-to-onnx"])


TRANSFORMS: dict[str, Callable[[Path, Path], None]] = {
    "fp16-to-fp32": fp16_to_fp32,
    "dynamic-resolution": dynamic_resolution,
    "fp16-to-fp32+dynamic-resolution": fp16_to_fp32_dynamic_resolution,
    "fp16-to-int8+dynamic-resolution": fp16_to_int8_dynamic_resolution,
    "tflite-to-onnx": tflite_to_onnx,
}


def apply_transform(name: str, src: Path, dst: Path) -> None:
    """Run the transform called ``name`` on ``src`` and write the result to ``dst``."""
    try:
        transform = TRANSFORMS[name]
    except KeyError:
        raise ModelError("model.unknown-transform", f"No model transform named '{name}'.",
                         hint=suggest(name, TRANSFORMS)
                         or f"Known transforms: {', '.join(sorted(TRANSFORMS))}.") from None
    logger.info("deriving %s from %s with %s", dst, src, name)
    transform(src, dst)
