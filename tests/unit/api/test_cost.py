"""alphacut.cost: the memory estimate stays above every peak bench/speed/memory_fit.py measured, and not far above.

The table is bench/speed/memory_fit.py's output (ONNX Runtime CPU, isnet-general-use-int8-static, the default model, 2026-12-08): a fresh
`alphacut remove` per case, peak RSS from os.wait4. A re-fit (another runtime, another model) replaces it.
"""

from __future__ import annotations

import pytest

from alphacut.cost import GIB, MIB, default_server_budget, estimate_peak_bytes
from alphacut.options import Options

#: the process with the model loaded, before its first cutout (MB), per model
BASE_MB = {"isnet-general-use-int8-static": 162, "isnet-general-use-int8": 127, "isnet-general-use-fp16": 265,
           "isnet-general-use-dynamic": 266}
DEFAULT = "isnet-general-use-int8-static"

#: (w, h, model side, flags, input bytes (0: not recorded), peak RSS MB[, model]); the default model unless named
MEASURED: list[tuple] = [  # type: ignore[type-arg]
    (77, 64, 320, (), 0, 221),
    (77, 64, 1024, (), 0, 551),
    (1224, 816, 1024, (), 0, 634),
    (3000, 2000, 1024, (), 0, 800),
    (6000, 4000, 1024, (), 0, 643),
    (8485, 5656, 1024, (), 0, 1137),
    (1224, 816, 512, (), 0, 347),
    (1224, 816, 2048, (), 0, 1503),
    (1224, 816, 3072, (), 0, 3437),
    (77, 64, 4096, (), 0, 5062),
    (6000, 4000, 2048, (), 0, 1518),
    (3000, 2000, 1024, ("--quality", "best"), 0, 868),
    (3000, 2000, 1024, ("--refine", "matting"), 0, 886),
    (3000, 2000, 1024, ("-f", "jpg"), 0, 800),
    (6000, 4000, 1024, ("--quality", "best"), 0, 770),
    (6000, 4000, 1024, ("png",), 50729923, 830),
    (12247, 8164, 1024, (), 21654772, 1780),
    (12247, 8164, 1024, ("png",), 211268718, 1818),
    (77, 64, 1024, (), 2199, 1065, "isnet-general-use-int8"),
    (1224, 816, 1024, (), 224655, 1120, "isnet-general-use-int8"),
    (77, 64, 1024, (), 2199, 1259, "isnet-general-use-fp16"),
    (1224, 816, 1024, (), 224655, 1341, "isnet-general-use-fp16"),
    (77, 64, 1024, (), 2199, 1443, "isnet-general-use-dynamic"),
    (1224, 816, 1024, (), 224655, 942, "isnet-general-use-dynamic"),
    (1224, 816, 2048, (), 224655, 2566, "isnet-general-use-dynamic"),
]


def _options(flags: tuple[str, ...]) -> Options:
    kw = {}
    if "--quality" in flags:
        kw["quality"] = "best"
    if "--refine" in flags:
        kw["refine"] = "matting"
    if "-f" in flags:
        kw["format"] = "jpg"
    return Options.from_user(**kw)


@pytest.mark.parametrize("case", MEASURED, ids=lambda c: f"{c[0]}x{c[1]}@{c[2]}{''.join(c[3])}-{c[6] if len(c) > 6 else ''}")
def test_estimate_bounds_every_measured_peak(case: tuple) -> None:  # type: ignore[type-arg]
    w, h, side, flags, nbytes, peak_mb = case[:6]
    model = case[6] if len(case) > 6 else DEFAULT
    estimate_mb = estimate_peak_bytes((w, h), side, _options(flags), input_bytes=nbytes, model_id=model) / MIB
    base = BASE_MB[model]
    assert base + estimate_mb >= peak_mb  # never below what it cost
    assert estimate_mb <= 2.0 * (peak_mb - base) + 300  # and not so careful it refuses what fits


def test_an_unmeasured_model_is_estimated_no_lower_than_any_measured_one() -> None:
    o = Options()
    unmeasured = estimate_peak_bytes((4000, 3000), 1024, o, model_id="someone-elses-model")
    for model in BASE_MB:
        assert unmeasured >= estimate_peak_bytes((4000, 3000), 1024, o, model_id=model)


def test_estimate_grows_with_what_costs() -> None:
    o = Options()
    assert estimate_peak_bytes((4000, 3000), 2048, o) > 3 * estimate_peak_bytes((4000, 3000), 1024, o) // 2
    assert estimate_peak_bytes((8000, 6000), 1024, o) > estimate_peak_bytes((4000, 3000), 1024, o)
    assert estimate_peak_bytes((4000, 3000), 1024, Options.from_user(quality="best")) > estimate_peak_bytes(
        (4000, 3000), 1024, o)
    assert estimate_peak_bytes((100, 100), 1024, o, input_bytes=10 * MIB) > estimate_peak_bytes((100, 100), 1024, o)


def test_issue_23s_5_gb_request_no_longer_fits_the_default_budget() -> None:
    """16x16 at resolution 4096 took 5 GB: above the default budget of a 2-worker server on any machine."""
    assert estimate_peak_bytes((16, 16), 4096, Options()) > default_server_budget(2, 24 * GIB)
    # while a default cutout of a 100 MP photo fits one worker's share
    assert estimate_peak_bytes((12247, 8164), 1024, Options(), input_bytes=40 * MIB) < default_server_budget(1, 24 * GIB)


def test_default_budget_follows_workers_and_ram() -> None:
    assert default_server_budget(2, 24 * GIB) == 5 * GIB
    assert default_server_budget(8, 24 * GIB) == 12 * GIB  # at most half the RAM
    assert default_server_budget(1, 1 * GIB) == GIB  # at least 1 GiB
