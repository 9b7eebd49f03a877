from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from alphacut import Options, Remover
from alphacut.batch import Outcome, run_batch
from alphacut.io.files import Job
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image


class CountingRemover(Remover):
    """Counts how many prepared images exist at once, to check the pipeline's bound."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.alive = 0
        self.peak = 0
        self.lock = threading.Lock()

    def _prepare(self, image, options):
        with self.lock:
            self.alive += 1
            self.peak = max(self.peak, self.alive)
        try:
            return super()._prepare(image, options)
        except Exception:
            with self.lock:
                self.alive -= 1
            raise

    def _finish(self, prepared, raw, options):
        try:
            return super()._finish(prepared, raw, options)
        finally:
            with self.lock:
                self.alive -= 1


@pytest.fixture
def jobs(tmp_path):
    out = []
    for i in range(12):
        src = tmp_path / "in" / f"{i:02d}.png"
        src.parent.mkdir(exist_ok=True)
        if i % 5 == 3:
            src.write_bytes(b"broken")
        else:
            square_image(60 + i, 50).save(src)
        out.append(Job(src, tmp_path / "out" / f"{i:02d}.png"))
    return out


@pytest.mark.parametrize("depth", [0, 1, 2, 4])
def test_results_in_job_order_with_failures_in_place(tiny_spec, jobs, depth):
    remover = CountingRemover(tiny_spec, backend=FakeBackend())
    seen = []
    summary = run_batch(remover, jobs, Options(), depth=depth, on_item=seen.append)
    assert [r.job for r in summary.results] == jobs == [r.job for r in seen]
    outcomes = [r.outcome for r in summary.results]
    assert outcomes == [Outcome.FAILED if i % 5 == 3 else Outcome.DONE for i in range(12)]
    # ahead (depth) + behind (depth) + the one being inferred, never more
    assert remover.peak <= 2 * depth + 1 if depth else remover.peak <= 1
    for r in summary.results:
        if r.outcome is Outcome.DONE:
            assert Image.open(r.job.dst).size == Image.open(r.job.src).size


def test_pipelined_and_serial_write_identical_files(tiny_spec, jobs, tmp_path):
    remover = Remover(tiny_spec, backend=FakeBackend())
    run_batch(remover, jobs, Options(), depth=0)
    serial = {j.dst.name: j.dst.read_bytes() for j in jobs if j.dst.exists()}
    for j in jobs:
        j.dst.unlink(missing_ok=True)
    run_batch(remover, jobs, Options(), depth=3)
    assert serial == {j.dst.name: j.dst.read_bytes() for j in jobs if j.dst.exists()}
    assert len(serial) == 10
    assert np.asarray(Image.open(jobs[0].dst))[25, 30, 3] > 240
