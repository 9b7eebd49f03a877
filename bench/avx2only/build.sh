#!/usr/bin/env bash
# Build the AVX2-only CPU shim (avx2only.c) into bench/avx2only/build/libavx2only.so.
# Exits 0 with "avx2only: skipped: ..." on stderr, and builds nothing, where it cannot work:
# not Linux x86-64, no gcc (or $CC), or no CPUID faulting (`cpuid_fault` missing from /proc/cpuinfo).
# Exit status 3 means skipped, so callers (run.sh, the unit test) can tell it from a failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build/libavx2only.so"
CC="${CC:-gcc}"

skip() { echo "avx2only: skipped: $*" >&2; exit 3; }

[[ "$(uname -s)" == Linux && "$(uname -m)" == x86_64 ]] || skip "needs Linux on x86-64 (this is $(uname -s) $(uname -m))"
command -v "$CC" >/dev/null || skip "no C compiler ('$CC' not found; install gcc or set CC)"
grep -qw cpuid_fault /proc/cpuinfo || skip "this CPU/hypervisor does not offer CPUID faulting (no 'cpuid_fault' in /proc/cpuinfo)"

if [[ -f "$out" && "$out" -nt "$here/avx2only.c" ]]; then
  exit 0
fi
mkdir -p "$here/build"
"$CC" -O2 -Wall -Wextra -Werror -fPIC -shared -o "$out.tmp" "$here/avx2only.c" -ldl
mv "$out.tmp" "$out"
echo "avx2only: built $out" >&2
