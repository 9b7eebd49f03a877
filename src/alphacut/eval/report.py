"""The bench's results as data, Markdown (spliced into docs/PERFORMANCE.md) and JSON."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BEGIN_MARK", "END_MARK", "BenchReport", "ToolResult", "machine_description", "splice_report",
           "to_json", "to_markdown"]


@dataclass(frozen=True, slots=True)
class ToolResult:
    label: str
    images: int
    batch_s: float  # median over repeats
    batch_runs_s: tuple[float, ...]
    images_per_s: float
    process_wall_s: float  # spawn → exit of the batch run: imports, model load, warm-up, batch
    process_cpu_s: float  # user + system CPU of that process (median over repeats)
    warm_s_per_image: float | None
    cold_start_s: float | None
    warm_same_image_s: float | None
    peak_rss_mb: float  # max over the batch runs
    mae: float  # mean over images
    mae_per_image: dict[str, float] = field(default_factory=dict)
    notes: str = ""
    #: alphacut rows: each stage's total over the batch, ms (from `alphacut remove --json`; the stages
    #: of neighbouring images overlap in the pipelined batch, so they need not add up to batch_s)
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def cold_ratio(self) -> float | None:
        if self.cold_start_s is None or not self.warm_same_image_s:
            return None
        return self.cold_start_s / self.warm_same_image_s


@dataclass(frozen=True, slots=True)
class BenchReport:
    folder: str
    images: int
    megapixels: float
    sizes: str
    results: tuple[ToolResult, ...]
    command: str
    machine: str
    load_before: str
    load_after: str
    model_file: str
    models: str = ""  # which model each alphacut row ran, when not all the same file



def machine_description() -> str:
    """The CPU (model, cores, the SIMD features that decide ONNX Runtime's kernels, the int8 kernel it
    gets), the OS and the versions: every figure in a report is tied to it."""
    from importlib import metadata

    from ..runtime.kernels import amx_granted, onnx_kernels, read_cpu_info

    cpu = read_cpu_info()
    feats = ", ".join(cpu.features) if cpu.flags is not None else "CPU features unknown"
    if cpu.hidden:
        feats += f"; cpuid hides {', '.join(cpu.hidden_features)} from the run (a feature mask, e.g. bench/avx2only)"
    int8 = onnx_kernels(cpu, amx=amx_granted() if cpu.flags is not None else None)[1]
    try:
        ort = metadata.version("onnxruntime")
    except metadata.PackageNotFoundError:  # pragma: no cover - a hard dependency
        ort = "?"
    return (f"{cpu.model}, {os.cpu_count()} cores ({feats or 'no AVX2/AVX-512/VNNI/AMX'}; "
            f"onnxruntime's int8 kernel: {int8.kernel}); {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, onnxruntime {ort}")


def _f(x: float | None, fmt: str) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}x"


def _pct(rel: float | None) -> str:
    return "–" if rel is None else f"{rel:+.1f}%"


_HOW_MEASURED = """\
How each column is measured (every number from fresh child processes, spawned and timed by `alphacut bench`):

