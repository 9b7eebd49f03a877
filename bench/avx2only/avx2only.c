/*
 * avx2only: make a process (and every process it starts) see an AVX2-only x86-64 CPU, like an
 * AMD Zen 1 or an Intel Haswell..Coffee Lake: no AVX-512, no AVX-512 VNNI, no AVX-VNNI, no AMX.
 *
 * How: loaded with LD_PRELOAD, its constructor turns on CPUID faulting for the process
 * (arch_prctl(ARCH_SET_CPUID, 0), Linux >= 4.12 on a CPU/hypervisor that offers it: the
 * `cpuid_fault` flag in /proc/cpuinfo). From then on every `cpuid` instruction (0F A2) in user
 * space raises SIGSEGV; this library's handler switches faulting off for its own thread, runs the
 * real cpuid, switches faulting back on, clears the feature bits below in the answer, writes it to
 * the interrupted thread's EAX/EBX/ECX/EDX and steps over the instruction. Threads and fork()ed
 * children inherit the faulting flag; execve() resets it, but LD_PRELOAD is inherited, so the new
 * program loads this library again.
 *
 * What is hidden (what ONNX Runtime's MLAS, onnxruntime/core/mlas/lib/platform.cpp, and numpy's
 * dispatcher read to pick kernels):
 *   leaf 7 sub-leaf 0  EBX: AVX512F/DQ/IFMA/PF/ER/CD/BW/VL
 *                      ECX: AVX512_VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ, GFNI, VAES, VPCLMULQDQ (not on Zen 1)
 *                      EDX: AVX512_4VNNIW/4FMAPS/VP2INTERSECT/FP16, AMX_BF16/TILE/INT8, hybrid
 *   leaf 7 sub-leaf 1  EAX: AVX_VNNI, AVX512_BF16, AMX_FP16, AVX_IFMA
 *                      EDX: AVX_VNNI_INT8, AVX_NE_CONVERT, AMX_COMPLEX, AVX_VNNI_INT16, AVX10
 * What is NOT changed, on purpose:
 *   - XGETBV cannot be trapped: XCR0 still says the OS saves the AVX-512 and AMX register state.
 *     MLAS (and numpy) require the cpuid bit AND the XCR0 bits, so clearing the cpuid bits is
 *     enough for their choice.
 *   - leaf 0xD (XSAVE area sizes) stays true to the real XCR0: code that sizes an XSAVE buffer
 *     from it must get the real size or it would overflow.
 *   - glibc's own string functions were chosen by ld.so before this constructor ran; run.sh sets
 *     GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,... so glibc picks its AVX2 versions too.
 *   - Static binaries and code that installs its SIGSEGV handler with a raw rt_sigaction syscall
 *     would bypass the handler chaining below (Python, numpy, onnxruntime and Node use libc).
 *
 * The program keeps its own SIGSEGV handlers: sigaction()/signal() for SIGSEGV are interposed, the
 * application's handler is remembered and called for every SIGSEGV that is not a trapped cpuid
 * (Python's faulthandler, V8's trap handler, ...), and the default action still kills on a real fault.
 *
 * This is an emulation of the instruction SET on whatever core runs it (here a Sapphire-Rapids-class
 * Xeon): the AVX2 code paths run on that core's pipelines, caches and clocks, not on a Zen 1's.
 *
 * Build: bench/avx2only/build.sh   Use: bench/avx2only/run.sh COMMAND [ARGS...]
 * Env: AVX2ONLY_QUIET=1 silences the one line it prints to stderr when it is not active.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif

#define BIT(n) (1u << (n))

/* leaf 7.0 */
static const uint32_t HIDE_7_0_EBX = BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31);
static const uint32_t HIDE_7_0_ECX = BIT(1) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(11) | BIT(12) | BIT(14);
static const uint32_t HIDE_7_0_EDX = BIT(2) | BIT(3) | BIT(8) | BIT(15) | BIT(22) | BIT(23) | BIT(24) | BIT(25);
/* leaf 7.1 */
static const uint32_t HIDE_7_1_EAX = BIT(4) | BIT(5) | BIT(21) | BIT(23);
static const uint32_t HIDE_7_1_EDX = BIT(4) | BIT(5) | BIT(8) | BIT(10) | BIT(19);

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sigaction_fn real_sigaction;
static struct sigaction app_segv;   /* what the application believes is its SIGSEGV disposition */
static volatile int active;         /* 1 once cpuid faulting and the handler are in place */
static volatile unsigned long trapped; /* cpuid instructions emulated (for the self-test) */

