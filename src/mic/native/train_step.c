/* One training step of a bank of small LSTM generators, 8 lanes per SIMD vector.
 *
 * Lanes are (sequence, generator) pairs with their own weights, grouped in blocks of 8 that sit
 * innermost in every array ([blocks, ..., 8]). numba's auto-vectoriser could not be made to run
 * loops over so few lanes as vectors (they stayed scalar or paid loop overhead at every step), which
 * is why this kernel is C with GCC/Clang vector extensions (portable: any target, any vector width).
 *
 * Maths as mic.training documents it: g-gate rows of w_in, w_rec and bias are doubled so that
 * tanh(z) = 2 sigmoid(2z) - 1 shares the sigmoid; w_hh_t is the plain recurrent weight,
 * transposed ([H, 4H]). Gradients are overwritten; d_w_rec is d loss / d w_hh, transposed.
 */
#include "lanes.h"

/* out[j] = sum_t m[t * n + j] for j < n, t < n_t. */
static inline void column_sums(v8 *restrict out, const v8 *restrict m, int n, int n_t) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        v8 a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < n_t; ++t) {
            const v8 *row = m + (long)t * n + j;
            a0 += row[0]; a1 += row[1]; a2 += row[2]; a3 += row[3];
        }
        out[j] = a0; out[j + 1] = a1; out[j + 2] = a2; out[j + 3] = a3;
    }
    for (; j < n; ++j) {
        v8 a = splat(0.0f);
        for (int t = 0; t < n_t; ++t) a += m[(long)t * n + j];
        out[j] = a;
    }
}

/* out[i * n_b + j] = sum_t a[t * n_a + i] * b[t * n_b + j] (i < n_a, j < n_b, t < n_t): a weight
 * gradient as a sum of outer products over time steps, 2 x 4 outputs at a time in registers. */
static inline void outer_sums(v8 *restrict out, const v8 *restrict a, int n_a, const v8 *restrict b, int n_b,
                              int n_t) {
    int i = 0;
    for (; i + 2 <= n_a; i += 2) {
        int j = 0;
        for (; j + 4 <= n_b; j += 4) {
            v8 c[2][4] = {{splat(0.0f)}};
            for (int u = 0; u < 2; ++u) for (int w = 0; w < 4; ++w) c[u][w] = splat(0.0f);
            for (int t = 0; t < n_t; ++t) {
                const v8 *ar = a + (long)t * n_a + i, *br = b + (long)t * n_b + j;
                for (int u = 0; u < 2; ++u) {
                    v8 au = ar[u];
                    for (int w = 0; w < 4; ++w) c[u][w] += au * br[w];
                }
            }
            for (int u = 0; u < 2; ++u) for (int w = 0; w < 4; ++w) out[(i + u) * n_b + j + w] = c[u][w];
        }
        for (; j < n_b; ++j)
            for (int u = 0; u < 2; ++u) {
                v8 c = splat(0.0f);
                for (int t = 0; t < n_t; ++t) c += a[(long)t * n_a + i + u] * b[(long)t * n_b + j];
                out[(i + u) * n_b + j] = c;
            }
    }
    for (; i < n_a; ++i)
        for (int j = 0; j < n_b; ++j) {
            v8 c = splat(0.0f);
            for (int t = 0; t < n_t; ++t) c += a[(long)t * n_a + i] * b[(long)t * n_b + j];
            out[i * n_b + j] = c;
        }
}

/* One step's forward and backward for every lane block.
 *
 * Arrays are [blocks, ..., 8]; a block's slice of an array with n vectors per block starts at
 * block * n. Time is the outer loop and blocks the inner one, so the blocks' independent
 * dependency chains overlap in the CPU (one block alone waits on FMA and exp latencies).
 * Scratch needs mic_train_scratch_floats(n_blocks, n_t, h, n_o) floats.
 */
long mic_train_scratch_floats(int n_blocks, int n_t, int h, int n_o) {
    return 8L * n_blocks * ((long)n_t * 4 * h + 3L * (n_t + 1) * h + (long)n_t * n_o + 2L * h);
}

