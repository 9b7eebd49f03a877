"""bench/avx2only: a process run under the shim sees an AVX2-only CPU (numpy, onnxruntime, alphacut).

Skips with the build script's reason where the shim cannot work (no gcc, no CPUID faulting, not Linux
x86-64). One `python -c` child (~2 s): numpy's dispatcher, alphacut's cpuid reader and onnxruntime's
own choice (the NCHWc block size its graph optimizer picks: 16 with AVX-512F, 8 with AVX2) are read
in it and compared with the same process run without the shim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SHIM = ROOT / "bench" / "avx2only"

PROBE = r"""
import json, os, sys, tempfile
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from numpy._core._multiarray_umath import __cpu_features__ as npf
from alphacut.runtime.kernels import onnx_kernels, read_cpu_info

c = 24  # padded to 32 channels by 16-wide (AVX-512F) NCHWc blocks, kept at 24 by 8-wide (AVX2) ones
w = numpy_helper.from_array(np.ones((c, c, 3, 3), np.float32), "w")
graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c, 8, 8])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
so.log_severity_level = 3
so.optimized_model_filepath = os.path.join(tempfile.mkdtemp(), "o.onnx")
sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
x = np.random.default_rng(0).random((1, c, 8, 8), dtype=np.float32)
y = sess.run(None, {"x": x})[0]
ref = sum(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))[:, :, i:i + 8, j:j + 8].sum(1) for i in range(3) for j in range(3))
cpu = read_cpu_info()
print(json.dumps({
    "numpy_avx512f": bool(npf.get("AVX512F")), "numpy_avx2": bool(npf.get("AVX2")),
    "cpuid_flags": sorted(cpu.flags or []), "hidden": sorted(cpu.hidden),
    "int8_kernel": onnx_kernels(cpu)[1].kernel,
    "nchwc_channels": [list(i.dims) for i in onnx.load(so.optimized_model_filepath).graph.initializer][0][0],
    "conv_ok": bool(np.allclose(y[0], ref[0][None].repeat(c, 0), rtol=1e-4, atol=1e-3)),
}))
"""


def _probe(shim: bool) -> dict[str, object]:
    cmd = [sys.executable, "-c", PROBE]
    env = {**os.environ, "AVX2ONLY_QUIET": "0"}
    if shim:
        cmd = [str(SHIM / "run.sh"), *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "avx2only:" not in done.stderr, done.stderr  # the library says so when it is not active
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def shim_built() -> None:
    done = subprocess.run([str(SHIM / "build.sh")], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode == 3:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr


def test_under_the_shim_nothing_sees_avx512(shim_built: None) -> None:
    native, masked = _probe(shim=False), _probe(shim=True)
    # the shim only hides what this CPU has: compare with what the process sees without it
    if "avx512f" not in native["cpuid_flags"]:  # type: ignore[operator]
        pytest.skip("this CPU has no AVX-512: nothing for the shim to hide")
    assert native["numpy_avx512f"] and native["nchwc_channels"] == 32
    assert masked["numpy_avx512f"] is False and masked["numpy_avx2"] is True
    assert masked["nchwc_channels"] == 24  # onnxruntime's MLAS picked its AVX2 (8-wide) kernels
    flags = set(masked["cpuid_flags"])  # type: ignore[arg-type]
    assert {"avx2", "fma"} <= flags and not {f for f in flags if f.startswith(("avx512", "amx", "avx_vnni"))}
    assert "avx512f" in masked["hidden"]  # type: ignore[operator]
    assert masked["int8_kernel"].startswith("AVX2")  # type: ignore[union-attr]
    assert native["conv_ok"] and masked["conv_ok"]  # and the AVX2 kernels still compute the right thing


def test_run_refuses_without_a_command() -> None:
    done = subprocess.run([str(SHIM / "run.sh")], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2 and "usage" in done.stderr
