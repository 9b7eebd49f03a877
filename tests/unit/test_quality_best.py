"""Quality.BEST: the network runs on the image and on its mirror image, the outputs averaged."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut import Options, Remover, pipeline
from alphacut.errors import OptionsError
from alphacut.options import Quality
from alphacut.runtime.fake import FakeBackend

from .conftest import square_image


class RampBackend(FakeBackend):
    """An output that depends only on the column of the model's input: x / width."""

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        w = batch.shape[3]
        ramp = np.arange(w, dtype=np.float32) / w
        return np.broadcast_to(ramp, (1, 1, batch.shape[2], w)).copy()


def test_mirror_mean_flips_the_image_part_back_and_leaves_the_rest():
    raw = np.zeros((1, 1, 4, 6), np.float32)
    raw[..., :3, :4] = np.arange(4, dtype=np.float32)  # image part: 3 rows x 4 columns
    mirrored = raw.copy()
    out = pipeline.mirror_mean(raw, mirrored, (4, 3))
    assert np.allclose(out[..., :3, :4], 1.5)  # (x + (3 - x)) / 2
    assert np.array_equal(out[..., 3:, :], raw[..., 3:, :]) and np.array_equal(out[..., :, 4:], raw[..., :, 4:])


def test_best_runs_twice_and_averages_within_the_image_part_only(tiny_spec):
    backend = RampBackend(size_hw=(64, 64))
    tall = square_image(100, 300)  # the image takes a strip at the left of the model's square
    prepared = pipeline.prepare(tall, backend, tiny_spec, Options(quality=Quality.BEST))
    cw, ch = prepared.content_wh
    assert cw < 64 and prepared.mirror_batch is not None
    raw = pipeline.infer(prepared, backend)
    assert backend.calls == 2
    # x/64 and, flipped back within the strip, (cw - 1 - x)/64: a constant (cw - 1) / 128 there
    assert np.allclose(raw[0, 0, :ch, :cw], (cw - 1) / 128)
    standard = pipeline.prepare(tall, backend, tiny_spec, Options())
    assert standard.mirror_batch is None
    pipeline.infer(standard, backend)
    assert backend.calls == 3


def test_best_equals_standard_for_a_mirror_symmetric_model(tiny_spec):
    """The fake backend treats an image and its mirror image alike, so the average changes nothing."""
    img = square_image(300, 200)
    one, two = FakeBackend(size_hw=(64, 64)), FakeBackend(size_hw=(64, 64))
    a = Remover(tiny_spec, backend=one).matte(img)
    b = Remover(tiny_spec, backend=two).matte(img, Options.from_user(quality="best"))
    assert one.calls == 1 and two.calls == 2
    assert np.abs(a - b).max() < 1e-5


def test_quality_is_parsed_and_bad_values_are_refused():
    assert Options.from_user(quality="BEST").quality is Quality.BEST
    assert Options().quality is Quality.STANDARD
    with pytest.raises(OptionsError, match="quality='great' is not one of standard, best"):
        Options.from_user(quality="great")
    with pytest.raises(OptionsError, match="not a Quality"):
        Options(quality="best")  # type: ignore[arg-type]


def test_cli_quality_flag(run, tmp_path):
    src = tmp_path / "a.png"
    square_image(60, 40).save(src)
    bad = run("remove", str(src), "-o", str(tmp_path / "bad.png"), "--quality", "great")
    assert bad.exit_code != 0
    assert "quality='great' is not one of standard, best" in bad.output
    assert not (tmp_path / "bad.png").exists()
    good = run("remove", str(src), "-o", str(tmp_path / "good.png"), "--quality", "best")
    assert good.exit_code == 0, good.output
    assert (tmp_path / "good.png").is_file()
