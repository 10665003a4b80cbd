// Single-precision GEMM whose every element is computed the same way whatever the call's shape.
// Why: hole-aware execution computes windows of each layer, so the same output pixel sits at
// different places of differently sized GEMMs than in the whole run. OpenBLAS's result for an
// element depends on where it falls in its kernels' blocking (edge columns are summed in another
// order), which made windows differ from the whole run in the last bits. Here an element of C is
// Σ over k blocks of 512, in order, of a chain of fused multiply-adds over that block, in order,
// starting from zero: a function of its row of A and its column of B alone.
// How: the BLIS loop nest (Goto's algorithm): B packed in 16-column panels of KC rows, A in
// 6-row panels, a 6×16 register-tile micro-kernel (12 AVX2 accumulators), zero-padded edges
// computed like interior tiles and stored cropped.
#include <stdlib.h>
#include <string.h>
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

// KC × NR floats of B (32 KiB) stay in L1 while MC × KC of A (192 KiB) stream from L2.
enum { MR = 6, NR = 16, KC = 512, MC = 96, NC = 2048 };

typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define SPLAT(f) ((v8){(f), (f), (f), (f), (f), (f), (f), (f)})

// The mc × kc block of A as panels of MR rows: panel q holds kc rows of MR values
// (A[i0 + r][p] at ap[q·kc·MR + p·MR + r]), zero rows past mc. A stored transposed (rsa = 1)
// is read along its contiguous rows; else each panel reads MR rows of A along k.
static void pack_a(long mc, long kc, const float *a, long rsa, long csa, float *ap) {
    const long panels = (mc + MR - 1) / MR;
    if (rsa == 1) {
        const long whole = mc / MR;
        for (long p = 0; p < kc; p++) {
            const float *src = a + p * csa;
            float *dst = ap + p * MR;
            for (long q = 0; q < whole; q++) memcpy(dst + q * kc * MR, src + q * MR, MR * sizeof(float));
            if (whole < panels) {
                float *last = dst + whole * kc * MR;
                for (long r = 0; r < MR; r++) last[r] = whole * MR + r < mc ? src[whole * MR + r] : 0;
            }
        }
        return;
    }
    for (long q = 0; q < panels; q++) {
        const long rows = mc - q * MR < MR ? mc - q * MR : MR;
        float *dst = ap + q * kc * MR;
        for (long p = 0; p < kc; p++) {
            long r = 0;
            for (; r < rows; r++) dst[p * MR + r] = a[(q * MR + r) * rsa + p * csa];
            for (; r < MR; r++) dst[p * MR + r] = 0;
        }
    }
}

// Bp: kc × NR (row p holds B[p][j0 .. j0+15]), zero columns past n. B stored transposed
// (rsb = 1) is read along its contiguous columns.
static void pack_b(long cols, long kc, const float *b, long rsb, long csb, float *bp) {
    if (rsb == 1 && csb != 1) {
        for (long j = 0; j < cols; j++) { const float *src = b + j * csb; for (long p = 0; p < kc; p++) bp[p * NR + j] = src[p]; }
        for (long j = cols; j < NR; j++) for (long p = 0; p < kc; p++) bp[p * NR + j] = 0;
        return;
    }
    for (long p = 0; p < kc; p++) {
        const float *src = b + p * rsb;
        float *dst = bp + p * NR;
        long j = 0;
        if (csb == 1 && cols == NR) {  // a whole panel row: two vector moves, not a libc call
            *(v8 *)dst = *(const v8 *)src;
            *(v8 *)(dst + 8) = *(const v8 *)(src + 8);
            continue;
        } else if (csb == 1) {
            memcpy(dst, src, (size_t)cols * sizeof(float));
            j = cols;
        } else {
            for (; j < cols; j++) dst[j] = src[j * csb];
        }
        for (; j < NR; j++) dst[j] = 0;
    }
}

