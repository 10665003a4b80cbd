// Elementwise float kernels in C, because they need AVX2+FMA to be fast and Swift cannot compile
// one function for two instruction sets: each is built twice (x86-64-v3 and baseline) and the
// loader picks the clone the CPU supports (GNU ifunc, `target_clones`). Measured on the 2-core
// development VM, in cache: the gate costs 1.5 ns per element here against 7 ns with Swift
// SIMD8 at the baseline ISA. Results are deterministic on a given CPU; a CPU without AVX2/FMA
// runs the baseline clone, whose roundings differ in the last bit.
#ifndef FILLGRAPH_CKERNELS_H
#define FILLGRAPH_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

enum fg_activation {
    FG_IDENTITY = 0,
    FG_ELU = 1,
    FG_RELU = 2,
    FG_LEAKY_RELU = 3,
    FG_SIGMOID = 4,
    FG_TANH = 5,
};

/// y[i] = act(x[i] + bias); x and y may alias.
void fg_activate(int act, float alpha, const float *x, float bias, float *y, size_t n);

/// out[i] = act(feature[i] + feature_bias) * sigmoid(gate[i] + gate_bias); out may alias feature.
void fg_gate(int act, float alpha, const float *feature, float feature_bias,
             const float *gate, float gate_bias, float *out, size_t n);

/// y[i] = exp(x[i] * scale - shift); returns the sum of y in a fixed order.
float fg_scaled_exp(const float *x, float scale, float shift, float *y, size_t n);

/// Winograd F(4×4,3×3) with dilation d (padding d): `rows` holds nrows triples (py, px, ty) —
/// a tile row of phase (py, px) — whose tiles are columns 0 ..< T of V, in order.
/// Input planes x[C][H][W] → V[36][C][T].
void fg_winograd_input(const float *x, long C, long H, long W, long d, const long *rows, long nrows, float *V, long T);
/// The same for an output window of an H×W grid read from a held input of Hin×Win: output
/// pixel (y, x) taps input (y + oy + (a − 1)·d, x + ox + (b − 1)·d), zero outside the held input.
void fg_winograd_input_window(const float *x, long C, long Hin, long Win, long oy, long ox, long H, long W, long d,
                              const long *rows, long nrows, float *V, long T);

/// Y[K][4][4][T] of those tile rows → out[K][H][W] (cropping at the phase edges).
void fg_winograd_scatter(const float *Y, long K, long T, long H, long W, long d, const long *rows, long nrows, float *out);

/// M[36][K][T] → Y[K][4][4][T] (output rows, columns of each tile).
void fg_winograd_output(const float *M, long K, long T, float *Y);
// The adjoint of the output transform and scatter (weight gradients): dM = A dY Aᵀ per tile.
void fg_winograd_output_adjoint(const float *dy, long K, long H, long W, long d, const long *rows, long nrows, float *dM, long T);

/// Contextual attention's softmax over `rows` rows (row stride ld) of n ≤ 16 columns, in place:
/// the max of scale·x, exp(scale·x − max) summed (plus `masked` terms exp(−max)), divided by the
/// sum; argmax[j] = index[v] of the first row with the largest weight (0 when all are 0).
void fg_softmax_columns(float *s, long ld, long n, long rows, float scale, long masked, const int32_t *index, int32_t *argmax);

/// exp(x), the same function the kernels above use (for tests).
float fg_exp(float x);

/// tanh(x), the same function the kernels above use (for tests).
float fg_tanh(float x);


/// CPU features usable here (the CPU has them and the OS saves their registers).
enum fg_cpu_feature {
    FG_CPU_SSE42 = 1 << 0,
    FG_CPU_AVX = 1 << 1,
    FG_CPU_AVX2 = 1 << 2,
    FG_CPU_FMA = 1 << 3,
    FG_CPU_AVX512F = 1 << 4,
    FG_CPU_AVX512DQ = 1 << 5,
    FG_CPU_AVX512BW = 1 << 6,
    FG_CPU_AVX512VL = 1 << 7,
    FG_CPU_AMX = 1 << 8,
};
uint32_t fg_cpu_features(void);
/// cpuid's vendor (12 chars + NUL), brand string (48 + NUL), family and model (display values).
void fg_cpu_name(char *vendor13, char *brand49, int *family, int *model);
/// Which clone of the elementwise kernels above runs on this CPU.
const char *fg_kernel_isa(void);

#endif

/// C[m×n] (row stride ldc) = (accumulate: +=) A·B, with A(i, p) = a[i·rsa + p·csa] and B(p, j) =
/// b[p·rsb + j·csb]. Each element is the same function of its row of A and column of B whatever
/// m, n and its place (fused multiply-add chains over k blocks of 512, in order): see gemm.c.
void fg_sgemm(long m, long n, long k, const float *a, long rsa, long csa, const float *b, long rsb, long csb,
              float *c, long ldc, int accumulate);

/// The same product with B packed once and shared by threads that each take rows of C:
/// fg_sgemm_pack_b writes panels [first, end) of B's packed form (fg_sgemm_packed_floats
/// floats in all, panel q·⌈n/16⌉ + j holding k block q and columns 16j …), then
/// fg_sgemm_packed computes rows of C from it. Elements equal fg_sgemm's bit for bit.
long fg_sgemm_packed_floats(long n, long k);
long fg_sgemm_packed_panels(long n, long k);
void fg_sgemm_pack_b(long n, long k, const float *b, long rsb, long csb, float *bp, long first, long end);
void fg_sgemm_packed(long m, long n, long k, const float *a, long rsa, long csa, const float *bp, float *c, long ldc, int accumulate);

/// A packed once (fg_sgemm_pack_a, fg_sgemm_packed_a_floats floats) and multiplied by many
/// B: fg_sgemm_prepacked. Elements equal fg_sgemm's bit for bit.
long fg_sgemm_packed_a_floats(long m, long k);
void fg_sgemm_pack_a(long m, long k, const float *a, long rsa, long csa, float *ap);
void fg_sgemm_prepacked(long m, long n, long k, const float *ap, const float *b, long rsb, long csb, float *c, long ldc, int accumulate);
