"""The real default model end to end: samples, CLI, and quality against ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from alphacut import cli

from .conftest import REPO

pytestmark = pytest.mark.model

SAMPLES = REPO / "samples"


def test_astronaut_is_cut_out(real_remover):
    c = real_remover.cutout(SAMPLES / "astronaut.jpg")
    assert c.image.size == (512, 512) and c.image.mode == "RGBA"
    a = c.alpha
    # The face and suit are kept, the dark-blue wall on the top right corner is removed.
    assert a[200:260, 150:230].mean() > 0.9
    assert a[0:60, 420:512].mean() < 0.1
    assert 0.15 < a.mean() < 0.8


def test_coffee_cup_is_the_subject(real_remover):
    a = real_remover.matte(SAMPLES / "coffee.jpg")
    h, w = a.shape
    assert a[h // 2 - 20:h // 2 + 20, w // 2 - 20:w // 2 + 20].mean() > 0.8
    assert a[:15, :15].mean() < 0.2 and a[-15:, -15:].mean() < 0.2


def test_cli_on_the_samples_folder(real_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHACUT_HOME", str(real_store.path(real_store.catalog.default).parent.parent))
    res = CliRunner().invoke(cli.main, ["--offline", "remove", str(SAMPLES), "-o", str(tmp_path)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    outs = sorted(tmp_path.glob("*.png"))
    assert [p.stem for p in outs] == ["astronaut", "chelsea", "coffee", "rocket"]
    for p in outs:
        src = Image.open(SAMPLES / f"{p.stem}.jpg")
        out = Image.open(p)
        assert out.mode == "RGBA" and out.size == src.size
        alpha = np.asarray(out)[:, :, 3]
        assert 0.02 < (alpha > 127).mean() < 0.95  # something kept, something removed
