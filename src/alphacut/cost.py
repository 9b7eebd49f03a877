"""What one cutout costs in memory, estimated before any work: the server's admission and the CLI's check.

:func:`estimate_peak_bytes` gives the peak memory one cutout adds to a process that already holds
the loaded model, from what is known before decoding: the image's pixel count (its header), the
side the model runs at, the options, and the size of the encoded input. The server reserves it
against its budget (``alphacut serve --max-memory``); the CLI compares it with the memory the
machine has available (``alphacut remove --max-memory``).

The coefficients are measured, not guessed: ``bench/speed/memory_fit.py`` runs one cutout per fresh
process for a grid of image sizes, model resolutions and options and records its peak RSS
(docs/LIMITS.md has the table). They belong to one inference runtime and model: ONNX Runtime's CPU
provider's activations for a 1024 px input are ~0.35 GB with the default int8 model, ~0.9 GB with
the fp16 one. **Another runtime (OpenVINO) has other activations: re-run bench/speed/memory_fit.py with
it and add its row to :data:`COEFFICIENTS`**; the per-model-input coefficients
(``ModelMemory.per_model_pixel``, one per model) differ most.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .options import Options, Quality, Refine

__all__ = ["COEFFICIENTS", "DEFAULT_RUNTIME", "MemoryCoefficients", "ModelMemory", "available_memory_bytes", "check_fits",
           "default_server_budget", "estimate_peak_bytes", "format_bytes", "total_memory_bytes"]

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True, slots=True)
class ModelMemory:
    """What one model's run costs on one runtime: fixed_bytes + per_model_pixel x side²."""

    fixed_bytes: int  # whatever the side (e.g. weights cast or repacked for the run)
    per_model_pixel: float  # bytes per pixel of the model's input: the runtime's activations


@dataclass(frozen=True, slots=True)
class MemoryCoefficients:
    """Peak memory of one cutout = per_request + the model's run (ModelMemory; x best_factor for
    quality=best) + per_image_pixel x W·H (+ per_image_pixel_matting x W·H for refine=matting) +
    per_input_byte x the encoded input's size. Above the process's base (interpreter, libraries,
    the loaded model)."""

    per_request: int  # bytes every cutout needs whatever its size (libraries' buffers, first-use imports)
    models: Mapping[str, ModelMemory]  # model id -> its run, measured
    unmeasured: ModelMemory  # any other model: a careful guess (see below)
    per_image_pixel: float  # bytes per photo pixel: decode, matte, guided filter, composite, encode
    per_image_pixel_matting: float  # more bytes per photo pixel with refine=matting (closed-form band)
    best_factor: float  # the model's term times this with quality=best (the mirrored second run)
    per_input_byte: float  # copies of the encoded input held while it decodes (body, part, decoder buffer)

    def model(self, model_id: str | None) -> ModelMemory:
        return self.models.get(model_id or "", self.unmeasured)


#: ONNX Runtime, CPU provider, fitted 2026-12-08 with bench/speed/memory_fit.py (peak RSS of one fresh
#: `alphacut remove` per case; tests/unit/api/test_cost.py pins every measured peak <= base + estimate).
#: The default model, isnet-general-use-int8-static (base 162 MB with the model loaded): side
#: 320/512/1024/2048/3072/4096 on small images 221/347/551/1503/3437/5062 MB, i.e. ~340 bytes per
#: model-input pixel; 1/6/24/48/100 MP JPEGs at side 1024: 634/800/643/1137/1780 MB (the photo's
#: steps reuse the runtime's freed arena, so large photos cost less per pixel than small ones);
#: quality=best +8 %, refine=matting +11 % at 6 MP. The other cached models run fp32 inside (no
#: int8 kernels): isnet-general-use-int8 (base 127 MB) 1065/1120 MB, isnet-general-use-fp16 (base
#: 265 MB) 1259/1341 MB on a tiny / 1 MP image at 1024; isnet-general-use-dynamic (base 266 MB)
#: 1443 MB at 1024 and 2566 MB at 2048 (1 MP). Models not measured here (u2net, birefnet, ...) get
#: `unmeasured`, the largest of these: a guess, too low for the birefnet family (Swin-L). Measure them
#: with `bench/speed/memory_fit.py --model ID` and add their rows.
ONNXRUNTIME_CPU = MemoryCoefficients(
    per_request=224 * MIB,
    models={"isnet-general-use-int8-static": ModelMemory(0, 340.0),
            "isnet-general-use-int8": ModelMemory(0, 800.0),
            "isnet-general-use-fp16": ModelMemory(0, 880.0),
            "isnet-general-use-fp32": ModelMemory(600 * MIB, 400.0),  # as -dynamic, its fp32 form
            "isnet-general-use-dynamic": ModelMemory(600 * MIB, 400.0)},
    unmeasured=ModelMemory(600 * MIB, 900.0),
    per_image_pixel=16.0, per_image_pixel_matting=16.0, best_factor=1.25, per_input_byte=3.0)

