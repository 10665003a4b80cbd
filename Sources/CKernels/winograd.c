// Winograd F(4×4, 3×3) transforms (Lavin & Gray, arXiv 1509.09308) for 3×3 stride-1 convolutions
// padded by one pixel on every side: each 4×4 output tile comes from a 6×6 input patch,
// V = Bᵀ d B, M = U ⊙ V summed over input channels (36 GEMMs, done by the caller), Y = Aᵀ M A.
// Each tile row's six input rows are first copied into a zero-bordered buffer, so the tile loop
// has no bounds checks and vectorises; the layouts give the GEMMs contiguous [channels × tiles].
#include "ckernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

// Bᵀ applied to one column (or row) of six values.
#define BT6(o, d0, d1, d2, d3, d4, d5)            \
    o[0] = 4 * (d0) - 5 * (d2) + (d4);            \
    o[1] = -4 * (d1) - 4 * (d2) + (d3) + (d4);    \
    o[2] = 4 * (d1) - 4 * (d2) - (d3) + (d4);     \
    o[3] = -2 * (d1) - (d2) + 2 * (d3) + (d4);    \
    o[4] = 2 * (d1) - (d2) - 2 * (d3) + (d4);     \
    o[5] = 4 * (d1) - 5 * (d3) + (d5);

FG_CLONES
void fg_winograd_input(const float *x, long C, long H, long W, long row0, long rows, float *V, long T) {
    const long tw = (W + 3) / 4, stride = 4 * tw + 2;
    float *rowsbuf = malloc(6 * (size_t)stride * sizeof(float));
    if (!rowsbuf) abort();  // six rows of floats; failing here means the machine is out of memory
    const long plane36 = C * T;
    for (long c = 0; c < C; c++) {
        const float *plane = x + c * H * W;
        for (long r = 0; r < rows; r++) {
            const long y0 = 4 * (row0 + r) - 1;
            for (int a = 0; a < 6; a++) {
                float *buf = rowsbuf + a * stride;
                const long y = y0 + a;
                for (long i = 0; i < stride; i++) buf[i] = 0;
                if (y >= 0 && y < H) memcpy(buf + 1, plane + y * W, (size_t)W * sizeof(float));
            }
            float *v = V + c * T + r * tw;
            for (long j = 0; j < tw; j++) {
                const float *b0 = rowsbuf + 4 * j;
                float d[6][6], e[6][6], o[6];
                for (int a = 0; a < 6; a++)
                    for (int b = 0; b < 6; b++) d[a][b] = b0[a * stride + b];
                for (int b = 0; b < 6; b++) {  // Bᵀ d, column by column
                    BT6(o, d[0][b], d[1][b], d[2][b], d[3][b], d[4][b], d[5][b]);
                    for (int a = 0; a < 6; a++) e[a][b] = o[a];
                }
                for (int a = 0; a < 6; a++) {  // (Bᵀ d) B, row by row
                    BT6(o, e[a][0], e[a][1], e[a][2], e[a][3], e[a][4], e[a][5]);
                    for (int b = 0; b < 6; b++) v[(a * 6 + b) * plane36 + j] = o[b];
                }
            }
        }
    }
    free(rowsbuf);
}

// Aᵀ applied to six values.
#define AT6(o, m0, m1, m2, m3, m4, m5)                    \
    o[0] = (m0) + (m1) + (m2) + (m3) + (m4);              \
    o[1] = (m1) - (m2) + 2 * (m3) - 2 * (m4);             \
    o[2] = (m1) + (m2) + 4 * (m3) + 4 * (m4);             \
    o[3] = (m1) - (m2) + 8 * (m3) - 8 * (m4) + (m5);

FG_CLONES
void fg_winograd_output(const float *M, long K, long T, float *Y) {
    for (long k = 0; k < K; k++) {
        for (long t = 0; t < T; t++) {
            float m[6][6], s[4][6], o[4];
            for (int a = 0; a < 6; a++)
                for (int b = 0; b < 6; b++) m[a][b] = M[((a * 6 + b) * K + k) * T + t];
            for (int b = 0; b < 6; b++) {  // Aᵀ m
                AT6(o, m[0][b], m[1][b], m[2][b], m[3][b], m[4][b], m[5][b]);
                for (int a = 0; a < 4; a++) s[a][b] = o[a];
            }
            for (int a = 0; a < 4; a++) {  // (Aᵀ m) A
                AT6(o, s[a][0], s[a][1], s[a][2], s[a][3], s[a][4], s[a][5]);
                for (int b = 0; b < 4; b++) Y[((k * 4 + a) * 4 + b) * T + t] = o[b];
            }
        }
    }
}

/// Writes the 4×4 tiles Y[k][pos][t] of tile rows row0 ..< row0+rows into out[k][H][W], cropping
/// at the bottom and right edges.
FG_CLONES
void fg_winograd_scatter(const float *Y, long K, long T, long row0, long rows, long H, long W, float *out) {
    const long tw = (W + 3) / 4;
    for (long k = 0; k < K; k++) {
        for (int pos = 0; pos < 16; pos++) {
            const int dy = pos / 4, dx = pos % 4;
            const float *src = Y + (k * 16 + pos) * T;
            const long n = (W - dx + 3) / 4;  // columns 4j+dx < W
            for (long r = 0; r < rows; r++) {
                const long oy = 4 * (row0 + r) + dy;
                if (oy >= H) continue;
                float *dst = out + (k * H + oy) * W + dx;
                const float *s = src + r * tw;
                for (long j = 0; j < n; j++) dst[4 * j] = s[j];
            }
        }
    }
}