// C tile (rows × cols of a 6 × 16 tile) = or += the kc-long chains of fused multiply-adds.
FG_CLONES
static void micro(long kc, const float *ap, const float *bp, float *c, long ldc, long rows, long cols, int add) {
    v8 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
#pragma unroll 4
    for (long p = 0; p < kc; p++) {
        const v8 b0 = *(const v8 *)(bp + p * NR), b1 = *(const v8 *)(bp + p * NR + 8);
        const float *a = ap + p * MR;
        v8 x;
        x = SPLAT(a[0]); c00 = __builtin_elementwise_fma(x, b0, c00); c01 = __builtin_elementwise_fma(x, b1, c01);
        x = SPLAT(a[1]); c10 = __builtin_elementwise_fma(x, b0, c10); c11 = __builtin_elementwise_fma(x, b1, c11);
        x = SPLAT(a[2]); c20 = __builtin_elementwise_fma(x, b0, c20); c21 = __builtin_elementwise_fma(x, b1, c21);
        x = SPLAT(a[3]); c30 = __builtin_elementwise_fma(x, b0, c30); c31 = __builtin_elementwise_fma(x, b1, c31);
        x = SPLAT(a[4]); c40 = __builtin_elementwise_fma(x, b0, c40); c41 = __builtin_elementwise_fma(x, b1, c41);
        x = SPLAT(a[5]); c50 = __builtin_elementwise_fma(x, b0, c50); c51 = __builtin_elementwise_fma(x, b1, c51);
    }
    float t[MR * NR] __attribute__((aligned(32)));
    *(v8 *)(t + 0) = c00; *(v8 *)(t + 8) = c01; *(v8 *)(t + 16) = c10; *(v8 *)(t + 24) = c11;
    *(v8 *)(t + 32) = c20; *(v8 *)(t + 40) = c21; *(v8 *)(t + 48) = c30; *(v8 *)(t + 56) = c31;
    *(v8 *)(t + 64) = c40; *(v8 *)(t + 72) = c41; *(v8 *)(t + 80) = c50; *(v8 *)(t + 88) = c51;
    for (long r = 0; r < rows; r++) {
        float *row = c + r * ldc;
        const float *s = t + r * NR;
        if (cols == NR) {
            v8 *o = (v8 *)row;
            if (add) { o[0] += *(const v8 *)s; o[1] += *(const v8 *)(s + 8); } else { o[0] = *(const v8 *)s; o[1] = *(const v8 *)(s + 8); }
        } else if (add) {
            for (long j = 0; j < cols; j++) row[j] += s[j];
        } else {
            memcpy(row, s, (size_t)cols * sizeof(float));
        }
    }
}

// Packing buffers kept per thread between calls (at most 4.2 MiB): a fresh allocation of this
// size is a fresh mapping, whose page faults cost more than small products compute.
static float *thread_buffer(size_t need) {
    static __thread float *buffer = NULL;
    static __thread size_t capacity = 0;
    if (need > capacity) {
        free(buffer);
        buffer = aligned_alloc(64, (need * sizeof(float) + 63) / 64 * 64);
        if (!buffer) abort();
        capacity = need;
    }
    return buffer;
}

