"""Quality.BEST: the network runs on the image and on its mirror image, the outputs averaged."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alphacut import Options, Remover, pipeline
from alphacut.errors import OptionsError
from alphacut.options import Quality
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image


class RampBackend(FakeBackend):
    """An output that depends only on the column of the model's input: x / width."""

    def run(self, batch: np.ndarray) -> np.ndarray:
        self.calls += 1
        w = batch.shape[3]
        ramp = np.arange(w, dtype=np.float32) / w
        return np.broadcast_to(ramp, (1, 1, batch.shape[2], w)).copy()


def test_mirror_mean_flips_the_mirrored_output_back_before_averaging():
    raw = np.broadcast_to(np.arange(6, dtype=np.float32), (1, 1, 4, 6)).copy()
    out = pipeline.mirror_mean(raw, raw.copy())
    assert np.allclose(out, 2.5)  # (x + (5 - x)) / 2
    assert np.array_equal(pipeline.unmirror(raw)[0, 0, 0], np.arange(6)[::-1])


def test_best_runs_twice_and_averages_within_the_image_part_only(tiny_spec):
    backend = RampBackend(size_hw=(64, 64))
    tall = square_image(100, 300)  # the image takes a strip at the left of the model's square
    prepared = pipeline.prepare(tall, backend, tiny_spec, Options(quality=Quality.BEST))
    cw, ch = prepared.content_wh
    assert cw < 64 and prepared.mirror_batch is not None
    mirrored_input, _ = pipeline.preprocess(np.asarray(tall), tiny_spec, (64, 64), mirrored=True)
    assert np.array_equal(prepared.mirror_batch, mirrored_input)
    raw = pipeline.infer(prepared, backend)
    assert backend.calls == 2
    # x/64 and, for the mirrored input flipped back, (63 - x)/64: a constant 63 / 128
    assert np.allclose(raw[0, 0, :ch, :cw], 63 / 128)
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


def test_a_mirror_model_sees_the_mirror_image_and_its_output_comes_back_unmirrored(tiny_spec):
    """spec.mirror: the one standard run takes the whole input mirrored (the image at the top right,
    the padding at its left); infer flips the output back, so what follows sees the image's own
    orientation at the top left."""
    from dataclasses import replace

    spec = replace(tiny_spec, mirror=True)
    arr = np.asarray(square_image(100, 300)).copy()
    arr[:, :30] = (200, 10, 10)  # a band at the left only: the image is not its own mirror image
    tall = Image.fromarray(arr)
    plain_backend, mirror_backend = RampBackend(size_hw=(64, 64)), RampBackend(size_hw=(64, 64))
    plain = pipeline.prepare(tall, plain_backend, tiny_spec, Options())
    mirrored = pipeline.prepare(tall, mirror_backend, spec, Options())
    cw, ch = mirrored.content_wh
    assert mirrored.mirrored and not plain.mirrored and mirrored.mirror_batch is None
    # the input is the usual one flipped left-right as a whole: the image at the top right
    assert not np.array_equal(mirrored.batch, plain.batch)
    assert np.array_equal(mirrored.batch, plain.batch[..., ::-1])
    assert np.array_equal(mirrored.batch[..., :ch, 64 - cw:], plain.batch[..., :ch, :cw][..., ::-1])
    raw = pipeline.infer(mirrored, mirror_backend)
    assert mirror_backend.calls == 1
    # the ramp x/64 seen in the mirrored input comes back as (63 - x)/64
    assert np.allclose(raw[0, 0, :ch, :cw], (63 - np.arange(cw, dtype=np.float32)) / 64)
    # BEST runs the image and its mirror whatever the model's orientation: the same as without mirror
    best_m = pipeline.infer(pipeline.prepare(tall, RampBackend(size_hw=(64, 64)), spec, Options(quality=Quality.BEST)),
                            RampBackend(size_hw=(64, 64)))
    best_p = pipeline.infer(pipeline.prepare(tall, RampBackend(size_hw=(64, 64)), tiny_spec,
                                             Options(quality=Quality.BEST)), RampBackend(size_hw=(64, 64)))
    assert np.array_equal(best_m, best_p)


def test_a_mirror_models_matte_is_the_plain_models_for_a_mirror_symmetric_backend(tiny_spec):
    from dataclasses import replace

    img = square_image(300, 200)
    a = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))).matte(img)
    b = Remover(replace(tiny_spec, mirror=True), backend=FakeBackend(size_hw=(64, 64))).matte(img)
    assert np.abs(a - b).max() < 1e-5


def test_catalog_mirror_field_is_a_bool():
    from alphacut.errors import ModelError
    from alphacut.models.catalog import ModelSpec

    base = {"id": "m", "checksum": "sha256:00", "input_size": 64, "mean": [0.5] * 3, "std": [1.0] * 3,
            "sources": [{"kind": "url", "url": "http://127.0.0.1/m.onnx"}]}
    assert ModelSpec.from_dict(base).mirror is False
    spec = ModelSpec.from_dict({**base, "mirror": True})
    assert spec.mirror is True and spec.to_dict()["mirror"] is True
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ModelError, match="mirror must be true or false"):
        ModelSpec.from_dict({**base, "mirror": "yes"})


def test_a_mirror_model_runs_mirrored_at_its_own_input_size_only(tiny_spec):
    """--fast's smaller input measured worse mirrored: only spec.input_size runs mirrored."""
    from dataclasses import replace

    spec = replace(tiny_spec, mirror=True, input_size=128)
    side = spec.input_size
    assert pipeline.runs_mirrored(spec, (side, side))
    assert not pipeline.runs_mirrored(spec, (side // 2, side // 2))
    assert not pipeline.runs_mirrored(replace(spec, mirror=False), (side, side))
    img = square_image(90, 60)
    dynamic = FakeBackend(size_hw=None)
    assert pipeline.prepare(img, dynamic, spec, Options()).mirrored
    assert not pipeline.prepare(img, dynamic, spec, Options(resolution=side // 2)).mirrored
