"""alphacut.eval.bench without the model: the bench set, MAE, child measurement and the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.errors import InputError
from alphacut.eval.benchset import BenchItem, _centre_crop_box, mae_per_image, make_bench_set
from alphacut.eval.report import BEGIN_MARK, END_MARK, BenchReport, ToolResult, splice_report, to_markdown


def _evaldata(root: Path) -> Path:
    """Two tiny sets laid out like ../shared/evaldata: one binary, one grabcut-like with a 128 band."""
    rng = np.random.default_rng(0)
    for name, n, (w, h) in (("davis_people", 4, (90, 60)), ("grabcut", 3, (40, 30))):
        (root / name / "images").mkdir(parents=True)
        (root / name / "gt").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / name / "images" / f"s{i}.jpg")
            g = np.zeros((h, w), np.uint8)
            g[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255
            if name == "grabcut":
                g[h // 4, :] = 128
            Image.fromarray(g, "L").save(root / name / "gt" / f"s{i}.png")
    return root


MIX = (BenchItem("grabcut", 0.0), BenchItem("davis_people", 0.5), BenchItem("davis_people", 0.0, (300, 200)))


def test_make_bench_set_sizes_gt_and_manifest(tmp_path: Path) -> None:
    ev = _evaldata(tmp_path / "ev")
    manifest = make_bench_set(ev, tmp_path / "set", mix=MIX)
    names = [e["name"] for e in manifest["images"]]
    assert names == ["00_grabcut_s0", "01_davis_people_s2", "02_davis_people_s0"]
    for e in manifest["images"]:
        with Image.open(tmp_path / "set" / "images" / e["file"]) as im, \
                Image.open(tmp_path / "set" / "gt" / f"{e['name']}.png") as g:
            assert im.size == g.size == (e["width"], e["height"])
            assert g.mode == "L"
    up = manifest["images"][2]
    assert up["upscaled"] and (up["width"], up["height"]) == (300, 200)
    assert manifest["images"][0]["gt_unknown_128"] and not up["gt_unknown_128"]
    # 90x60 is already 3:2, so the upscaled GT keeps the box in the middle half.
    gt = np.asarray(Image.open(tmp_path / "set" / "gt" / "02_davis_people_s0.png"))
    assert gt[100, 150] == 255 and gt[10, 10] == 0
    on_disk = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert on_disk["images"] == manifest["images"]


def test_make_bench_set_is_deterministic_and_refuses_a_full_folder(tmp_path: Path) -> None:
    ev = _evaldata(tmp_path / "ev")
    make_bench_set(ev, tmp_path / "a", mix=MIX)
    make_bench_set(ev, tmp_path / "b", mix=MIX)
    for f in sorted((tmp_path / "a").rglob("*.*")):
        if f.name != "manifest.json":
            assert f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes(), f
    with pytest.raises(InputError):
        make_bench_set(ev, tmp_path / "a", mix=MIX)


def test_make_bench_set_will_not_upscale_a_gt_with_an_unknown_band(tmp_path: Path) -> None:
    ev = _evaldata(tmp_path / "ev")
    with pytest.raises(InputError):
        make_bench_set(ev, tmp_path / "set", mix=(BenchItem("grabcut", 0.0, (400, 300)),))


@pytest.mark.parametrize(("w", "h", "aspect", "box"), [
    (854, 480, 1.5, (67, 0, 787, 480)),
    (512, 512, 1.5, (0, 85, 512, 426)),
    (600, 400, 1.5, (0, 0, 600, 400)),
])
def test_centre_crop_box(w: int, h: int, aspect: float, box: tuple[int, int, int, int]) -> None:
    assert _centre_crop_box(w, h, aspect) == box


def _write_l(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a.astype(np.uint8), "L").save(path)


def test_mae_reads_masks_and_cutouts_and_skips_the_unknown_band(tmp_path: Path) -> None:
    gt = np.zeros((10, 10), np.uint8)
    gt[:, 5:] = 255
    gt[0, :] = 128
    _write_l(tmp_path / "gt" / "a.png", gt)
    _write_l(tmp_path / "gt" / "b.png", gt)
    (tmp_path / "manifest.json").write_text(json.dumps({"images": [{"name": "a", "gt_unknown_128": True},
                                                                   {"name": "b", "gt_unknown_128": False}]}))
    pred = np.where(gt == 255, 255, 0)
    pred[0, :] = 0  # wrong by 128/255 on the band row only
    _write_l(tmp_path / "pred" / "a.png", pred)
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, :, 3] = pred
    Image.fromarray(rgba, "RGBA").save(tmp_path / "pred" / "b.png")
    scores = mae_per_image(tmp_path / "pred", tmp_path / "gt", ["a", "b"])
    assert scores["a"] == pytest.approx(0.0)
    assert scores["b"] == pytest.approx(10 * 128 / 255 / 100)


def test_mae_refuses_missing_or_wrongly_sized_mattes(tmp_path: Path) -> None:
    _write_l(tmp_path / "gt" / "a.png", np.zeros((10, 10)))
    with pytest.raises(InputError, match="missing"):
        mae_per_image(tmp_path / "pred", tmp_path / "gt", ["a"])
    _write_l(tmp_path / "pred" / "a.png", np.zeros((10, 12)))
    with pytest.raises(InputError) as err:
        mae_per_image(tmp_path / "pred", tmp_path / "gt", ["a"])
    assert err.value.code == "eval.size-mismatch"


def test_spawn_measured_reports_the_child_peak_rss_and_exit_code() -> None:
    # Measured from a small fresh parent, as `alphacut bench` is: a forked child's peak RSS starts
    # from its parent's, and this pytest process may hold a loaded model by now.
    probe = ("import json, sys; from alphacut.eval.measure import spawn_measured; "
             "m = spawn_measured([sys.executable, '-c', "
             "\"import sys; b = bytearray(300 * 2**20); print('hi'); sys.exit(3)\"]); "
             "print(json.dumps([m.returncode, m.cpu_s, m.stdout, m.peak_rss_mb]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    returncode, cpu_s, stdout, peak_rss_mb = json.loads(out.stdout.strip().splitlines()[-1])
    assert returncode == 3
    assert cpu_s >= 0.0
    assert stdout.strip() == "hi"
    assert 300 <= peak_rss_mb < 1000


def _result(label: str, ips: float, warm: float | None, mae: float) -> ToolResult:
    return ToolResult(label=label, images=2, batch_s=2 / ips, batch_runs_s=(2 / ips,), images_per_s=ips,
                      process_wall_s=9.0, process_cpu_s=8.0, warm_s_per_image=warm, cold_start_s=3.0 if warm else None,
                      warm_same_image_s=warm, peak_rss_mb=1000.0, mae=mae,
                      mae_per_image={"x": mae, "y": mae})


def test_markdown_ratios_are_against_rembg_and_mae_against_alphacut() -> None:
    report = BenchReport(folder="f", images=2, megapixels=1.0, sizes="2 under 12 MP", command="alphacut bench f",
                         machine="cpu", load_before="0", load_after="0", model_file="m.onnx",
                         results=(_result("alphacut", 0.75, 1.0, 0.04), _result("rembg", 0.5, 2.0, 0.05),
                                  _result("alphacut (PNG cutout)", 0.25, None, 0.044)))
    md = to_markdown(report)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in md.splitlines()
            if line.startswith(("| alphacut", "| rembg"))}
    assert rows["alphacut"][2] == "1.50x"  # images/s vs rembg
    assert rows["alphacut"][4] == "2.00x"  # rembg's warm time / alphacut's
    assert rows["alphacut"][7] == "3.00"  # cold / warm same image
    assert rows["rembg"][10] == "+25.0%"  # MAE relative to alphacut
    assert rows["alphacut (PNG cutout)"][3] == "–"
    assert "`alphacut bench f`" in md


def test_splice_report_keeps_the_hand_written_parts() -> None:
    first = splice_report(None, "table one")
    assert first.startswith("# Performance") and BEGIN_MARK in first and END_MARK in first
    doc = first.replace("# Performance\n", "# Performance\n\nintro\n") + "\n## Notes\n\nmine\n"
    again = splice_report(doc, "table two")
    assert "table two" in again and "table one" not in again
    assert "intro" in again and "## Notes\n\nmine" in again
    assert again.count(BEGIN_MARK) == 1


def test_peers_run_the_published_file_a_derived_default_comes_from() -> None:
    from alphacut.eval.bench import published_weights
    from alphacut.models.catalog import load_catalog

    catalog = load_catalog()
    assert published_weights(catalog, catalog.default) == "isnet-general-use-fp16"
    assert published_weights(catalog, "isnet-general-use-fp16") == "isnet-general-use-fp16"
    assert published_weights(catalog, "isnet-general-use-dynamic") == "isnet-general-use-fp16"


def test_spawn_measured_reports_the_childs_own_peak_not_its_parents() -> None:
    """Linux gives an exec'd child the peak RSS of the process it was spawned from; the launcher
    in between keeps a big parent (a test run that loaded the model) out of the child's figure."""
    import sys

    import numpy as np

    from alphacut.eval.measure import spawn_measured

    ballast = np.ones(300 * 1024 * 1024, np.uint8)  # this process: +300 MiB resident
    m = spawn_measured([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"])
    assert ballast.sum() > 0
    assert m.returncode == 3 and m.stdout == "hi\n"
    assert 0 < m.peak_rss_mb < 100, m.peak_rss_mb
    grow = "import numpy as np; a = np.ones(200 * 1024 * 1024, np.uint8); print(a.sum() > 0)"
    assert spawn_measured([sys.executable, "-c", grow]).peak_rss_mb > 200
    missing = spawn_measured(["/nonexistent/alphacut-cmd"])
    assert missing.returncode != 0 and "nonexistent" in missing.stderr


def test_ensure_bench_set_reuses_its_own_set_and_refuses_others(tmp_path: Path) -> None:
    from alphacut.eval.benchset import ensure_bench_set

    ev = _evaldata(tmp_path / "ev")
    first = ensure_bench_set(ev, tmp_path / "set", mix=MIX)
    before = (tmp_path / "set" / "manifest.json").stat().st_mtime_ns
    assert ensure_bench_set(ev, tmp_path / "set", mix=MIX) == first
    assert (tmp_path / "set" / "manifest.json").stat().st_mtime_ns == before  # not rebuilt
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(InputError):
        ensure_bench_set(ev, tmp_path / "other", mix=MIX)


def test_the_fast_row_runs_alphacut_remove_with_fast(tmp_path: Path) -> None:
    """The --fast row measures `alphacut remove --fast` (all its settings), not only its model and size."""
    from alphacut.eval.bench import ToolConfig, _Runner

    runner = _Runner(tmp_path, [], tmp_path, home=None, threads=None, model_file=tmp_path / "m.onnx",
                     peers_dir=tmp_path)
    fast = ToolConfig("alphacut --fast (768 px)", "alphacut", model="m", resolution=768, fast=True)
    assert "--fast" in runner._alphacut_cli(fast, "in", "-o", "out")
    assert "--fast" not in runner._alphacut_cli(ToolConfig("alphacut", "alphacut"), "in", "-o", "out")
