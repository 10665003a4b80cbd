// What the CPU can run, from cpuid (and xgetbv: the OS must save the wide registers too), and
// which clone of the elementwise kernels the loader picked. Used to check OpenBLAS's choice of
// kernel (Kernels/BLASCore.swift) and to print both in --version and --profile.
#include "ckernels.h"
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

uint32_t fg_cpu_features(void) {
    unsigned a, b, c, d;
    uint32_t f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xE0) == 0xE0, amx = (xcr0 & 0x60000) == 0x60000;
    if ((c >> 20) & 1) f |= FG_CPU_SSE42;
    if (((c >> 28) & 1) && ymm) f |= FG_CPU_AVX;
    if (((c >> 12) & 1) && ymm) f |= FG_CPU_FMA;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (((b >> 5) & 1) && ymm) f |= FG_CPU_AVX2;
        if (((b >> 16) & 1) && zmm) f |= FG_CPU_AVX512F;
        if (((b >> 17) & 1) && zmm) f |= FG_CPU_AVX512DQ;
        if (((b >> 30) & 1) && zmm) f |= FG_CPU_AVX512BW;
        if (((b >> 31) & 1) && zmm) f |= FG_CPU_AVX512VL;
        if (((d >> 24) & 1) && amx) f |= FG_CPU_AMX;
    }
    return f;
}

void fg_cpu_name(char *vendor13, char *brand49, int *family, int *model) {
    unsigned a, b, c, d;
    memset(vendor13, 0, 13);
    memset(brand49, 0, 49);
    *family = *model = 0;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        memcpy(vendor13, &b, 4);
        memcpy(vendor13 + 4, &d, 4);
        memcpy(vendor13 + 8, &c, 4);
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int base = (a >> 8) & 0xF, ext = (a >> 20) & 0xFF;
        *family = base == 0xF ? base + ext : base;
        *model = (int)(((a >> 4) & 0xF) | ((base == 6 || base == 0xF) ? ((a >> 12) & 0xF0) : 0));
    }
    if (__get_cpuid_max(0x80000000, 0) >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++) {
            __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
            memcpy(brand49 + 16 * i, &a, 4);
            memcpy(brand49 + 16 * i + 4, &b, 4);
            memcpy(brand49 + 16 * i + 8, &c, 4);
            memcpy(brand49 + 16 * i + 12, &d, 4);
        }
    }
}

const char *fg_kernel_isa(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "x86-64-v3 (AVX2+FMA)" : "x86-64 baseline (SSE2)";
}
#else
uint32_t fg_cpu_features(void) { return 0; }
void fg_cpu_name(char *vendor13, char *brand49, int *family, int *model) {
    memset(vendor13, 0, 13);
    memset(brand49, 0, 49);
    *family = *model = 0;
}
const char *fg_kernel_isa(void) { return "baseline"; }
#endif