#: runtime name -> its coefficients; the server and the CLI use DEFAULT_RUNTIME's. **Another runtime
#: (OpenVINO, issue 21) needs its own row**, fitted with bench/speed/memory_fit.py: its activations differ.
COEFFICIENTS: dict[str, MemoryCoefficients] = {"onnxruntime": ONNXRUNTIME_CPU}
DEFAULT_RUNTIME = "onnxruntime"


def estimate_peak_bytes(size_wh: tuple[int, int], model_side: int, options: Options, *, input_bytes: int = 0,
                        model_id: str | None = "isnet-general-use-int8-static",
                        coefficients: MemoryCoefficients | None = None) -> int:
    """The peak memory one cutout adds to a process holding the model, in bytes (an upper estimate).

    Args:
        size_wh: the photo's size as its header gives it.
        model_side: the side the model runs at (options.resolution, else the model's input size).
        input_bytes: the encoded input's size (0 when it is already decoded).
        model_id: the model (its run's cost is measured per model; others get a careful guess).

    Example:
        >>> estimate_peak_bytes((6000, 4000), 1024, Options()) // MIB
        930
    """
    c = coefficients or COEFFICIENTS[DEFAULT_RUNTIME]
    pixels = max(0, size_wh[0]) * max(0, size_wh[1])
    run = c.model(model_id)
    model = (run.fixed_bytes + run.per_model_pixel * model_side * model_side) * (
        c.best_factor if options.quality is Quality.BEST else 1.0)
    per_pixel = c.per_image_pixel + (c.per_image_pixel_matting if options.refine is Refine.MATTING else 0.0)
    return int(c.per_request + model + per_pixel * pixels + c.per_input_byte * max(0, input_bytes))


def format_bytes(n: float) -> str:
    """1.5 GiB, 300 MiB: for messages."""
    return f"{n / GIB:.1f} GiB" if n >= GIB else f"{n / MIB:.0f} MiB"


def _meminfo(field: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory_bytes() -> int | None:
    """What the OS can give without swapping (Linux MemAvailable), or None where unknown."""
    return _meminfo("MemAvailable")


def total_memory_bytes() -> int | None:
    """The machine's RAM, or None where unknown."""
    total = _meminfo("MemTotal")
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None
    return total


#: the server's default budget per worker, and its share of the machine's RAM at most
BUDGET_PER_WORKER = 5 * GIB // 2
BUDGET_RAM_SHARE = 0.5


def default_server_budget(workers: int, total_bytes: int | None = None) -> int:
    """`serve --max-memory`'s default: 2.5 GiB per worker, at most half the machine's RAM, at least 1 GiB.

    2.5 GiB per worker admits a default cutout (side 1024) of a 100 MP photo with its upload (~2.2
    GiB estimated) on each, or one at side 2048 of a 24 MP photo; side 4096 (~5.5 GiB) needs a budget
    of its own. Half the RAM leaves the rest to the model, the OS and other programs.
    """
    total = total_bytes if total_bytes is not None else total_memory_bytes()
    budget = BUDGET_PER_WORKER * max(1, workers)
    if total:
        budget = min(budget, int(total * BUDGET_RAM_SHARE))
    return max(GIB, budget)


def check_fits(estimate: int, limit: int | None, *, name: str, limit_text: str, hint: str) -> None:
    """Refuse (input.too-costly, HTTP 413) a cutout whose estimate is above `limit` (None: no limit)."""
    from .errors import InputError

    if limit is not None and estimate > limit:
        raise InputError("input.too-costly", f"{name} needs about {format_bytes(estimate)} of memory to cut out; "
                         f"{limit_text} is {format_bytes(limit)}.", hint=hint)
