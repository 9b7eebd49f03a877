#!/usr/bin/env bash
# Run COMMAND as if on an AVX2-only CPU (Zen 1 class: no AVX-512, no VNNI, no AMX); its children too.
#
#   bench/avx2only/run.sh .venv/bin/alphacut doctor
#   bench/avx2only/run.sh .venv/bin/alphacut bench out/benchset --compare rembg --fast ...
#
# The cpuid instruction is emulated with those features cleared (avx2only.c); glibc is told to use
# its AVX2 string functions. The AVX2 code then runs on THIS core (its microarchitecture, caches and
# clock), so timings show what the instruction set costs, not what a Zen 1 would measure.
# Refuses to run (exit 3) where the shim cannot work, rather than silently running on the real CPU.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
"$here/build.sh" || exit $?
lib="$here/build/libavx2only.so"
hide="-AVX512F,-AVX512CD,-AVX512ER,-AVX512PF,-AVX512VL,-AVX512DQ,-AVX512BW,-AVX512_4FMAPS,-AVX512_4VNNIW"
hide="$hide,-AVX512_BITALG,-AVX512_IFMA,-AVX512_VBMI,-AVX512_VBMI2,-AVX512_VNNI,-AVX512_VPOPCNTDQ,-AVX512_FP16"
hide="$hide,-AVX_VNNI,-AMX_BF16,-AMX_TILE,-AMX_INT8"
export GLIBC_TUNABLES="glibc.cpu.hwcaps=$hide${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
