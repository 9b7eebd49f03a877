"""runtime.kernels: the kernel report from /proc/cpuinfo-like files (no model, no onnxruntime)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alphacut.runtime.kernels import FLAG_NAMES, CpuInfo, onnx_kernels, read_cpu_info, read_cpuid_flags

_BASE = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c"
CPUS = {  # model name -> flags, as /proc/cpuinfo shows them
    "AMD Ryzen 7 1700 (Zen 1)": f"{_BASE} avx2 fma",
    "Intel Core i7-4770 (Haswell)": f"{_BASE} avx2 fma",
    "Intel Xeon Gold 6130 (Skylake-SP)": f"{_BASE} avx2 fma avx512f avx512dq avx512bw avx512vl",
    "Intel Xeon Gold 6230 (Cascade Lake)": f"{_BASE} avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni",
    "Intel Core i5-12400 (Alder Lake)": f"{_BASE} avx2 fma avx_vnni",
    "Intel Xeon Platinum 8480 (Sapphire Rapids)": f"{_BASE} avx2 fma avx512f avx512dq avx512bw avx512vl "
                                                  "avx512_vnni avx_vnni amx_tile amx_int8 amx_bf16",
    "Intel Atom (no AVX2)": f"{_BASE}",
}


def _cpuinfo(tmp_path: Path, model: str, flags: str) -> Path:
    p = tmp_path / "cpuinfo"
    p.write_text(f"processor\t: 0\nmodel name\t: {model}\nflags\t\t: {flags}\n\n"
                 f"processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n\n")
    return p


@pytest.mark.parametrize(("model", "fp32", "int8"), [
    ("AMD Ryzen 7 1700 (Zen 1)", "FMA3/AVX2", "AVX2 (vpmaddubsw"),
    ("Intel Core i7-4770 (Haswell)", "FMA3/AVX2", "AVX2 (vpmaddubsw"),
    ("Intel Xeon Gold 6130 (Skylake-SP)", "AVX-512F", "AVX-512BW"),
    ("Intel Xeon Gold 6230 (Cascade Lake)", "AVX-512F", "AVX-512 VNNI"),
    ("Intel Core i5-12400 (Alder Lake)", "FMA3/AVX2", "AVX-VNNI"),
    ("Intel Atom (no AVX2)", "AVX", "SSE"),
])
def test_kernels_follow_the_flags(tmp_path: Path, model: str, fp32: str, int8: str) -> None:
    cpu = read_cpu_info(_cpuinfo(tmp_path, model, CPUS[model]))
    assert cpu.model == model  # the first processor's
    got = onnx_kernels(cpu, amx=None)
    assert [k.work for k in got] == ["fp32 conv/GEMM", "int8 u8s8 GEMM"]
    assert got[0].kernel.startswith(fp32) and got[1].kernel.startswith(int8)


def test_avx2_only_says_what_it_costs(tmp_path: Path) -> None:
    cpu = read_cpu_info(_cpuinfo(tmp_path, "zen1", CPUS["AMD Ryzen 7 1700 (Zen 1)"]))
    assert "VNNI" not in cpu.features and "AVX2" in cpu.features
    assert "no VNNI" in onnx_kernels(cpu)[1].kernel and onnx_kernels(cpu)[1].note


@pytest.mark.parametrize(("granted", "kernel", "note"), [
    (True, "AMX-INT8", "AVX-512 VNNI"),
    (False, "AVX-512 VNNI", "does not grant"),
    (None, "AVX-512 VNNI", "not known"),
])
def test_amx_only_when_the_os_grants_it(tmp_path: Path, granted: bool | None, kernel: str, note: str) -> None:
    model = "Intel Xeon Platinum 8480 (Sapphire Rapids)"
    int8 = onnx_kernels(read_cpu_info(_cpuinfo(tmp_path, model, CPUS[model])), amx=granted)[1]
    assert int8.kernel.startswith(kernel) and note in int8.note


def test_unreadable_or_flagless_cpuinfo_says_unknown(tmp_path: Path) -> None:
    missing = read_cpu_info(tmp_path / "nope")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd asimddp\n\n")
    for cpu in (missing, read_cpu_info(arm)):
        assert cpu.flags is None and cpu.features == []
        assert all(k.kernel.startswith("unknown") for k in onnx_kernels(cpu))


def test_doctor_prints_the_kernels(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from alphacut.cli import main

    result = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor"])
    assert result.exit_code == 0, result.output
    assert "onnxruntime kernels" in result.output
    assert "int8 u8s8 GEMM" in result.output and "fp32 conv/GEMM" in result.output


def test_this_machine_is_not_guessed() -> None:
    cpu = read_cpu_info()
    if cpu.flags is None:
        assert all("unknown" in k.kernel for k in onnx_kernels(cpu))
    else:
        assert isinstance(cpu, CpuInfo) and cpu.source in ("/proc/cpuinfo", "cpuid (what onnxruntime reads)")


def test_cpuid_agrees_with_proc_cpuinfo_when_nothing_is_masked() -> None:
    seen = read_cpuid_flags()
    listed = read_cpu_info(Path("/proc/cpuinfo")).flags
    if seen is None or listed is None:
        pytest.skip("cpuid cannot be run from Python here (not Linux x86-64) or /proc/cpuinfo has no flags")
    if "avx2only" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("running under the bench/avx2only feature mask")
    assert seen & FLAG_NAMES.keys() == listed & FLAG_NAMES.keys()


def test_the_optimized_graph_is_keyed_by_what_cpuid_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph optimized with AVX-512's 16-wide NCHWc blocks fails to run where onnxruntime picks 8-wide
    ones (an AVX2-only CPU, or the same CPU under a feature mask): their cache keys must differ."""
    from alphacut.runtime import kernels, onnx

    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    monkeypatch.setattr(kernels, "read_cpuid_flags", lambda: frozenset({"avx", "avx2", "fma", "avx512f"}))
    wide = onnx.optimized_cache_key("h", model, {"threads": 2})
    monkeypatch.setattr(kernels, "read_cpuid_flags", lambda: frozenset({"avx", "avx2", "fma"}))
    assert onnx.optimized_cache_key("h", model, {"threads": 2}) != wide