static long arch_prctl(int code, unsigned long arg) { return syscall(SYS_arch_prctl, code, arg); }

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* The masked answer for (leaf, sub): what every caller in the process sees. */
static void masked_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    arch_prctl(ARCH_SET_CPUID, 1);  /* this thread only */
    real_cpuid(leaf, sub, r);
    arch_prctl(ARCH_SET_CPUID, 0);
    if (leaf == 7 && sub == 0) {
        r[1] &= ~HIDE_7_0_EBX;
        r[2] &= ~HIDE_7_0_ECX;
        r[3] &= ~HIDE_7_0_EDX;
    } else if (leaf == 7 && sub == 1) {
        r[0] &= ~HIDE_7_1_EAX;
        r[3] &= ~HIDE_7_1_EDX;
    }
}

/* Hand a SIGSEGV that is not ours to what the application installed (or the default action). */
static void forward(int sig, siginfo_t *info, void *ctx) {
    struct sigaction app = app_segv;
    if (app.sa_flags & SA_RESETHAND) {
        memset(&app_segv, 0, sizeof app_segv);
        app_segv.sa_handler = SIG_DFL;
    }
    if ((app.sa_flags & SA_SIGINFO) && app.sa_sigaction != NULL) {
        app.sa_sigaction(sig, info, ctx);
    } else if (app.sa_handler != SIG_DFL && app.sa_handler != SIG_IGN) {
        app.sa_handler(sig);
    } else {
        /* Default: restore it and let the fault happen again (or re-raise a sent signal). */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        real_sigaction(SIGSEGV, &dfl, NULL);
        if (info->si_code <= 0) raise(sig);
    }
}

static void on_segv(int sig, siginfo_t *info, void *ctx) {
    ucontext_t *uc = (ucontext_t *)ctx;
    /* CPUID faulting raises #GP, which the kernel reports as SI_KERNEL with RIP at the instruction
     * (mapped and executable). Page faults (SEGV_MAPERR/ACCERR) are never ours: RIP may be unmapped. */
    if (info->si_code == SI_KERNEL) {
        const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
        if (ip[0] == 0x0F && ip[1] == 0xA2) {
            uint32_t r[4];
            masked_cpuid((uint32_t)uc->uc_mcontext.gregs[REG_RAX], (uint32_t)uc->uc_mcontext.gregs[REG_RCX], r);
            uc->uc_mcontext.gregs[REG_RAX] = r[0];
            uc->uc_mcontext.gregs[REG_RBX] = r[1];
            uc->uc_mcontext.gregs[REG_RCX] = r[2];
            uc->uc_mcontext.gregs[REG_RDX] = r[3];
            uc->uc_mcontext.gregs[REG_RIP] += 2;
            trapped++;
            return;
        }
    }
    forward(sig, info, ctx);
}

/* --- the application's view of SIGSEGV ---------------------------------------------------- */

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (real_sigaction == NULL) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (sig != SIGSEGV || !active) return real_sigaction(sig, act, old);
    if (old != NULL) *old = app_segv;
    if (act != NULL) app_segv = *act;
    return 0;
}

int __sigaction(int sig, const struct sigaction *act, struct sigaction *old) { return sigaction(sig, act, old); }

static sighandler_t set_handler(int sig, sighandler_t handler, int flags) {
    struct sigaction act, old;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    act.sa_flags = flags;
    if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
    return old.sa_handler;
}

sighandler_t signal(int sig, sighandler_t handler) { return set_handler(sig, handler, SA_RESTART); }
sighandler_t bsd_signal(int sig, sighandler_t handler) { return set_handler(sig, handler, SA_RESTART); }
sighandler_t sysv_signal(int sig, sighandler_t handler) {
    return set_handler(sig, handler, SA_RESETHAND | SA_NODEFER);
}

/* For tests: how many cpuid instructions were emulated in this process (-1: not active). */
long avx2only_trapped(void) { return active ? (long)trapped : -1; }

__attribute__((constructor(101))) static void avx2only_init(void) {
    const char *quiet = getenv("AVX2ONLY_QUIET");
    real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    memset(&app_segv, 0, sizeof app_segv);
    app_segv.sa_handler = SIG_DFL;
    if (real_sigaction == NULL || real_sigaction(SIGSEGV, NULL, &app_segv) != 0) goto fail;
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&act.sa_mask);
    if (real_sigaction(SIGSEGV, &act, NULL) != 0) goto fail;
    if (arch_prctl(ARCH_SET_CPUID, 0) != 0) {
        real_sigaction(SIGSEGV, &app_segv, NULL);
        goto fail;
    }
    active = 1;
    return;
fail:
    if (quiet == NULL || strcmp(quiet, "1") != 0) {
        static const char msg[] = "avx2only: CPUID faulting is not available here: the process sees the real CPU\n";
        (void)!write(2, msg, sizeof msg - 1);
    }
}
