"""Run a Remover over many files: one bad file never stops the batch, nothing is half-written."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from .api import Remover
from .errors import AlphacutError, OutputError
from .io.files import Job, write_atomic
from .options import Options

__all__ = ["BatchSummary", "ItemResult", "Outcome", "run_batch"]

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


@dataclass(slots=True)
class BatchSummary:
    results: list[ItemResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> list[ItemResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def process_job(remover: Remover, job: Job, options: Options, *, skip_existing: bool,
                overwrite: bool) -> ItemResult:
    """Cut out one file and write it atomically, mapping every known failure to an ItemResult."""
    t0 = time.perf_counter()
    try:
        if _same_file(job.src, job.dst):
            raise OutputError("output.is-input", f"{job.dst} is the input itself; alphacut never overwrites an input.",
                              hint="Choose another output folder with -o.")
        if job.dst.exists():
            if skip_existing:
                return ItemResult(job, Outcome.SKIPPED, "output.exists", "exists")
            if not overwrite:
                raise OutputError("output.exists", f"{job.dst} exists.",
                                  hint="Pass --overwrite to replace it or --skip-existing to keep it.")
        data = remover.remove_bytes(job.src, options)
        write_atomic(job.dst, data)
        return ItemResult(job, Outcome.DONE, seconds=time.perf_counter() - t0)
    except AlphacutError as exc:
        log.info("%s failed: %s", job.src, exc)
        return ItemResult(job, Outcome.FAILED, exc.code, exc.message + (f" {exc.hint}" if exc.hint else ""),
                          seconds=time.perf_counter() - t0)
    except MemoryError:
        return ItemResult(job, Outcome.FAILED, "input.out-of-memory",
                          "Not enough memory for this image. Lower --max-pixels or downscale it.",
                          seconds=time.perf_counter() - t0)


def run_batch(remover: Remover, jobs: Sequence[Job], options: Options, *, skip_existing: bool = False,
              overwrite: bool = False,
              on_item: Callable[[ItemResult], None] | None = None) -> BatchSummary:
    """Process jobs in order; the summary lists every item with its outcome."""
    summary = BatchSummary()
    t0 = time.perf_counter()
    for job in jobs:
        result = process_job(remover, job, options, skip_existing=skip_existing, overwrite=overwrite)
        summary.results.append(result)
        if on_item is not None:
            on_item(result)
    summary.seconds = time.perf_counter() - t0
    return summary
