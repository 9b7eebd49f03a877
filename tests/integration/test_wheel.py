"""`alphacut bench` from an installed wheel: nothing may depend on the checkout's layout.

Builds the wheel, installs it (no editable link) into a fresh venv whose dependencies come from
this test's environment, and runs `alphacut bench --help` and a tiny bench (a tiny ONNX model added
to a temporary home, two images with ground truth) from a folder outside the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.unit.conftest import make_tiny_onnx

REPO = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(REPO)])
    if built.returncode != 0:
        if "Could not find a version" in built.stderr or "NewConnectionError" in built.stderr:
            pytest.skip(f"building the wheel needs setuptools from the package index: {built.stderr[-300:]}")
        raise AssertionError(built.stderr[-3000:])
    wheel = next((tmp / "dist").glob("alphacut-*.whl"))
    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
                .stdout.strip())
    # numpy, Pillow, onnxruntime, ... from this environment; a .pth here only adds the folder (the
    # editable alphacut hook in it is not run), and the wheel's own alphacut comes first.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                 str(wheel)])
    assert inst.returncode == 0, inst.stderr[-3000:]
    return venv


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ALPHACUT_HOME")}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


def test_the_wheel_runs_alphacut_from_site_packages(wheel_venv: Path, tmp_path: Path) -> None:
    py = wheel_venv / "bin" / "python"
    where = _run([str(py), "-c", "import alphacut.eval.bench, alphacut; print(alphacut.__file__)"],
                 cwd=tmp_path, env=_env(wheel_venv))
    assert where.returncode == 0, where.stderr
    assert str(wheel_venv) in where.stdout and str(REPO / "src") not in where.stdout
    helped = _run([str(wheel_venv / "bin" / "alphacut"), "bench", "--help"], cwd=tmp_path, env=_env(wheel_venv))
    assert helped.returncode == 0, helped.stderr
    assert "--compare" in helped.stdout and "--peers-dir" in helped.stdout
    scripts = _run([str(py), "-c", "from alphacut.eval.peers import SCRIPTS; print(SCRIPTS)"], cwd=tmp_path,
                   env=_env(wheel_venv))
    folder = Path(scripts.stdout.strip())
    assert str(wheel_venv) in str(folder)
    assert {p.name for p in folder.iterdir()} >= {"peer_rembg.py", "peer_imgly.mjs", "setup_peers.sh"}


def test_a_tiny_bench_from_the_wheel(wheel_venv: Path, tmp_path: Path) -> None:
    home, bench_set = tmp_path / "home", tmp_path / "set"
    (bench_set / "images").mkdir(parents=True)
    (bench_set / "gt").mkdir()
    for i, (w, h) in enumerate([(96, 64), (80, 80)]):
        rgb = np.full((h, w, 3), 235, np.uint8)
        gt = np.zeros((h, w), np.uint8)
        rgb[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (20, 30, 60)
        gt[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255
        Image.fromarray(rgb).save(bench_set / "images" / f"im{i}.png")
        Image.fromarray(gt, "L").save(bench_set / "gt" / f"im{i}.png")
    model = make_tiny_onnx(tmp_path / "tiny.onnx", size=None)
    alphacut = str(wheel_venv / "bin" / "alphacut")
    added = _run([alphacut, "--home", str(home), "models", "add", "tiny-test", str(model), "--input-size", "64",
                  "--mean", "0.5,0.5,0.5", "--std", "1,1,1"], cwd=tmp_path, env=_env(wheel_venv))
    assert added.returncode == 0, added.stderr
    ran = _run([alphacut, "--home", str(home), "--offline", "bench", str(bench_set), "-m", "tiny-test", "--json"],
               cwd=tmp_path, env=_env(wheel_venv))
    assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads(ran.stdout)
    row = report["results"][0]
    assert row["label"] == "alphacut" and row["images"] == 2
    assert set(row["mae_per_image"]) == {"im0", "im1"} and row["mae"] < 0.2
    assert row["images_per_s"] > 0 and row["peak_rss_mb"] > 0
    assert {"decode", "inference", "write"} <= set(row["stage_ms"])  # read from `alphacut remove --json`
