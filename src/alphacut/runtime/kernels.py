"""Which ONNX Runtime CPU kernels this machine gets: read from the CPU's flags, never guessed.

ONNX Runtime's CPU provider (MLAS) picks its kernels once per process from cpuid, in this order
(onnxruntime/core/mlas/lib/platform.cpp): for float32 convolutions and GEMMs AVX-512F > FMA3/AVX2 >
AVX > SSE2; for the u8×s8 integer GEMMs of an int8 model AMX-INT8 (when the OS grants the tile
state) > AVX-512 VNNI > AVX-512BW > AVX-VNNI > AVX2 > SSE. No session option or environment
variable overrides that choice, so a CPU is measured on the kernels it has.

The flags come from the cpuid instruction itself (Linux x86-64: what MLAS reads, so a feature mask
such as bench/avx2only shows), with /proc/cpuinfo for the model name and as the fallback. Anywhere
else the report says "unknown".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import mmap
import platform
from dataclasses import dataclass
from pathlib import Path

from ..options import FAST_RESOLUTION, FAST_RESOLUTION_NO_DOT_PRODUCT

__all__ = ["CpuInfo", "KernelChoice", "amx_granted", "cpu_fingerprint", "fast_resolution", "int8_dot_products", "onnx_kernels",
           "read_cpu_info", "read_cpuid_flags"]

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
    #: flags /proc/cpuinfo lists but cpuid does not report to this process (a feature mask)
    hidden: frozenset[str] = frozenset()

    @property
    def hidden_features(self) -> list[str]:
        """The readable names of the FLAG_NAMES flags that cpuid hides from this process."""
        return [name for flag, name in FLAG_NAMES.items() if flag in self.hidden]

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


def read_cpu_info(cpuinfo: Path | None = None) -> CpuInfo:
    """This CPU's model name and flags as ONNX Runtime sees them, or those of a cpuinfo file.

    With no argument: the flags come from the cpuid instruction (read_cpuid_flags(), what MLAS reads)
    and the model name from /proc/cpuinfo; the flags /proc/cpuinfo lists that cpuid hides are in
    `hidden`. Where cpuid cannot be run, /proc/cpuinfo's flags are used. With a path: that file only.

    Example:
        >>> read_cpu_info(Path("/nonexistent")).flags is None
        True
    """
    if cpuinfo is not None:
        return _read_cpuinfo_file(cpuinfo)
    listed = _read_cpuinfo_file(Path("/proc/cpuinfo"))
    seen = read_cpuid_flags()
    if seen is None:
        return listed
    hidden = (listed.flags or frozenset()) & FLAG_NAMES.keys() - seen
    return CpuInfo(listed.model, seen, "cpuid (what onnxruntime reads)", frozenset(hidden))


def _read_cpuinfo_file(cpuinfo: Path) -> CpuInfo:
    """The first processor's model name and flags from a /proc/cpuinfo-style file."""
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


#: x86-64 System V machine code: cpuid4(leaf, subleaf, uint32 out[4]) at 0 and xgetbv(index) at
#: XGETBV_OFFSET (gcc -c of a 20-line .s file; objdump -d shows these bytes).
_CPUID_CODE = bytes.fromhex(
    "53" "89f8" "89f1" "4989d0" "0fa2"                      # push rbx; eax=leaf; ecx=sub; r8=out; cpuid
    "418900" "41895804" "41894808" "4189500c" "5b" "c3"      # out[0..3] = eax, ebx, ecx, edx; pop rbx; ret
    "89f9" "0f01d0" "48c1e220" "4809d0" "c3"                 # ecx=index; xgetbv; rax |= rdx << 32; ret
)
_XGETBV_OFFSET = 0x1B

#: (leaf, sub-leaf, register index EAX=0..EDX=3, bit) of each FLAG_NAMES flag, as MLAS tests them.
_CPUID_BITS: dict[str, tuple[int, int, int, int]] = {
    "avx": (1, 0, 2, 28), "fma": (1, 0, 2, 12), "avx2": (7, 0, 1, 5),
    "avx512f": (7, 0, 1, 16), "avx512dq": (7, 0, 1, 17), "avx512bw": (7, 0, 1, 30), "avx512vl": (7, 0, 1, 31),
    "avx512_vnni": (7, 0, 2, 11), "amx_tile": (7, 0, 3, 24), "amx_int8": (7, 0, 3, 25),
    "avx_vnni": (7, 1, 0, 4), "avx512_bf16": (7, 1, 0, 5),
}


