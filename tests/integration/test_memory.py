"""Memory with the real model: a 24 MP photo stays under 1 GiB (README), and a long batch does not grow.

Both measure real processes: the 24 MP cutout runs the CLI in a child (peak RSS from os.wait4, the
child alone); the batch reads this process's VmRSS between images.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.model

GIB = 1024.0  # MiB
TARGET_24MP_MIB = 1.0 * GIB  # README: "a 24 MP photo in under 1 GiB of memory"


def _photo(path: Path, w: int, h: int, seed: int) -> Path:
    """A deterministic photo-like JPEG (alphacut.eval.benchset.synthetic_photo)."""
    from alphacut.eval.benchset import synthetic_photo

    Image.fromarray(synthetic_photo(w, h, seed), "RGB").save(path, quality=90)
    return path


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status (not Linux)")
    raise AssertionError  # unreachable


def test_24mp_cutout_peak_rss_under_1_gib(real_store, tmp_path: Path) -> None:
    from alphacut.eval.measure import alphacut_command, spawn_measured

    src = _photo(tmp_path / "big.jpg", 6000, 4000, seed=24)
    dst = tmp_path / "big.png"
    m = spawn_measured(alphacut_command("--home", str(real_store.home), "--offline", "remove", str(src), "-o",
                                        str(dst), "-q"))
    assert m.returncode == 0, m.stderr
    with Image.open(dst) as out:
        assert out.size == (6000, 4000) and out.mode == "RGBA"
    assert m.peak_rss_mb < TARGET_24MP_MIB, f"peak RSS {m.peak_rss_mb:.0f} MiB for a 24 MP cutout"


def test_rss_flat_across_a_batch(real_remover, tmp_path: Path) -> None:
    from alphacut.batch import Outcome, run_batch
    from alphacut.io.files import Job
    from alphacut.options import Options

    sizes = [(640, 480), (1920, 1080), (3000, 2000), (800, 800)]
    srcs = [_photo(tmp_path / f"in{i}.jpg", *sizes[i], seed=i) for i in range(len(sizes))]
    jobs = [Job(srcs[i % len(srcs)], tmp_path / "out" / f"{i:02d}.png") for i in range(40)]
    rss: list[float] = []
    summary = run_batch(real_remover, jobs, Options(), on_item=lambda _r: rss.append(_rss_mib()))
    assert summary.count(Outcome.DONE) == 40
    after_10, after_40 = rss[9], rss[39]
    print(f"RSS MiB after image 10: {after_10:.0f}, after 40: {after_40:.0f}; all: {[round(x) for x in rss]}")
    # Same 4 images 10 times over: anything but noise would be a leak of ~1 image per 10.
    assert after_40 - after_10 < 64, f"RSS grew from {after_10:.0f} to {after_40:.0f} MiB (all: {rss})"
