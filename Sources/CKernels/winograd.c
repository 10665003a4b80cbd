// Winograd F(2×2, 3×3) transforms (Lavin & Gray, arXiv 1509.09308) for 3×3 stride-1 convolutions
// padded by one pixel on every side: each 2×2 output tile comes from a 4×4 input patch,
// V = Bᵀ d B, M = U ⊙ V summed over input channels (16 GEMMs, done by the caller), Y = Aᵀ M A.
// Laid out so the 16 GEMMs see contiguous [channels × tiles] matrices; loops run over tiles of
// a tile row, which the compiler vectorises.
#include "ckernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

// Each tile row's four input rows are first copied into a zero-bordered buffer, so the tile loop
// has no bounds checks and vectorises (the patches overlap by two rows and two columns).
FG_CLONES
void fg_winograd_input(const float *x, long C, long H, long W, long row0, long rows, float *V, long T) {
    const long tw = (W + 1) / 2, stride = 2 * tw + 2;
    float *rowsbuf = malloc(4 * (size_t)stride * sizeof(float));
    if (!rowsbuf) abort();  // a few rows of floats; failing here means the machine is out of memory
    float *buf[4] = {rowsbuf, rowsbuf + stride, rowsbuf + 2 * stride, rowsbuf + 3 * stride};
    for (long c = 0; c < C; c++) {
        const float *plane = x + c * H * W;
        for (long r = 0; r < rows; r++) {
            const long y0 = 2 * (row0 + r) - 1;
            for (int a = 0; a < 4; a++) {
                const long y = y0 + a;
                for (long i = 0; i < stride; i++) buf[a][i] = 0;
                if (y >= 0 && y < H) memcpy(&buf[a][1], plane + y * W, (size_t)W * sizeof(float));
            }
            float *v = V + c * T + r * tw;
            const long plane16 = C * T;
            for (long j = 0; j < tw; j++) {
                const long x0 = 2 * j;
                float d[4][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) d[a][b] = buf[a][x0 + b];
                float e[4][4];  // Bᵀ d
                for (int b = 0; b < 4; b++) {
                    e[0][b] = d[0][b] - d[2][b];
                    e[1][b] = d[1][b] + d[2][b];
                    e[2][b] = d[2][b] - d[1][b];
                    e[3][b] = d[1][b] - d[3][b];
                }
                for (int a = 0; a < 4; a++) {  // (Bᵀ d) B
                    v[(a * 4 + 0) * plane16 + j] = e[a][0] - e[a][2];
                    v[(a * 4 + 1) * plane16 + j] = e[a][1] + e[a][2];
                    v[(a * 4 + 2) * plane16 + j] = e[a][2] - e[a][1];
                    v[(a * 4 + 3) * plane16 + j] = e[a][1] - e[a][3];
                }
            }
        }
    }
    free(rowsbuf);
}

/// Writes the 2×2 tiles Y[k][pos][t] of tile rows row0 ..< row0+rows into out[k][H][W], cropping
/// the last row/column when H or W is odd.
FG_CLONES
void fg_winograd_scatter(const float *Y, long K, long T, long row0, long rows, long H, long W, float *out) {
    const long tw = (W + 1) / 2;
    for (long k = 0; k < K; k++) {
        for (int pos = 0; pos < 4; pos++) {
            const int dy = pos / 2, dx = pos % 2;
            const float *src = Y + (k * 4 + pos) * T;
            const long n = (W - dx + 1) / 2;  // columns 2j+dx < W
            for (long r = 0; r < rows; r++) {
                const long oy = 2 * (row0 + r) + dy;
                if (oy >= H) continue;
                float *dst = out + (k * H + oy) * W + dx;
                const float *s = src + r * tw;
                for (long j = 0; j < n; j++) dst[2 * j] = s[j];
            }
        }
    }
}

FG_CLONES
void fg_winograd_output(const float *M, long K, long T, float *Y) {
    for (long k = 0; k < K; k++) {
        for (long t = 0; t < T; t++) {
            float m[4][4];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) m[a][b] = M[((a * 4 + b) * K + k) * T + t];
            float s[2][4];  // Aᵀ m
            for (int b = 0; b < 4; b++) {
                s[0][b] = m[0][b] + m[1][b] + m[2][b];
                s[1][b] = m[1][b] - m[2][b] - m[3][b];
            }
            for (int a = 0; a < 2; a++) {  // (Aᵀ m) A
                Y[((k * 2 + a) * 2 + 0) * T + t] = s[a][0] + s[a][1] + s[a][2];
                Y[((k * 2 + a) * 2 + 1) * T + t] = s[a][1] - s[a][2] - s[a][3];
            }
        }
    }
}
