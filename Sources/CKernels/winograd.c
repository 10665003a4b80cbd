// Winograd F(4×4, 3×3) transforms (Lavin & Gray, arXiv 1509.09308) for 3×3 stride-1 convolutions
// with dilation d and zero padding d on every side. A dilated convolution is d² independent dense
// ones, one per phase (py, px) — the pixels whose row ≡ py and column ≡ px (mod d) — so tiles
// are taken per phase by reading the input with stride d: that is the dilation lowering, with
// no layout change to undo. A tile row is (py, px, ty); its tiles cover phase columns 4j … 4j+3.
// Every loop's inner dimension is a contiguous run of tiles, so the compiler vectorises them:
// the six input rows of a tile row are first gathered de-interleaved by column mod 4, then
// transformed vertically (Bᵀ d) and horizontally (· B). V, M and Y are [·][channels][tiles].
#include "ckernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

static long phase_extent(long n, long p, long d) { return n > p ? (n - p + d - 1) / d : 0; }

// Bᵀ (6 × 6) applied to six values: o[0], o[stride], …, o[5·stride].
static inline void bt6(float d0, float d1, float d2, float d3, float d4, float d5, float *o, long stride) {
    o[0] = 4 * d0 - 5 * d2 + d4;
    o[stride] = -4 * d1 - 4 * d2 + d3 + d4;
    o[2 * stride] = 4 * d1 - 4 * d2 - d3 + d4;
    o[3 * stride] = -2 * d1 - d2 + 2 * d3 + d4;
    o[4 * stride] = 2 * d1 - d2 - 2 * d3 + d4;
    o[5 * stride] = 4 * d1 - 5 * d3 + d5;
}

// Aᵀ (4 × 6) applied to six values: o[0], o[stride], o[2·stride], o[3·stride].
static inline void at6(float m0, float m1, float m2, float m3, float m4, float m5, float *o, long stride) {
    const float a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    o[0] = m0 + a + c;
    o[stride] = b + 2 * d;
    o[2 * stride] = a + 4 * c;
    o[3 * stride] = b + 8 * d + m5;
}

static void *checked_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) abort();  // a few rows of floats; failing here means the machine is out of memory
    return p;
}

FG_CLONES
static long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void fg_winograd_input(const float *x, long C, long H, long W, long d, const long *rows, long nrows, float *V, long T) {
    fg_winograd_input_window(x, C, H, W, 0, 0, H, W, d, rows, nrows, V, T);
}

