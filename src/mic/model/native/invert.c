/* Inverse classification of blocks of 8 targets by one module (mic.inverse documents the maths).
 *
 * The module's weights are shared by all lanes; lanes are targets, 8 to a vector, and arrays are
 * [blocks, ..., 8]. A pass takes two blocks (an odd last one alone) through all its iterations
 * (project, forward, loss, backward to the input vector, Adam) before the next pass, so its
 * trajectory stays in cache. Inside a pass the two blocks are interleaved ([..., 2, 8]): each
 * weight, broadcast from memory once, feeds one multiply-add per block, which halves the weight
 * loads of the matrix-vector products (~10% faster for MNIST, ~5% for characters).
 *
 * Weights: w_in [4H, I], w_rec [4H, H] and bias [4H] with g-gate rows doubled (tanh z =
 * 2 sigmoid(2z) - 1), w_hh_t [H, 4H] plain and transposed, w_out [O, H], b_out [O].
 * target [blocks, T, O, 8]; x [blocks, I, 8] start vectors, left holding the final projected
 * mixtures; losses [K+1, blocks, 8] out; y_keep [blocks, T, O, 8] gets the final outputs.
 */
#include <math.h>

#include "lanes.h"

#define MAX_PAIR 2

/* x, held in a register. GCC would fold a vector's load into each of its multiply-adds as a memory
 * operand; the loads, not the multiply-adds, then bound the matrix-vector products (~10% slower). */
static inline v8 in_register(v8 x) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__("" : "+x"(x));
#endif
    return x;
}

/* out[i][p] = (init ? init[i][p] : 0) + sum_j W(i, j) v[j][p] for i < n_out, p < P, each sum in
 * order of j; W(i, j) = w[i * wi + j * wj] is shared by all lanes. 8 / P rows at a time keep eight
 * independent multiply-add chains in flight (one chain per output would wait on the FMA latency). */
static inline __attribute__((always_inline)) void gemv_shared(v8 *out, const v8 *init, const float *w, long wi,
                                                              long wj, const v8 *v, int n_out, int n_sum,
                                                              const int P) {
#define ROWS(R)                                                                       \
    for (; i + (R) <= n_out; i += (R)) {                                              \
        v8 a[(R) * MAX_PAIR];                                                         \
        for (int u = 0; u < (R) * P; ++u) a[u] = init ? init[i * P + u] : splat(0.0f); \
        for (int j = 0; j < n_sum; ++j) {                                             \
            v8 vj[MAX_PAIR];                                                          \
            for (int p = 0; p < P; ++p) vj[p] = in_register(v[j * P + p]);           \
            for (int r = 0; r < (R); ++r) {                                           \
                const float wr = w[(i + r) * wi + j * wj];                            \
                for (int p = 0; p < P; ++p) a[r * P + p] += wr * vj[p];               \
            }                                                                         \
        }                                                                             \
        for (int u = 0; u < (R) * P; ++u) out[i * P + u] = a[u];                      \
    }
    int i = 0;
    if (P == 1) { ROWS(8) }
    ROWS(4)
    ROWS(1)
#undef ROWS
}

/* Floats of scratch for a pass of two blocks: bias and gates, cell, its tanh and hidden state,
 * output errors, dz, dh and dc, and the vector with its Adam moments (see invert_pass). */
long mic_invert_scratch_floats(int n_t, int h, int n_o, int n_i) {
    return 8L * MAX_PAIR *
           (4L * h + (long)n_t * 4 * h + 3L * (n_t + 1) * h + (long)n_t * n_o + 4L * h + 2L * h + 3L * n_i);
}