// The one loop nest behind the three entry points: A and B either packed here, block by block
// into this thread's buffer, or given packed whole (apacked: fg_sgemm_pack_a's layout, bpacked:
// fg_sgemm_pack_b's). Either way micro sees the same panels, so every element is the same chain.
static void gemm(long m, long n, long k, const float *a, long rsa, long csa, const float *apacked, const float *b, long rsb, long csb,
                 const float *bpacked, float *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    const long mpad = (m + MR - 1) / MR * MR, npad = (n + NR - 1) / NR * NR;
    const long ncMax = n < NC ? npad : NC, kcMax = k < KC ? k : KC, mcMax = m < MC ? mpad : MC;
    const long bFloats = bpacked ? 0 : ncMax * kcMax, aFloats = apacked ? 0 : mcMax * kcMax;
    float *buffer = bFloats + aFloats > 0 ? thread_buffer((size_t)(bFloats + aFloats)) : NULL;
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC;
            const int add = accumulate || pc > 0;
            const float *bq = bpacked ? bpacked + pc * npad + jc * kc : buffer;
            if (!bpacked) {
                for (long jr = 0; jr < nc; jr += NR) {
                    const long cols = nc - jr < NR ? nc - jr : NR;
                    pack_b(cols, kc, b + pc * rsb + (jc + jr) * csb, rsb, csb, buffer + jr * kc);
                }
            }
            for (long ic = 0; ic < m; ic += MC) {
                const long mc = m - ic < MC ? m - ic : MC;
                const float *aq = apacked ? apacked + pc * mpad + ic * kc : buffer + bFloats;
                if (!apacked) pack_a(mc, kc, a + ic * rsa + pc * csa, rsa, csa, buffer + bFloats);
                for (long jr = 0; jr < nc; jr += NR) {
                    const long cols = nc - jr < NR ? nc - jr : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        const long rows = mc - ir < MR ? mc - ir : MR;
                        micro(kc, aq + ir * kc, bq + jr * kc, c + (ic + ir) * ldc + jc + jr, ldc, rows, cols, add);
                    }
                }
            }
        }
    }
}

void fg_sgemm(long m, long n, long k, const float *a, long rsa, long csa, const float *b, long rsb, long csb,
              float *c, long ldc, int accumulate) {
    gemm(m, n, k, a, rsa, csa, NULL, b, rsb, csb, NULL, c, ldc, accumulate);
}

// Shared B. Why: a product split over threads by blocks of C packed the same B columns once per
// row block and the same A rows once per column block; for contextual attention's products
// (36,000 × 500 × 1,728 and 3,072 × 400 × 4,096 per chunk) that packing was a quarter of the
// time. Here B is packed once, in parallel, and each thread packs only its own rows of A.
// The loops and micro-kernel are fg_sgemm's, so every element is the same chain.
long fg_sgemm_packed_floats(long n, long k) { return k * ((n + NR - 1) / NR * NR); }
long fg_sgemm_packed_panels(long n, long k) { return ((k + KC - 1) / KC) * ((n + NR - 1) / NR); }

void fg_sgemm_pack_b(long n, long k, const float *b, long rsb, long csb, float *bp, long first, long end) {
    const long panels = (n + NR - 1) / NR, npad = panels * NR;
    for (long id = first; id < end; id++) {
        const long pc = (id / panels) * KC, jr = (id % panels) * NR;
        const long kc = k - pc < KC ? k - pc : KC, cols = n - jr < NR ? n - jr : NR;
        pack_b(cols, kc, b + pc * rsb + jr * csb, rsb, csb, bp + pc * npad + jr * kc);
    }
}

void fg_sgemm_packed(long m, long n, long k, const float *a, long rsa, long csa, const float *bp, float *c, long ldc, int accumulate) {
    gemm(m, n, k, a, rsa, csa, NULL, NULL, 0, 0, bp, c, ldc, accumulate);
}

// Pre-packed A. Why: Winograd multiplies the same transformed weights (36 matrices of
// outChannels × inChannels) by every piece's 128 tiles; packing them again for each piece was
// 15 % of a 512² run. The weights are packed once, when transformed, in the layout pack_a
// writes: k block pc (rows pc·mpad …), then panels of MR rows, each kc × MR.
long fg_sgemm_packed_a_floats(long m, long k) { return k * ((m + MR - 1) / MR * MR); }

void fg_sgemm_pack_a(long m, long k, const float *a, long rsa, long csa, float *ap) {
    const long mpad = (m + MR - 1) / MR * MR;
    for (long pc = 0; pc < k; pc += KC) pack_a(m, k - pc < KC ? k - pc : KC, a + pc * csa, rsa, csa, ap + pc * mpad);
}

void fg_sgemm_prepacked(long m, long n, long k, const float *ap, const float *b, long rsb, long csb, float *c, long ldc, int accumulate) {
    gemm(m, n, k, NULL, 0, 0, ap, b, rsb, csb, NULL, c, ldc, accumulate);
}