- images/s (batch): N images / the time from the first file read to the last matte file written, in one \
process, model load excluded (alphacut: its CLI, `alphacut remove FOLDER -o OUT -f mask`, the pipelined batch, \
less the time it reported waiting for its model, which loads in the background while the first image decodes; \
rembg: a plain loop starting cold after session creation, like alphacut; imgly: a plain loop after one warm-up \
call, because its first call loads the model). Median over the repeats.
- s/image warm: file in → matte file out, one image at a time, median over the images of each image's median \
over the repeats (alphacut: in-process after a warm-up image, right after its batch run; peers: their batch loop).
- cold start: a new process cutting out the first image (spawn → exit, matte written), best of the repeats; \
cold/warm divides it by the same tool's warm time for that same image.
- peak RSS: the batch process's own ru_maxrss (os.wait4), max over the repeats.
- MAE: mean over images of each image's mean |matte − GT| at full resolution (grabcut's 128 band not scored); \
'MAE vs alphacut' is relative to the alphacut row.
- process wall / CPU: spawn → exit of the batch process (imports, model load, batch), and the user + system CPU \
seconds it used (steadier than wall time when the machine is shared)."""

_HEADER = ("| tool | images/s (batch) | vs rembg | s/image warm (median) | vs rembg | cold start s "
           "| warm same image s | cold/warm | peak RSS MB | MAE | MAE vs alphacut | process wall s | process CPU s |")


def to_markdown(report: BenchReport) -> str:
    """The comparison table, ratios against rembg (measured in the same run) when it is there."""
    ref = next((r for r in report.results if r.label == "rembg"), None)
    full = next((r for r in report.results if r.label == "alphacut"), None)
    lines = [
        f"Machine: {report.machine}  ",
        f"Images: {report.images} from `{report.folder}`, {report.megapixels} MP in all ({report.sizes})  ",
        f"Weights (every peer): `{report.model_file}`  ",
        *([f"{report.models}  "] if report.models else []),
        f"Load average (1/5/15 min) before: {report.load_before}, after: {report.load_after}  ",
        f"Command: `{report.command}`",
        "",
        _HEADER,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        speed_ratio = r.images_per_s / ref.images_per_s if ref else None
        warm_ratio = (ref.warm_s_per_image / r.warm_s_per_image
                      if ref and ref.warm_s_per_image and r.warm_s_per_image else None)
        mae_rel = (r.mae / full.mae - 1) * 100 if full and full.mae else None
        lines.append(
            f"| {r.label} | {r.images_per_s:.3f} | {_x(speed_ratio)} | {_f(r.warm_s_per_image, '.2f')} "
            f"| {_x(warm_ratio)} | {_f(r.cold_start_s, '.2f')} | {_f(r.warm_same_image_s, '.2f')} "
            f"| {_f(r.cold_ratio, '.2f')} | {r.peak_rss_mb:.0f} | {r.mae:.4f} | {_pct(mae_rel)} "
            f"| {r.process_wall_s:.1f} | {r.process_cpu_s:.1f} |")
    notes = [f"- {r.label}: {r.notes}" for r in report.results if r.notes]
    if notes:
        lines += ["", *notes]
    staged = [r for r in report.results if r.stage_ms]
    if staged:
        names = list(dict.fromkeys(k for r in staged for k in r.stage_ms))
        lines += ["", ("Where alphacut's batch time goes: each stage summed over the images, s (share of the sum; "
                  "the stages of neighbouring images overlap, so the sum exceeds the batch time):"), "",
                  "| tool | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for r in staged:
            total = sum(r.stage_ms.values()) or 1.0
            lines.append(f"| {r.label} | " + " | ".join(
                f"{r.stage_ms.get(k, 0.0) / 1e3:.2f} ({100 * r.stage_ms.get(k, 0.0) / total:.0f}%)" for k in names) + " |")
    lines += ["", _HOW_MEASURED]
    lines += ["", "<details><summary>MAE per image</summary>", "",
              "| image | " + " | ".join(r.label for r in report.results) + " |",
              "|---|" + "---|" * len(report.results)]
    for stem in report.results[0].mae_per_image:
        lines.append(f"| {stem} | " + " | ".join(f"{r.mae_per_image[stem]:.4f}" for r in report.results) + " |")
    lines += ["", "</details>", "",
              "Batch runs (s): " + "; ".join(f"{r.label} " + ", ".join(f"{x:.1f}" for x in r.batch_runs_s)
                                             for r in report.results)]
    return "\n".join(lines) + "\n"


BEGIN_MARK = "<!-- alphacut bench: begin (generated, do not edit by hand) -->"
END_MARK = "<!-- alphacut bench: end -->"


def splice_report(existing: str | None, generated: str) -> str:
    """Put generated between the bench markers of an existing document (hand-written parts stay),
    or make a new document when there is none or it has no markers."""
    block = f"{BEGIN_MARK}\n{generated.rstrip()}\n{END_MARK}\n"
    if existing and BEGIN_MARK in existing and END_MARK in existing:
        head, rest = existing.split(BEGIN_MARK, 1)
        tail = rest.split(END_MARK, 1)[1]
        return head + block + tail.lstrip("\n")
    return "# Performance\n\n" + block


def to_json(report: BenchReport) -> dict[str, Any]:
    return asdict(report)
