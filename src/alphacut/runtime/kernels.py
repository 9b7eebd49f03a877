"""Which ONNX Runtime CPU kernels this machine gets: read from the CPU's flags, never guessed.

ONNX Runtime's CPU provider (MLAS) picks its kernels once per process from cpuid, in this order
(onnxruntime/core/mlas/lib/platform.cpp): for float32 convolutions and GEMMs AVX-512F > FMA3/AVX2 >
AVX > SSE2; for the u8×s8 integer GEMMs of an int8 model AMX-INT8 (when the OS grants the tile
state) > AVX-512 VNNI > AVX-512BW > AVX-VNNI > AVX2 > SSE. No session option or environment
variable overrides that choice, so a CPU is measured on the kernels it has.

The flags come from /proc/cpuinfo (Linux x86-64). Anywhere else the report says "unknown".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuInfo", "KernelChoice", "amx_granted", "onnx_kernels", "read_cpu_info"]

#: The /proc/cpuinfo flags that decide ONNX Runtime's x86 kernels, with a readable name.
FLAG_NAMES: dict[str, str] = {
    "avx2": "AVX2", "fma": "FMA3", "avx512f": "AVX-512F", "avx512bw": "AVX-512BW", "avx512dq": "AVX-512DQ",
    "avx512vl": "AVX-512VL", "avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI", "avx512_bf16": "AVX-512 BF16",
    "amx_tile": "AMX-TILE", "amx_int8": "AMX-INT8",
}


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """The CPU's model name and flags; flags is None when they could not be read (then: unknown)."""

    model: str
    flags: frozenset[str] | None
    source: str  # where the flags came from, or why there are none

    @property
    def features(self) -> list[str]:
        """The readable names of the flags in FLAG_NAMES that this CPU has (empty when unknown)."""
        return [name for flag, name in FLAG_NAMES.items() if self.flags is not None and flag in self.flags]


@dataclass(frozen=True, slots=True)
class KernelChoice:
    """One kind of work and the kernel family ONNX Runtime uses for it on this CPU."""

    work: str
    kernel: str
    note: str = ""


def read_cpu_info(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuInfo:
    """The first processor's model name and flags from /proc/cpuinfo; flags None if not readable.

    Example:
        >>> read_cpu_info(Path("/nonexistent")).flags is None
        True
    """
    model = ""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return CpuInfo(platform.processor() or "unknown", None, f"{cpuinfo} not readable ({exc.strerror})")
    flags: frozenset[str] | None = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = frozenset(value.split())
        if not line.strip() and (model or flags is not None):
            break  # the first processor is enough
    if flags is None:
        return CpuInfo(model or platform.processor() or "unknown", None, f"{cpuinfo} has no x86 'flags' line")
    return CpuInfo(model or "unknown", flags, str(cpuinfo))


def amx_granted() -> bool | None:
    """Whether the Linux kernel offers AMX tile data to processes (arch_prctl ARCH_GET_XCOMP_SUPP,
    read-only); None when that cannot be asked (not Linux x86-64, no libc)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        mask = ctypes.c_uint64(0)
        sys_arch_prctl, arch_get_xcomp_supp, xfeature_xtiledata = 158, 0x1021, 18
        if libc.syscall(sys_arch_prctl, arch_get_xcomp_supp, ctypes.byref(mask)) != 0:
            return False  # an older kernel (< 5.16) without dynamic xstate: no AMX for user code
    except (OSError, AttributeError):
        return None
    return bool(mask.value >> xfeature_xtiledata & 1)


def onnx_kernels(cpu: CpuInfo, *, amx: bool | None = None) -> list[KernelChoice]:
    """The kernel families ONNX Runtime's CPU provider selects for fp32 and int8 work on `cpu`.

    Args:
        amx: whether the OS grants AMX tile state (amx_granted()); None = not known.

    Example:
        >>> [k.kernel for k in onnx_kernels(CpuInfo("x", frozenset({"avx", "avx2", "fma"}), "test"))]
        ['FMA3/AVX2 (NCHWc blocks of 8)', 'AVX2 (vpmaddubsw + vpmaddwd, no VNNI)']
    """
    if cpu.flags is None:
        why = f"unknown: CPU flags not readable ({cpu.source})"
        return [KernelChoice("fp32 conv/GEMM", why), KernelChoice("int8 u8s8 GEMM", why)]
    f = cpu.flags
    if "avx512f" in f:
        fp32 = KernelChoice("fp32 conv/GEMM", "AVX-512F (NCHWc blocks of 16)")
    elif {"avx2", "fma"} <= f:
        fp32 = KernelChoice("fp32 conv/GEMM", "FMA3/AVX2 (NCHWc blocks of 8)")
    elif "avx" in f:
        fp32 = KernelChoice("fp32 conv/GEMM", "AVX")
    else:
        fp32 = KernelChoice("fp32 conv/GEMM", "SSE2")
    core512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= f
    if not {"avx2", "fma"} <= f:
        int8 = KernelChoice("int8 u8s8 GEMM", "SSE (no AVX2)", "the int8 model gains little or nothing over fp32")
    elif core512 and "avx512_vnni" in f:
        int8 = KernelChoice("int8 u8s8 GEMM", "AVX-512 VNNI (vpdpbusd: u8×s8 dot products, one instruction)")
    elif core512:
        int8 = KernelChoice("int8 u8s8 GEMM", "AVX-512BW (vpmaddubsw + vpmaddwd, no VNNI)")
    elif "avx_vnni" in f:
        int8 = KernelChoice("int8 u8s8 GEMM", "AVX-VNNI (256-bit vpdpbusd)")
    else:
        int8 = KernelChoice("int8 u8s8 GEMM", "AVX2 (vpmaddubsw + vpmaddwd, no VNNI)",
                            "int8 gains less over fp32 than with VNNI (issue 11: 1.64x vs 3.4x on a VNNI CPU)")
    if {"amx_tile", "amx_int8"} <= f and {"avx2", "fma"} <= f:
        if amx is True:
            int8 = KernelChoice("int8 u8s8 GEMM", "AMX-INT8 tiles", f"symmetric int8 convolutions: {int8.kernel}")
        elif amx is None:
            int8 = KernelChoice(int8.work, int8.kernel, "AMX-INT8 instead if the OS grants tile state (not known here)")
        else:
            int8 = KernelChoice(int8.work, int8.kernel, "the CPU has AMX-INT8 but the OS does not grant tile state")
    return [fp32, int8]
