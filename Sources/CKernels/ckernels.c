#include "ckernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

// Element i is read, then element i written, so the loops are safe in place (y == x), which the
// epilogues use; without this the compiler's overlap check sends in-place calls to a scalar loop.
#if defined(__clang__)
#define FG_ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")
#else
#define FG_ELEMENTWISE
#endif

// Cephes expf: n = round(x·log2 e) (by adding 1.5·2^23), r = x − n·ln 2 in two parts, a degree-6
// polynomial, then 2^n through the exponent bits. Within 2 ulp of expf on [−87.33, 88.37];
// clamped outside. Written branch-free so the loops vectorise.
static inline float exp_approx(float x) {
    x = x < -87.33f ? -87.33f : x;
    x = x > 88.37f ? 88.37f : x;
    float t = x * 1.44269504f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.33345190e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.00000012e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, 4);
    uint32_t bits = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}

// Cephes tanhf: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above (with the sign
// put back); within a few ulp of tanhf, branch-free so the loops vectorise.
static inline float tanh_approx(float x) {
    float ax = x < 0 ? -x : x;
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z
                   - 3.33332819422e-1f) * z * x + x;
    float big = 1.0f - 2.0f / (exp_approx(2.0f * (ax < 44.0f ? ax : 44.0f)) + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

float fg_tanh(float x) { return tanh_approx(x); }

static inline float activate1(int act, float alpha, float x) {
    switch (act) {
    case FG_ELU: return x > 0 ? x : alpha * (exp_approx(x < 0 ? x : 0) - 1.0f);
    case FG_RELU: return x > 0 ? x : 0;
    case FG_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case FG_SIGMOID: return 1.0f / (1.0f + exp_approx(-x));
    case FG_TANH: return tanh_approx(x);
    default: return x;
    }
}

float fg_exp(float x) { return exp_approx(x); }

// One loop per activation, each with the activation a constant, so every loop is a plain
// vectorisable one (activate1 inlines to its single case).
#define FG_ACTIVATE_LOOP(ACT)                                                          \
    FG_ELEMENTWISE                                                                     \
    for (size_t i = 0; i < n; i++) y[i] = activate1(ACT, alpha, x[i] + bias);

FG_CLONES
void fg_activate(int act, float alpha, const float *x, float bias, float *y, size_t n) {
    switch (act) {
    case FG_ELU: FG_ACTIVATE_LOOP(FG_ELU) break;
    case FG_RELU: FG_ACTIVATE_LOOP(FG_RELU) break;
    case FG_LEAKY_RELU: FG_ACTIVATE_LOOP(FG_LEAKY_RELU) break;
    case FG_SIGMOID: FG_ACTIVATE_LOOP(FG_SIGMOID) break;
    case FG_TANH: FG_ACTIVATE_LOOP(FG_TANH) break;
    default: FG_ACTIVATE_LOOP(FG_IDENTITY) break;
    }
}

#define FG_GATE_LOOP(ACT)                                                                   \
    FG_ELEMENTWISE                                                                          \
    for (size_t i = 0; i < n; i++) {                                                        \
        float s = 1.0f / (1.0f + exp_approx(-(gate[i] + gate_bias)));                       \
        out[i] = activate1(ACT, alpha, feature[i] + feature_bias) * s;                      \
    }

FG_CLONES
void fg_gate(int act, float alpha, const float *feature, float feature_bias,
             const float *gate, float gate_bias, float *out, size_t n) {
    switch (act) {
    case FG_ELU: FG_GATE_LOOP(FG_ELU) break;
    case FG_RELU:  // relu(v)/(1 + e^−g): one division instead of a reciprocal and a product
        FG_ELEMENTWISE
        for (size_t i = 0; i < n; i++) {
            float v = feature[i] + feature_bias;
            out[i] = (v > 0 ? v : 0) / (1.0f + exp_approx(-(gate[i] + gate_bias)));
        }
        break;
    case FG_LEAKY_RELU: FG_GATE_LOOP(FG_LEAKY_RELU) break;
    case FG_SIGMOID: FG_GATE_LOOP(FG_SIGMOID) break;
    case FG_TANH: FG_GATE_LOOP(FG_TANH) break;
    default: FG_GATE_LOOP(FG_IDENTITY) break;
    }
}

FG_CLONES
float fg_scaled_exp(const float *x, float scale, float shift, float *y, size_t n) {
    // Eight partial sums in a fixed pattern, then added in a fixed order: deterministic and
    // vectorisable.
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; k++) {
            float e = exp_approx(x[i + k] * scale - shift);
            y[i + k] = e;
            acc[k] += e;
        }
    }
    for (; i < n; i++) {
        float e = exp_approx(x[i] * scale - shift);
        y[i] = e;
        acc[i & 7] += e;
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Three passes (max, exp and sum, normalise and argmax) over rows 0 ..< rows of n ≤ 16
// columns in one call: a call per row and block was what the softmax cost. Inlined with n = 16
// (every block but a chunk's last), the compiler keeps the 16 columns in two vector registers
// and vectorises all three passes; with n unknown it left the division and argmax scalar.
static inline __attribute__((always_inline)) void softmax_block(float *s, long ld, long n, long rows, float scale, long masked,
                                                                const int32_t *index, int32_t *argmax) {
    float shift[16], sum[16], best[16];
    int32_t bestIndex[16];
    for (long j = 0; j < n; j++) { shift[j] = masked > 0 || rows == 0 ? 0 : -INFINITY; sum[j] = 0; best[j] = 0; bestIndex[j] = 0; }
    for (long v = 0; v < rows; v++) {
        const float *x = s + v * ld;
        for (long j = 0; j < n; j++) { float t = x[j] * scale; shift[j] = t >= shift[j] ? t : shift[j]; }
    }
    for (long v = 0; v < rows; v++) {
        float *x = s + v * ld;
        for (long j = 0; j < n; j++) { float e = exp_approx(x[j] * scale - shift[j]); x[j] = e; sum[j] += e; }
    }
    if (masked > 0) for (long j = 0; j < n; j++) sum[j] += (float)masked * exp_approx(-shift[j]);
    if (n == 16) {  // the same divisions and first-largest selection, as vectors
        typedef float f8 __attribute__((vector_size(32), aligned(4)));
        typedef int32_t i8 __attribute__((vector_size(32), aligned(4)));
        const f8 d0 = *(const f8 *)sum, d1 = *(const f8 *)(sum + 8);
        f8 b0 = {0}, b1 = {0};
        i8 k0 = {0}, k1 = {0};
        for (long v = 0; v < rows; v++) {
            float *x = s + v * ld;
            const f8 t0 = *(f8 *)x / d0, t1 = *(f8 *)(x + 8) / d1;
            *(f8 *)x = t0;
            *(f8 *)(x + 8) = t1;
            const i8 m0 = t0 > b0, m1 = t1 > b1, iv = (i8){0} + index[v];
            b0 = (f8)(((i8)t0 & m0) | ((i8)b0 & ~m0));
            b1 = (f8)(((i8)t1 & m1) | ((i8)b1 & ~m1));
            k0 = (iv & m0) | (k0 & ~m0);
            k1 = (iv & m1) | (k1 & ~m1);
        }
        *(i8 *)argmax = k0;
        *(i8 *)(argmax + 8) = k1;
        return;
    }
    for (long v = 0; v < rows; v++) {
        float *x = s + v * ld;
        for (long j = 0; j < n; j++) {
            float t = x[j] / sum[j];
            x[j] = t;
            int better = t > best[j];
            best[j] = better ? t : best[j];
            bestIndex[j] = better ? index[v] : bestIndex[j];
        }
    }
    for (long j = 0; j < n; j++) argmax[j] = bestIndex[j];
}

FG_CLONES
void fg_softmax_columns(float *s, long ld, long n, long rows, float scale, long masked, const int32_t *index, int32_t *argmax) {
    if (n == 16) softmax_block(s, ld, 16, rows, scale, masked, index, argmax);
    else softmax_block(s, ld, n, rows, scale, masked, index, argmax);
}

