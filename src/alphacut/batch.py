"""Run a Remover over many files: one bad file never stops the batch, nothing is half-written."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .api import Remover
from .errors import AlphacutError, ModelError, OutputError
from .io.encode import encode_image
from .io.files import SYMLINK_OUTSIDE, Job, write_atomic
from .options import Options, OutputFormat
from .pipeline import Cutout, Prepared, encode_cutout, preload

__all__ = ["BatchSummary", "ItemResult", "Outcome", "encode_layers", "layer_path", "run_batch"]

log = logging.getLogger(__name__)


class Outcome(str, Enum):
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ItemResult:
    job: Job
    outcome: Outcome
    code: str | None = None
    message: str | None = None
    seconds: float = 0.0
    #: Per stage (decode, preprocess, inference, matte, compose, write), from the cutout's info; empty
    #: unless DONE.
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain data for `alphacut remove --json`."""
        return {"src": str(self.job.src), "dst": str(self.job.dst), "outcome": self.outcome.value, "code": self.code,
                "message": self.message, "seconds": round(self.seconds, 4),
                "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()}}


@dataclass(slots=True)
class BatchSummary:
    results: list[ItemResult] = field(default_factory=list)
    seconds: float = 0.0
    #: Of `seconds`, how long the batch waited for the model to finish loading (it loads in the
    #: background while the first images are decoded); 0 when it was ready.
    model_wait_s: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    def to_json(self) -> dict[str, Any]:
        """The summary as plain data (`alphacut remove --json`, read by `alphacut bench`).

        `seconds` is the whole batch, first read to last write; `model_wait_s` is the part of it
        spent waiting for the model to load; `stage_ms` sums each stage over the done items (the
        stages of neighbouring images overlap, so these sums can exceed `seconds`).
        """
        stages: dict[str, float] = {}
        for r in self.results:
            for k, v in r.timings_ms.items():
                stages[k] = stages.get(k, 0.0) + v
        return {"done": self.count(Outcome.DONE), "skipped": self.count(Outcome.SKIPPED),
                "failed": self.count(Outcome.FAILED), "seconds": round(self.seconds, 4),
                "model_wait_s": round(self.model_wait_s, 4),
                "stage_ms": {k: round(v, 1) for k, v in stages.items()},
                "items": [r.to_json() for r in self.results]}

    @property
    def failed(self) -> list[ItemResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _check_destination(job: Job, *, skip_existing: bool, overwrite: bool) -> ItemResult | None:
    """A SKIPPED result, None to go ahead, or OutputError when the destination must not be written."""
    if job.problem is not None:
        raise job.problem
    if job.skipped is not None:  # a link leading outside its folder (io.files.collect_jobs)
        return ItemResult(job, Outcome.SKIPPED, SYMLINK_OUTSIDE, job.skipped)
    if _same_file(job.src, job.dst):
        raise OutputError("output.is-input", f"{job.dst} is the input itself; alphacut never overwrites an input.",
                          hint="Choose another output folder with -o.")
    if job.dst.exists():
        if skip_existing:
            return ItemResult(job, Outcome.SKIPPED, "output.exists", "exists")
        if not overwrite:
            raise OutputError("output.exists", f"{job.dst} exists.",
                              hint="Pass --overwrite to replace it or --skip-existing to keep it.")
    return None


def _failure(job: Job, exc: BaseException, seconds: float) -> ItemResult:
    if isinstance(exc, ModelError):  # the model itself (damaged, missing): every item would fail alike
        raise exc
    if isinstance(exc, AlphacutError):
        log.info("%s failed: %s", job.src, exc)
        return ItemResult(job, Outcome.FAILED, exc.code, exc.message + (f" {exc.hint}" if exc.hint else ""),
                          seconds=seconds)
    if isinstance(exc, MemoryError):
        return ItemResult(job, Outcome.FAILED, "input.out-of-memory",
                          "Not enough memory for this image. Lower --max-pixels or downscale it.", seconds=seconds)
    raise exc


#: what run_batch checks each image's estimated memory against, asked per image: (bytes, what it is,
#: a hint), or None for no check (alphacut.cost; the CLI: --max-memory, else the memory available now)
MemoryLimit = Callable[[], "tuple[int, str, str] | None"]


def _check_memory(remover: Remover, job: Job, options: Options, memory_limit: MemoryLimit | None) -> None:
    limit = memory_limit() if memory_limit is not None else None
    if limit is not None:
        remover._check_memory(job.src, options, limit[0], limit_text=limit[1], hint=limit[2])


def run_batch(remover: Remover, jobs: Sequence[Job], options: Options, *, skip_existing: bool = False,
              overwrite: bool = False, on_item: Callable[[ItemResult], None] | None = None,
              depth: int = 2, layers: bool = False, memory_limit: MemoryLimit | None = None) -> BatchSummary:
    """Process jobs with decoding, inference and encoding of neighbouring images overlapped.

    Three stages run at once: a thread decodes and preprocesses up to `depth` images ahead, the
    calling thread runs the model, and a thread composes, encodes and writes up to `depth` results
    behind. Queues are bounded, so memory stays flat however many jobs there are; results are
    reported (on_item, summary) in job order. depth=0 runs everything in the calling thread.
    """
    summary = BatchSummary()
    t0 = time.perf_counter()
    # With layers: every input (not only this job's) is protected from NAME.subject-N files.
    guard = _LayerGuard(overwrite, frozenset(_real(j.src) for j in jobs)) if layers else None
    if depth <= 0:
        for job in jobs:
            summary.results.append(_emit(_serial(remover, job, options, skip_existing, overwrite, guard,
                                                 memory_limit), on_item))
        summary.seconds = time.perf_counter() - t0
        return summary

    def stage_prepare(job: Job) -> tuple[float, ItemResult | Prepared]:
        start = time.perf_counter()
        try:
            skipped = _check_destination(job, skip_existing=skip_existing, overwrite=overwrite)
            if skipped is not None:
                return start, skipped
            _check_memory(remover, job, options, memory_limit)
            return start, remover._prepare(job.src, options)
        except Exception as exc:  # noqa: BLE001 - mapped by _failure; anything unknown is re-raised there
            return start, _failure(job, exc, time.perf_counter() - start)

    def stage_finish(job: Job, start: float, prepared: Prepared, raw: Any) -> ItemResult:
        try:
            return _written(job, remover._finish(prepared, raw, options), options, guard, start)
        except Exception as exc:  # noqa: BLE001 - _failure maps known errors, re-raises the rest
            return _failure(job, exc, time.perf_counter() - start)

    ahead: deque[tuple[Job, Future[tuple[float, ItemResult | Prepared]]]] = deque()
    behind: deque[Future[ItemResult]] = deque()
    todo = iter(jobs)
    with ThreadPoolExecutor(1, thread_name_prefix="alphacut-prepare") as prep_pool, \
            ThreadPoolExecutor(1, thread_name_prefix="alphacut-write") as out_pool:
        def refill() -> None:
            while len(ahead) < depth:
                job = next(todo, None)
                if job is None:
                    return
                ahead.append((job, prep_pool.submit(stage_prepare, job)))

        # The writer is idle until the first result: it imports what finishing will need meanwhile,
        # and notes when the model (loading in the background) is ready.
        ready_at: list[float] = []

        def note_ready() -> None:
            with contextlib.suppress(AlphacutError):
                remover.wait_ready()
                ready_at.append(time.perf_counter())

        out_pool.submit(note_ready)
        out_pool.submit(preload, options)
        refill()
        while ahead:
            job, fut = ahead.popleft()
            refill()
            start, got = fut.result()
            if isinstance(got, ItemResult):
                done: Future[ItemResult] = Future()
                done.set_result(got)
                behind.append(done)
            else:
                try:
                    raw = remover._infer(got)
                except Exception as exc:  # noqa: BLE001 - _failure maps known errors, re-raises the rest
                    done = Future()
                    done.set_result(_failure(job, exc, time.perf_counter() - start))
                    behind.append(done)
                else:
                    behind.append(out_pool.submit(stage_finish, job, start, got, raw))
            while len(behind) > depth or (behind and behind[0].done()):
                summary.results.append(_emit(behind.popleft().result(), on_item))
        while behind:
            summary.results.append(_emit(behind.popleft().result(), on_item))
    summary.seconds = time.perf_counter() - t0
    # note_ready ran first on the writer thread, before any result: done once the pools are shut.
    summary.model_wait_s = ready_at[0] - t0 if ready_at else 0.0
    return summary


def _emit(result: ItemResult, on_item: Callable[[ItemResult], None] | None) -> ItemResult:
    if on_item is not None:
        on_item(result)
    return result


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


@dataclass(frozen=True, slots=True)
class _LayerGuard:
    """What the per-subject files (NAME.subject-N.EXT) may replace: never an input, others only
    with overwrite. Their number is known only after the cutout, so they are checked then, before
    anything of the item is written."""

    overwrite: bool
    inputs: frozenset[Path]

    def check(self, path: Path) -> None:
        if _real(path) in self.inputs:
            raise OutputError("output.is-input", f"The layer {path} would replace an input; alphacut never "
                              "overwrites an input. Nothing of this image was written.",
                              hint="Choose another output folder with -o.")
        if path.exists() and not self.overwrite:
            raise OutputError("output.exists", f"The layer {path} exists. Nothing of this image was written.",
                              hint="Pass --overwrite to replace it.")


def _written(job: Job, cutout: Cutout, options: Options, guard: _LayerGuard | None, start: float) -> ItemResult:
    """Write the item's files; its DONE result with the stage times (write included)."""
    t = time.perf_counter()
    _write(job, cutout, options, guard)
    timings = {**cutout.info.timings_ms, "write": (time.perf_counter() - t) * 1e3}
    return ItemResult(job, Outcome.DONE, seconds=time.perf_counter() - start, timings_ms=timings)


def _write(job: Job, cutout: Cutout, options: Options, guard: _LayerGuard | None) -> None:
    """The result, and with a layer guard one file per subject beside it (NAME.subject-N.png)."""
    layers: list[tuple[Path, bytes]] = []
    if guard is not None:
        for i, data in enumerate(encode_layers(cutout, options), start=1):
            path = layer_path(job.dst, i, options)
            guard.check(path)
            layers.append((path, data))
    write_atomic(job.dst, encode_cutout(cutout, options))
    for path, data in layers:
        write_atomic(path, data)


def encode_layers(cutout: Cutout, options: Options) -> list[bytes]:
    """One encoded RGBA image per subject (PNG unless options.format keeps transparency)."""
    fmt = options.format if options.format.has_alpha else OutputFormat.PNG
    return [encode_image(image, fmt, quality=options.jpeg_quality) for _, image in cutout.layers()]


def layer_path(dst: Path, index: int, options: Options) -> Path:
    """Where subject `index` (from 1) of the result at dst goes: NAME.subject-N.png beside it."""
    fmt = options.format if options.format.has_alpha else OutputFormat.PNG
    return dst.with_name(f"{dst.stem}.subject-{index}{fmt.extension}")


def _serial(remover: Remover, job: Job, options: Options, skip_existing: bool, overwrite: bool,
            guard: _LayerGuard | None = None, memory_limit: MemoryLimit | None = None) -> ItemResult:
    start = time.perf_counter()
    try:
        skipped = _check_destination(job, skip_existing=skip_existing, overwrite=overwrite)
        if skipped is not None:
            return skipped
        _check_memory(remover, job, options, memory_limit)
        return _written(job, remover.cutout(job.src, options), options, guard, start)
    except Exception as exc:  # noqa: BLE001 - _failure maps known errors, re-raises the rest
        return _failure(job, exc, time.perf_counter() - start)