/* P blocks from `first`, interleaved; see the file comment. */
static inline __attribute__((always_inline)) void invert_pass(
    int first, const int P, int n_blocks, int n_t, int h, int n_o, int n_i, int iterations, float lr, float b1,
    float b2, float eps, int bias_correction, const float *w_in, const float *w_rec, const float *w_hh_t,
    const float *bias, const float *w_out, const float *b_out, const float *target, float *x, float *losses,
    float *y_keep, float *scratch) {
    const int h4 = 4 * h, hp = h * P, h4p = h4 * P;
    const v8 zero = splat(0.0f), one = splat(1.0f);
    const v8 scale = splat(2.0f / (float)(n_t * n_o)), tiny = splat(1.1754944e-38f);  /* float32 tiny, as project() */
    v8 *bias_v = (v8 *)scratch;                   /* [4H, P] the bias in every lane */
    v8 *gates = bias_v + h4p;                     /* [T, 4H, P] */
    v8 *cell = gates + (long)n_t * h4p;           /* [T+1, H, P], slot 0 = zero state */
    v8 *tcell = cell + (long)(n_t + 1) * hp;      /* [T+1, H, P], slot t+1 for step t */
    v8 *hid = tcell + (long)(n_t + 1) * hp;       /* [T+1, H, P], slot 0 = zero state */
    v8 *dy = hid + (long)(n_t + 1) * hp;          /* [T, O, P] */
    v8 *dz = dy + (long)n_t * n_o * P;            /* [4H, P] */
    v8 *dh = dz + h4p, *dc = dh + hp;             /* [H, P] */
    v8 *xv = dc + hp, *m = xv + n_i * P, *v = m + n_i * P;  /* [I, P] vector and its Adam moments */
    const v8 *y[MAX_PAIR];
    v8 *keep[MAX_PAIR];
    for (int p = 0; p < P; ++p) {
        const long blk = first + p;
        y[p] = (const v8 *)target + blk * n_t * n_o;
        keep[p] = (v8 *)y_keep + blk * n_t * n_o;
        for (int j = 0; j < n_i; ++j) {
            xv[j * P + p] = ((v8 *)x)[blk * n_i + j];
            m[j * P + p] = zero;
            v[j * P + p] = zero;
        }
    }
    for (int r = 0; r < h4; ++r)
        for (int p = 0; p < P; ++p) bias_v[r * P + p] = splat(bias[r]);
    for (int k = 0; k < hp; ++k) { cell[k] = zero; hid[k] = zero; }
    for (int it = 0; it <= iterations; ++it) {
        /* project: clip to [0, 1], divide by the sum (an all-zero vector stays zero) */
        for (int p = 0; p < P; ++p) {
            v8 total = zero;
            for (int j = 0; j < n_i; ++j) {
                xv[j * P + p] = vmin(vmax(xv[j * P + p], zero), one);
                total += xv[j * P + p];
            }
            total = vmax(total, tiny);
            for (int j = 0; j < n_i; ++j) xv[j * P + p] = xv[j * P + p] / total;
        }
        /* forward and loss */
        v8 err2[MAX_PAIR];
        for (int p = 0; p < P; ++p) err2[p] = zero;
        for (int t = 0; t < n_t; ++t) {
            v8 *g = gates + (long)t * h4p;
            if (t == 0)
                gemv_shared(g, bias_v, w_in, n_i, 1, xv, h4, n_i, P);
            else
                gemv_shared(g, bias_v, w_rec, h, 1, hid + (long)t * hp, h4, h, P);
            for (int r = 0; r < h4p; ++r) g[r] = sigmoid(g[r]);
            const v8 *cp = cell + (long)t * hp;
            v8 *cn = cell + (long)(t + 1) * hp, *tc = tcell + (long)(t + 1) * hp, *hn = hid + (long)(t + 1) * hp;
            cell_forward(g, cp, cn, tc, hn, hp);
            v8 *d = dy + (long)t * n_o * P;
            for (int o = 0; o < n_o; ++o)
                for (int p = 0; p < P; ++p) d[o * P + p] = splat(b_out[o]);
            gemv_shared(d, d, w_out, h, 1, hn, n_o, h, P);
            for (int o = 0; o < n_o; ++o) {
                for (int p = 0; p < P; ++p) {
                    const long at = (long)t * n_o + o;
                    if (it == iterations) keep[p][at] = d[o * P + p];
                    v8 e = d[o * P + p] - y[p][at];
                    err2[p] += e * e;
                    d[o * P + p] = scale * e;
                }
            }
        }
        for (int p = 0; p < P; ++p) ((v8 *)losses)[(long)it * n_blocks + first + p] = err2[p] / (float)(n_t * n_o);
        if (it == iterations) break;
        /* backward to the input vector */
        for (int k = 0; k < hp; ++k) { dh[k] = zero; dc[k] = zero; }
        for (int t = n_t - 1; t >= 0; --t) {
            gemv_shared(dh, dh, w_out, 1, h, dy + (long)t * n_o * P, h, n_o, P);
            const v8 *g = gates + (long)t * h4p, *cp = cell + (long)t * hp, *tc = tcell + (long)(t + 1) * hp;
            cell_backward(dz, g, cp, tc, dh, dc, hp);
            if (t > 0) gemv_shared(dh, NULL, w_hh_t, h4, 1, dz, h, h4, P);
        }
        /* Adam on the projected vector (authors: no bias correction); dz holds d loss / d z_0 */
        float step = lr, bc2 = 1.0f;
        if (bias_correction) {
            step = (float)(lr / (1.0 - pow(b1, it + 1)));
            bc2 = (float)sqrt(1.0 - pow(b2, it + 1));
        }
        for (int j = 0; j < n_i; ++j) {
            for (int p = 0; p < P; ++p) {
                v8 grad = zero;
                for (int r = 0; r < h4; ++r)
                    grad += w_in[r * n_i + j] * (2 * h <= r && r < 3 * h ? 0.5f : 1.0f) * dz[r * P + p];
                const int q = j * P + p;
                m[q] = b1 * m[q] + (1.0f - b1) * grad;
                v[q] = b2 * v[q] + (1.0f - b2) * grad * grad;
                v8 sq = zero;
                for (int u = 0; u < 8; ++u) sq[u] = sqrtf(v[q][u]);
                xv[q] -= step * m[q] / (sq / bc2 + eps);
            }
        }
    }
    for (int p = 0; p < P; ++p)
        for (int j = 0; j < n_i; ++j) ((v8 *)x)[(long)(first + p) * n_i + j] = xv[j * P + p];
}

void mic_invert_module(int n_blocks, int n_t, int h, int n_o, int n_i, int iterations, float lr, float b1,
                       float b2, float eps, int bias_correction, const float *w_in, const float *w_rec,
                       const float *w_hh_t, const float *bias, const float *w_out, const float *b_out,
                       const float *target, float *x, float *losses, float *y_keep, float *scratch) {
    int first = 0;
#define PASS(P)                                                                                                 \
    invert_pass(first, P, n_blocks, n_t, h, n_o, n_i, iterations, lr, b1, b2, eps, bias_correction, w_in, w_rec, \
                w_hh_t, bias, w_out, b_out, target, x, losses, y_keep, scratch)
    for (; first + 2 <= n_blocks; first += 2) PASS(2);
    for (; first < n_blocks; ++first) PASS(1);
#undef PASS
}