void fg_winograd_input_window(const float *x, long C, long Hin, long Win, long oy, long ox, long H, long W, long d,
                              const long *rows, long nrows, float *V, long T) {
    const long Wmax = phase_extent(W, 0, d), n = (Wmax + 3) / 4 + 1;
    float *buf = checked_malloc(2 * 24 * (size_t)n * sizeof(float)), *e = buf + 24 * n;
    const long plane = C * T;
    for (long c = 0; c < C; c++) {
        const float *xc = x + c * Hin * Win;
        long off = 0;
        for (long r = 0; r < nrows; r++) {
            const long py = rows[3 * r], px = rows[3 * r + 1], ty = rows[3 * r + 2];
            const long Wp = phase_extent(W, px, d), tw = (Wp + 3) / 4, m = tw + 1;
            // buf[a][k][j] = phase pixel (4·ty + a − 1, 4j + k − 1) of the output grid, read at
            // input row py + d·row + oy and column px + d·col + ox: zero outside the held input.
            // Tiles jlo ..< jhi have all four columns inside; that loop has no checks and, for
            // d = 1, its stride-4 loads vectorise as de-interleaving shuffles.
            const long c0 = -floor_div(px + ox, d), c1 = floor_div(Win - 1 - px - ox, d);  // phase columns inside
            const long jlo = floor_div(c0 + 1 + 3, 4), jhi = floor_div(c1 - 2, 4) + 1 < m ? floor_div(c1 - 2, 4) + 1 : m;
            for (long a = 0; a < 6; a++) {
                const long iy = py + d * (4 * ty + a - 1) + oy;
                float *d0 = buf + (a * 4) * m, *d1 = d0 + m, *d2 = d0 + 2 * m, *d3 = d0 + 3 * m;
                if (iy < 0 || iy >= Hin) {
                    for (long j = 0; j < 4 * m; j++) d0[j] = 0;
                    continue;
                }
                const float *src = xc + iy * Win + px + ox;
                for (long j = 0; j < m; j++) {
                    if (j >= jlo && j < jhi) {
                        if (d == 1) {
                            const float *q = src + 4 * j - 1;
                            for (; j < jhi; j++, q += 4) { d0[j] = q[0]; d1[j] = q[1]; d2[j] = q[2]; d3[j] = q[3]; }
                        } else {
                            for (; j < jhi; j++) {
                                const float *q = src + d * (4 * j - 1);
                                d0[j] = q[0]; d1[j] = q[d]; d2[j] = q[2 * d]; d3[j] = q[3 * d];
                            }
                        }
                        if (j >= m) break;
                    }
                    for (long k = 0; k < 4; k++) {
                        const long cp = 4 * j + k - 1, ix = px + d * cp + ox;
                        d0[k * m + j] = ix >= 0 && ix < Win ? src[d * cp] : 0;
                    }
                }
            }
            // e = Bᵀ buf over a, for every (k, j) at once.
            const long L = 4 * m;
            for (long i = 0; i < L; i++) bt6(buf[i], buf[L + i], buf[2 * L + i], buf[3 * L + i], buf[4 * L + i], buf[5 * L + i], e + i, L);
            // V[a·6 + b][c][tile] = (e B)[a][b]: the tile's columns are k = 0…3 of j and k = 0, 1 of j + 1.
            for (long a = 0; a < 6; a++) {
                const float *E0 = e + a * L, *E1 = E0 + m, *E2 = E0 + 2 * m, *E3 = E0 + 3 * m;
                float *v = V + (a * 6) * plane + c * T + off;
                for (long j = 0; j < tw; j++) bt6(E0[j], E1[j], E2[j], E3[j], E0[j + 1], E1[j + 1], v + j, plane);
            }
            off += tw;
        }
    }
    free(buf);
}

FG_CLONES
void fg_winograd_output(const float *M, long K, long T, float *Y) {
    float *s = checked_malloc(24 * (size_t)T * sizeof(float));
    const long plane = K * T;
    for (long k = 0; k < K; k++) {
        for (long b = 0; b < 6; b++) {  // s[a][b] = (Aᵀ m)[a][b]
            const float *m0 = M + b * plane + k * T, *m1 = m0 + 6 * plane, *m2 = m0 + 12 * plane, *m3 = m0 + 18 * plane,
                        *m4 = m0 + 24 * plane, *m5 = m0 + 30 * plane;
            for (long t = 0; t < T; t++) at6(m0[t], m1[t], m2[t], m3[t], m4[t], m5[t], s + b * T + t, 6 * T);
        }
        for (long r = 0; r < 4; r++) {  // Y[k][r][·] = (s A)[r][·]
            const float *s0 = s + r * 6 * T, *s1 = s0 + T, *s2 = s0 + 2 * T, *s3 = s0 + 3 * T, *s4 = s0 + 4 * T, *s5 = s0 + 5 * T;
            float *y = Y + (k * 16 + r * 4) * T;
            for (long t = 0; t < T; t++) at6(s0[t], s1[t], s2[t], s3[t], s4[t], s5[t], y + t, T);
        }
    }
    free(s);
}