@functools.cache
def read_cpuid_flags() -> frozenset[str] | None:
    """The FLAG_NAMES flags the cpuid instruction reports to this process, each only if XCR0 says the
    OS saves its registers (as MLAS and the kernel's /proc/cpuinfo require); None where cpuid cannot
    be run from Python (not Linux x86-64, no libc, no executable page allowed). Asked once per process
    (~0.1 ms): the features do not change while it runs."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: libc is linked into Python
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    page = mmap.PAGESIZE
    addr = libc.mmap(None, page, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return None
    try:
        ctypes.memmove(addr, _CPUID_CODE, len(_CPUID_CODE))
        if libc.mprotect(addr, page, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            return None  # W^X policy: no executable page for us
        regs_t = ctypes.c_uint32 * 4
        cpuid = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(regs_t))(addr)
        xgetbv = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32)(addr + _XGETBV_OFFSET)
        regs: dict[tuple[int, int], tuple[int, ...]] = {}
        out = regs_t()
        cpuid(0, 0, ctypes.byref(out))
        max_leaf = out[0]
        for leaf, sub in ((1, 0), (7, 0), (7, 1)):
            if leaf <= max_leaf and (sub == 0 or regs[(7, 0)][0] >= sub):
                cpuid(leaf, sub, ctypes.byref(out))
                regs[(leaf, sub)] = tuple(out)
            else:
                regs[(leaf, sub)] = (0, 0, 0, 0)
        osxsave = bool(regs[(1, 0)][2] >> 27 & 1)
        xcr0 = int(xgetbv(0)) if osxsave else 0
    finally:
        libc.munmap(addr, page)
    has = {flag for flag, (leaf, sub, reg, bit) in _CPUID_BITS.items() if regs[(leaf, sub)][reg] >> bit & 1}
    ymm, zmm, tiles = xcr0 & 0x6 == 0x6, xcr0 & 0xE0 == 0xE0, xcr0 & 0x60000 == 0x60000
    return frozenset(f for f in has if (ymm if not f.startswith(("avx512", "amx")) else
                                        zmm if f.startswith("avx512") else tiles))


def cpu_fingerprint() -> str:
    """What a runtime's CPU-specific artefact (onnxruntime's optimized graph, OpenVINO's compiled
    model) may depend on: the machine, and the features cpuid reports to this process, not only
    /proc/cpuinfo's. Under a feature mask (bench/avx2only, some hypervisors) onnxruntime picks 8-wide
    NCHWc blocks where the file lists AVX-512, and a graph saved with 16-wide blocks fails at its first
    run there; OpenVINO's compiled kernels are specific to the ISA it found the same way.
    """
    seen = read_cpuid_flags()
    parts = [platform.machine(), platform.processor(), f"cpuid: {','.join(sorted(seen)) if seen is not None else '?'}"]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features")):
                    parts.append(line.strip())
                if line.strip() == "":  # the first processor is enough
                    break
    except OSError:
        pass
    return "\n".join(parts)


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


def int8_dot_products(cpu: CpuInfo) -> bool | None:
    """Whether onnxruntime's int8 GEMMs on `cpu` get a u8×s8 dot-product instruction (AVX-512 VNNI,
    AVX-VNNI or AMX-INT8); None when the flags are unknown (not x86 Linux).

    Example:
        >>> int8_dot_products(CpuInfo("Zen 1", frozenset({"avx", "avx2", "fma"}), "test"))
        False
    """
    if cpu.flags is None:
        return None
    f = cpu.flags
    core512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= f
    return {"avx2", "fma"} <= f and ((core512 and "avx512_vnni" in f) or "avx_vnni" in f or {"amx_tile", "amx_int8"} <= f)


def fast_resolution(cpu: CpuInfo | None = None) -> int:
    """The side --fast runs the model at on `cpu` (default: this one, as cpuid shows it):
    FAST_RESOLUTION_NO_DOT_PRODUCT on x86 CPUs without int8 dot products, else FAST_RESOLUTION
    (also when the flags are unknown: no measurement says otherwise there).

    Example:
        >>> fast_resolution(CpuInfo("Zen 1", frozenset({"avx", "avx2", "fma"}), "test"))
        640
    """
    dot = int8_dot_products(cpu if cpu is not None else read_cpu_info())
    return FAST_RESOLUTION_NO_DOT_PRODUCT if dot is False else FAST_RESOLUTION
