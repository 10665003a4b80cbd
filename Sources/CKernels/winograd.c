// Winograd F(2×2, 3×3) transforms (Lavin & Gray, arXiv 1509.09308) for 3×3 stride-1 convolutions
// padded by one pixel on every side: each 2×2 output tile comes from a 4×4 input patch,
// V = Bᵀ d B, M = U ⊙ V summed over input channels (16 GEMMs, done by the caller), Y = Aᵀ M A.
// Laid out so the 16 GEMMs see contiguous [channels × tiles] matrices; loops run over tiles of
// a tile row, which the compiler vectorises.
#include "ckernels.h"

#if defined(__x86_64__) && defined(__clang__)
#define FG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FG_CLONES
#endif

static inline float at(const float *plane, long H, long W, long y, long x) {
    return (y >= 0 && y < H && x >= 0 && x < W) ? plane[y * W + x] : 0.0f;
}

FG_CLONES
void fg_winograd_input(const float *x, long C, long H, long W, long row0, long rows, float *V, long T) {
    const long tw = (W + 1) / 2;
    for (long c = 0; c < C; c++) {
        const float *plane = x + c * H * W;
        for (long r = 0; r < rows; r++) {
            const long ty = row0 + r, y0 = 2 * ty - 1;
            for (long j = 0; j < tw; j++) {
                const long x0 = 2 * j - 1, t = r * tw + j;
                float d[4][4];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) d[a][b] = at(plane, H, W, y0 + a, x0 + b);
                float e[4][4];  // Bᵀ d
                for (int b = 0; b < 4; b++) {
                    e[0][b] = d[0][b] - d[2][b];
                    e[1][b] = d[1][b] + d[2][b];
                    e[2][b] = d[2][b] - d[1][b];
                    e[3][b] = d[1][b] - d[3][b];
                }
                for (int a = 0; a < 4; a++) {  // (Bᵀ d) B
                    float v0 = e[a][0] - e[a][2], v1 = e[a][1] + e[a][2], v2 = e[a][2] - e[a][1], v3 = e[a][1] - e[a][3];
                    V[((a * 4 + 0) * C + c) * T + t] = v0;
                    V[((a * 4 + 1) * C + c) * T + t] = v1;
                    V[((a * 4 + 2) * C + c) * T + t] = v2;
                    V[((a * 4 + 3) * C + c) * T + t] = v3;
                }
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