FG_CLONES
void fg_winograd_scatter(const float *Y, long K, long T, long H, long W, long d, const long *rows, long nrows, float *out) {
    for (long k = 0; k < K; k++) {
        long off = 0;
        for (long r = 0; r < nrows; r++) {
            const long py = rows[3 * r], px = rows[3 * r + 1], ty = rows[3 * r + 2];
            const long Hp = phase_extent(H, py, d), Wp = phase_extent(W, px, d), tw = (Wp + 3) / 4;
            // Whole tiles (all four columns inside the phase) first: for d = 1 the four rows of a
            // tile row interleave into one contiguous output row, which vectorises.
            const long whole = Wp / 4;
            for (long dy = 0; dy < 4; dy++) {
                const long rp = 4 * ty + dy;
                if (rp >= Hp) break;
                const float *s0 = Y + (k * 16 + dy * 4) * T + off, *s1 = s0 + T, *s2 = s0 + 2 * T, *s3 = s0 + 3 * T;
                float *row = out + (k * H + py + d * rp) * W + px;
                if (d == 1) {
                    for (long j = 0; j < whole; j++) { row[4 * j] = s0[j]; row[4 * j + 1] = s1[j]; row[4 * j + 2] = s2[j]; row[4 * j + 3] = s3[j]; }
                } else {
                    for (long j = 0; j < whole; j++) {
                        float *q = row + d * 4 * j;
                        q[0] = s0[j]; q[d] = s1[j]; q[2 * d] = s2[j]; q[3 * d] = s3[j];
                    }
                }
                for (long j = whole; j < tw; j++) {  // the last, partial tile
                    const float *src[4] = {s0, s1, s2, s3};
                    for (long dx = 0; dx < 4 && 4 * j + dx < Wp; dx++) row[d * (4 * j + dx)] = src[dx][j];
                }
            }
            off += tw;
        }
    }
}

// A (6 × 4) applied to four values — the adjoint of at6: o[0], o[stride], …, o[5·stride].
static inline void a4(float g0, float g1, float g2, float g3, float *o, long stride) {
    o[0] = g0;
    o[stride] = g0 + g1 + g2 + g3;
    o[2 * stride] = g0 - g1 + g2 - g3;
    o[3 * stride] = g0 + 2 * g1 + 4 * g2 + 8 * g3;
    o[4 * stride] = g0 - 2 * g1 + 4 * g2 - 8 * g3;
    o[5 * stride] = g3;
}

// The adjoint of fg_winograd_output + fg_winograd_scatter, for weight gradients: gathers the
// 4×4 output-gradient tiles of the given tile rows (zero where the forward scatter cropped) and
// writes dM[a·6 + b][k][tile] = (A dY Aᵀ)[a][b].
FG_CLONES
void fg_winograd_output_adjoint(const float *dy, long K, long H, long W, long d, const long *rows, long nrows, float *dM, long T) {
    float *g = checked_malloc(16 * (size_t)T * sizeof(float)), *s = checked_malloc(24 * (size_t)T * sizeof(float));
    const long plane = K * T;
    for (long k = 0; k < K; k++) {
        long off = 0;
        for (long r = 0; r < nrows; r++) {  // g[r4][c4][tile]
            const long py = rows[3 * r], px = rows[3 * r + 1], ty = rows[3 * r + 2];
            const long Hp = phase_extent(H, py, d), Wp = phase_extent(W, px, d), tw = (Wp + 3) / 4;
            for (long r4 = 0; r4 < 4; r4++) {
                const long rp = 4 * ty + r4;
                for (long c4 = 0; c4 < 4; c4++) {
                    float *dst = g + (r4 * 4 + c4) * T + off;
                    if (rp >= Hp) { for (long j = 0; j < tw; j++) dst[j] = 0; continue; }
                    const float *row = dy + (k * H + py + d * rp) * W + px;
                    for (long j = 0; j < tw; j++) { const long cp = 4 * j + c4; dst[j] = cp < Wp ? row[d * cp] : 0; }
                }
            }
            off += tw;
        }
        // s[a][c4] = (A g)[a][c4], then dM[a][b] = (s Aᵀ)[a][b].
        for (long c4 = 0; c4 < 4; c4++) {
            const float *g0 = g + c4 * T, *g1 = g0 + 4 * T, *g2 = g0 + 8 * T, *g3 = g0 + 12 * T;
            for (long t = 0; t < T; t++) a4(g0[t], g1[t], g2[t], g3[t], s + c4 * T + t, 4 * T);
        }
        for (long a = 0; a < 6; a++) {
            const float *s0 = s + a * 4 * T, *s1 = s0 + T, *s2 = s0 + 2 * T, *s3 = s0 + 3 * T;
            float *m = dM + (a * 6) * plane + k * T;
            for (long t = 0; t < T; t++) a4(s0[t], s1[t], s2[t], s3[t], m + t, plane);
        }
    }
    free(g);
    free(s);
}