void mic_train_step(int n_blocks, int n_t, int h, int n_o, int n_i, float scale,
                    const float *w_in, const float *w_rec, const float *w_hh_t, const float *bias,
                    const float *w_out, const float *b_out, const float *x0, const float *target,
                    float *d_w_in, float *d_w_rec, float *d_b, float *d_w_out, float *d_b_out, float *sq,
                    float *scratch) {
    const int h4 = 4 * h;
    const long n_gates = (long)n_t * h4, n_state = (long)(n_t + 1) * h, n_dy = (long)n_t * n_o;
    const long per_block = n_gates + 3 * n_state + n_dy + 2L * h;
    const v8 zero = splat(0.0f);
#define VIEW(base, n) ((v8 *)(base) + blk * (long)(n))
#define GATES VIEW(scratch, per_block)                 /* [T, 4H]; the backward overwrites them with dz */
#define CELL (GATES + n_gates)                         /* [T+1, H], slot 0 = zero state */
#define TCELL (CELL + n_state)                         /* [T+1, H], tanh of the cell, slot t+1 for step t */
#define HID (TCELL + n_state)                          /* [T+1, H], slot 0 = zero state */
#define DY (HID + n_state)                             /* [T, O]: scale * error */
#define DH (DY + n_dy)                                 /* [H] */
#define DC (DH + h)                                    /* [H] */
    for (int blk = 0; blk < n_blocks; ++blk) {
        for (int k = 0; k < h; ++k) { CELL[k] = zero; HID[k] = zero; DH[k] = zero; DC[k] = zero; }
        VIEW(sq, 1)[0] = zero;
    }
    for (int t = 0; t < n_t; ++t) {
        for (int blk = 0; blk < n_blocks; ++blk) {
            v8 *g = GATES + t * h4;
            if (t == 0)
                gemv(g, VIEW(bias, h4), VIEW(w_in, n_i * h4), 1, h4, VIEW(x0, n_i), h4, n_i);
            else
                gemv(g, VIEW(bias, h4), VIEW(w_rec, h * h4), 1, h4, HID + t * h, h4, h);
            for (int r = 0; r < h4; ++r) g[r] = sigmoid(g[r]);
            const v8 *cp = CELL + t * h;
            v8 *cn = CELL + (t + 1) * h, *tc = TCELL + (t + 1) * h, *hn = HID + (t + 1) * h;
            cell_forward(g, cp, cn, tc, hn, h);
            v8 *d = DY + t * n_o, *y = VIEW(target, n_t * n_o) + t * n_o, *bo = VIEW(b_out, n_o);
            for (int o = 0; o < n_o; ++o) d[o] = bo[o] - y[o];
            gemv(d, d, VIEW(w_out, n_o * h), h, 1, hn, n_o, h);
            v8 err2 = VIEW(sq, 1)[0];
            for (int o = 0; o < n_o; ++o) {
                err2 += d[o] * d[o];
                d[o] = scale * d[o];
            }
            VIEW(sq, 1)[0] = err2;
        }
    }
    /* Backward through time: dh, dc and the gate gradients dz, which overwrite the gates of
     * their step; the weight gradients are sums over steps, taken afterwards. */
    for (int t = n_t - 1; t >= 0; --t) {
        for (int blk = 0; blk < n_blocks; ++blk) {
            v8 *dh = DH, *dc = DC, *g = GATES + t * h4;
            gemv(dh, dh, VIEW(w_out, n_o * h), 1, h, DY + t * n_o, h, n_o);
            const v8 *cp = CELL + t * h, *tc = TCELL + (t + 1) * h;
            cell_backward(g, g, cp, tc, dh, dc, h);
            if (t > 0) gemv(dh, NULL, VIEW(w_hh_t, h * h4), h4, 1, g, h, h4);
        }
    }
    for (int blk = 0; blk < n_blocks; ++blk) {
        const v8 *dz = GATES, *x = VIEW(x0, n_i);
        v8 *d_wi = VIEW(d_w_in, n_i * h4);
        column_sums(VIEW(d_b, h4), dz, h4, n_t);
        outer_sums(VIEW(d_w_rec, h * h4), HID + h, h, dz + h4, h4, n_t - 1);  /* hid slot t feeds step t */
        for (int j = 0; j < n_i; ++j)
            for (int r = 0; r < h4; ++r) d_wi[j * h4 + r] = x[j] * dz[r];
        column_sums(VIEW(d_b_out, n_o), DY, n_o, n_t);
        outer_sums(VIEW(d_w_out, n_o * h), DY, n_o, HID + h, h, n_t);
    }
#undef VIEW
#undef GATES
#undef CELL
#undef TCELL
#undef HID
#undef DY
#undef DH
#undef DC
}
