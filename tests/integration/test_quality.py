"""Real quality against ground truth: the default model on 4 images of every evaldata set.

Thresholds were measured with this code (half-stretched input, bicubic when enlarging, refine=guided,
decontamination on;
MAE per set on the same 4 evenly spaced images, `alphacut eval --root ../shared/evaldata --limit 4`)
and carry a margin of 25% + 0.005, so a real regression fails while run-to-run noise (threads,
CPU kind) does not:

    set                  measured MAE   threshold
    adobe_crops          0.3102         0.393
    davis_animals        0.0186         0.028
    davis_objects        0.0055         0.012
    davis_people         0.0568         0.076
    ebay_products        0.0380         0.052
    ecommerce_synthetic  0.0117         0.020
    grabcut              0.0504         0.068
"""

from __future__ import annotations

import pytest

from alphacut.eval.sets import discover_sets, evaluate

pytestmark = [pytest.mark.model, pytest.mark.evaldata]

MEASURED_MAE = {
    "adobe_crops": 0.3102, "davis_animals": 0.0186, "davis_objects": 0.0055, "davis_people": 0.0568,
    "ebay_products": 0.0380, "ecommerce_synthetic": 0.0117, "grabcut": 0.0504,
}


@pytest.fixture(scope="module")
def report(real_remover, evaldata):
    return evaluate(discover_sets(evaldata), real_remover.matte, limit=4)


@pytest.mark.parametrize("name", sorted(MEASURED_MAE))
def test_mae_per_set_is_below_its_measured_threshold(report, name):
    row = next(s for s in report.sets if s.name == name)
    assert row.n == 4
    assert row.mae <= MEASURED_MAE[name] * 1.25 + 0.005, f"{name}: MAE {row.mae:.4f}"


def test_overall_detection_quality(report):
    overall = report.overall()
    assert overall["mae"] <= 0.085
    assert overall["max_fbeta"] >= 0.80
