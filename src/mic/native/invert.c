/* Inverse classification of blocks of L = MIC_LANES targets by one module (mic.inverse documents
 * the maths).
 *
 * The module's weights are shared by all lanes; lanes are targets, L to a vector (lanes.h), and
 * arrays are [blocks, ..., L]. A pass takes two blocks (an odd last one twice) through all its
 * iterations (project, forward, loss, backward to the input vector, Adam) before the next pass, so
 * its trajectory stays in cache. Inside a pass the two blocks are interleaved ([..., 2, L]): each
 * weight, broadcast from memory once, feeds one multiply-add per block, which halves the weight
 * loads of the matrix-vector products (~10% faster for MNIST, ~5% for characters).
 *
 * Weights are nn.LSTM's and nn.Linear's as they are: w_ih [4H, I],
 * w_hh [4H, H], b_ih [4H], b_hh [4H], w_out [O, H], b_out [O]. target [blocks, T, O, L]; x [blocks, I, L] start
 * vectors, left holding the final projected mixtures; losses [K+1, blocks, L] out; y_keep
 * [blocks, T, O, L] gets the final outputs. All of it travels in one mic_inversion.
 */
#include <math.h>

#include "lanes.h"

#define MAX_PAIR 2

/* One call's dimensions, settings and arrays; its ctypes mirror mic.model.inverse._Inversion is
 * checked against mic_inversion_layout_* on load. scratch holds mic_invert_scratch_floats floats. */
#define MIC_INVERSION_FIELDS(X, S)                                                                   \
    X(S, int, n_blocks) X(S, int, n_t) X(S, int, h) X(S, int, n_o) X(S, int, n_i) X(S, int, iterations) \
    X(S, int, bias_correction) X(S, int, raw_final) X(S, float, lr) X(S, float, beta1) X(S, float, beta2) X(S, float, eps)  \
    X(S, const float *, w_ih) X(S, const float *, w_hh) X(S, const float *, b_ih)                     \
    X(S, const float *, b_hh) X(S, const float *, w_out) X(S, const float *, b_out)                   \
    X(S, const float *, target) X(S, float *, x) X(S, float *, losses) X(S, float *, y_keep)          \
    X(S, float *, scratch)
MIC_STRUCT(mic_inversion, MIC_INVERSION_FIELDS)
MIC_LAYOUT(mic_inversion, mic_inversion, MIC_INVERSION_FIELDS)

/* out[i][p] = (init ? init[i][p] : 0) + sum_j W(i, j) v[j][p] for i < n_out, p < P; W(i, j) =
 * w[i * wi + j * wj] is shared by all lanes. Four rows at a time keep eight independent multiply-add
 * chains in flight for P = 2 (one chain per output would wait on the FMA latency); the last n_out % 4
 * rows split their sums into four partial sums (j modulo 4) to keep more chains too. */
static inline __attribute__((always_inline)) void gemv_shared(vf *out, const vf *init, const float *w, long wi,
                                                              long wj, const vf *v, int n_out, int n_sum,
                                                              const int P) {
#define SPLIT(R, S)                                                                                \
    for (; i + (R) <= n_out; i += (R)) {                                                           \
        vf a[(R) * MAX_PAIR][S];                                                                   \
        for (int u = 0; u < (R) * P; ++u)                                                          \
            for (int s = 0; s < (S); ++s) a[u][s] = s == 0 && init ? init[i * P + u] : splat(0.0f); \
        int j = 0;                                                                                 \
        for (; j + (S) <= n_sum; j += (S))                                                         \
            for (int s = 0; s < (S); ++s) {                                                        \
                vf vj[MAX_PAIR];                                                                   \
                for (int p = 0; p < P; ++p) vj[p] = in_register(v[(j + s) * P + p]);             \
                for (int r = 0; r < (R); ++r) {                                                    \
                    const float wr = w[(i + r) * wi + (j + s) * wj];                               \
                    for (int p = 0; p < P; ++p) a[r * P + p][s] += wr * vj[p];                     \
                }                                                                                  \
            }                                                                                      \
        for (; j < n_sum; ++j)                                                                     \
            for (int r = 0; r < (R); ++r)                                                          \
                for (int p = 0; p < P; ++p) a[r * P + p][0] += w[(i + r) * wi + j * wj] * v[j * P + p]; \
        for (int u = 0; u < (R) * P; ++u) {                                                        \
            for (int width = (S) / 2; width > 0; width /= 2)                                       \
                for (int s = 0; s < width; ++s) a[u][s] += a[u][s + width];                        \
            out[i * P + u] = a[u][0];                                                              \
        }                                                                                          \
    }
    int i = 0;
    SPLIT(4, 1)
    SPLIT(1, 4)
#undef SPLIT
}

/* Floats of scratch for a pass of two blocks: bias and gates, cell, its tanh and hidden state,
 * output errors, dz, dh and dc, and the vector with its Adam moments (see invert_pass); then the
 * transpose of w_hh, for the module. */
static long pass_floats(int n_t, int h, int n_o, int n_i) {
    return (long)MIC_LANES * MAX_PAIR *
           (4L * h + (long)n_t * 4 * h + 3L * (n_t + 1) * h + (long)n_t * n_o + 4L * h + 2L * h + 3L * n_i);
}

long mic_invert_scratch_floats(int n_t, int h, int n_o, int n_i) { return pass_floats(n_t, h, n_o, n_i) + 4L * h * h; }

/* The blocks block[0] and block[1], interleaved; see the file comment. w_hh_t [H, 4H] is w_hh transposed. */
static inline __attribute__((always_inline)) void invert_pass(const mic_inversion *a, const long block[MAX_PAIR],
                                                              const float *w_hh_t) {
    const int P = MAX_PAIR;
    const int n_blocks = a->n_blocks, n_t = a->n_t, h = a->h, n_o = a->n_o, n_i = a->n_i;
    const int iterations = a->iterations, bias_correction = a->bias_correction, raw_final = a->raw_final;
    const float lr = a->lr, b1 = a->beta1, b2 = a->beta2, eps = a->eps;
    const float *w_ih = a->w_ih, *w_hh = a->w_hh, *w_out = a->w_out, *b_out = a->b_out;
    float *x = a->x, *losses = a->losses, *scratch = a->scratch;
    const int h4 = 4 * h, hp = h * P, h4p = h4 * P;
    const vf zero = splat(0.0f), one = splat(1.0f);
    const vf scale = splat(2.0f / (float)(n_t * n_o)), tiny = splat(1.1754944e-38f);  /* float32 tiny, as project() */
    vf *bias_v = (vf *)scratch;                   /* [4H, P] the bias in every lane */
    vf *gates = bias_v + h4p;                     /* [T, 4H, P] */
    vf *cell = gates + (long)n_t * h4p;           /* [T+1, H, P], slot 0 = zero state */
    vf *tcell = cell + (long)(n_t + 1) * hp;      /* [T+1, H, P], slot t+1 for step t */
    vf *hid = tcell + (long)(n_t + 1) * hp;       /* [T+1, H, P], slot 0 = zero state */
    vf *dy = hid + (long)(n_t + 1) * hp;          /* [T, O, P] */
    vf *dz = dy + (long)n_t * n_o * P;            /* [4H, P] */
    vf *dh = dz + h4p, *dc = dh + hp;             /* [H, P] */
    vf *xv = dc + hp, *m = xv + n_i * P, *v = m + n_i * P;  /* [I, P] vector and its Adam moments */
    const vf *y[MAX_PAIR];
    vf *keep[MAX_PAIR];
    for (int p = 0; p < P; ++p) {
        const long blk = block[p];
        y[p] = (const vf *)a->target + blk * n_t * n_o;
        keep[p] = (vf *)a->y_keep + blk * n_t * n_o;
        for (int j = 0; j < n_i; ++j) {
            xv[j * P + p] = ((vf *)x)[blk * n_i + j];
            m[j * P + p] = zero;
            v[j * P + p] = zero;
        }
    }
    for (int r = 0; r < h4; ++r)
        for (int p = 0; p < P; ++p) bias_v[r * P + p] = splat(a->b_ih[r] + a->b_hh[r]);
    for (int k = 0; k < hp; ++k) { cell[k] = zero; hid[k] = zero; }
    for (int it = 0; it <= iterations; ++it) {
        /* project: clip to [0, 1], divide by the sum (an all-zero vector stays zero); raw_final (the authors'
         * code) scores the vector after the last update as it is */
        for (int p = 0; p < P && !(raw_final && it == iterations && it > 0); ++p) {
            vf total = zero;
            for (int j = 0; j < n_i; ++j) {
                xv[j * P + p] = vmin(vmax(xv[j * P + p], zero), one);
                total += xv[j * P + p];
            }
            total = vmax(total, tiny);
            for (int j = 0; j < n_i; ++j) xv[j * P + p] = xv[j * P + p] / total;
        }
        /* forward and loss */
        vf err2[MAX_PAIR];
        for (int p = 0; p < P; ++p) err2[p] = zero;
        for (int t = 0; t < n_t; ++t) {
            vf *g = gates + (long)t * h4p;
            if (t == 0)
                gemv_shared(g, bias_v, w_ih, n_i, 1, xv, h4, n_i, P);
            else
                gemv_shared(g, bias_v, w_hh, h, 1, hid + (long)t * hp, h4, h, P);
            gate_activations(g, hp);
            const vf *cp = cell + (long)t * hp;
            vf *cn = cell + (long)(t + 1) * hp, *tc = tcell + (long)(t + 1) * hp, *hn = hid + (long)(t + 1) * hp;
            cell_forward(g, cp, cn, tc, hn, hp);
            vf *d = dy + (long)t * n_o * P;
            for (int o = 0; o < n_o; ++o)
                for (int p = 0; p < P; ++p) d[o * P + p] = splat(b_out[o]);
            gemv_shared(d, d, w_out, h, 1, hn, n_o, h, P);
            for (int o = 0; o < n_o; ++o) {
                for (int p = 0; p < P; ++p) {
                    const long at = (long)t * n_o + o;
                    if (it == iterations) keep[p][at] = d[o * P + p];
                    vf e = d[o * P + p] - y[p][at];
                    err2[p] += e * e;
                    d[o * P + p] = scale * e;
                }
            }
        }
        for (int p = 0; p < P; ++p) ((vf *)losses)[(long)it * n_blocks + block[p]] = err2[p] / (float)(n_t * n_o);
        if (it == iterations) break;
        /* backward to the input vector */
        for (int k = 0; k < hp; ++k) { dh[k] = zero; dc[k] = zero; }
        for (int t = n_t - 1; t >= 0; --t) {
            gemv_shared(dh, dh, w_out, 1, h, dy + (long)t * n_o * P, h, n_o, P);
            const vf *g = gates + (long)t * h4p, *cp = cell + (long)t * hp, *tc = tcell + (long)(t + 1) * hp;
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
                vf grad = zero;
                for (int r = 0; r < h4; ++r)
                    grad += w_ih[r * n_i + j] * dz[r * P + p];
                const int q = j * P + p;
                m[q] = b1 * m[q] + (1.0f - b1) * grad;
                v[q] = b2 * v[q] + (1.0f - b2) * grad * grad;
                vf sq = zero;
                for (int u = 0; u < MIC_LANES; ++u) sq[u] = sqrtf(v[q][u]);
                xv[q] -= step * m[q] / (sq / bc2 + eps);
            }
        }
    }
    for (int p = 0; p < P; ++p)
        for (int j = 0; j < n_i; ++j) ((vf *)x)[block[p] * n_i + j] = xv[j * P + p];
}

/* All blocks of a, for its module. */
void mic_invert_module(const mic_inversion *a) {
    const mic_fp_mode caller = flush_denormals();
    const int h = a->h, h4 = 4 * h;
    float *w_hh_t = a->scratch + pass_floats(a->n_t, h, a->n_o, a->n_i);
    for (int k = 0; k < h; ++k)
        for (int r = 0; r < h4; ++r) w_hh_t[k * h4 + r] = a->w_hh[r * h + k];
    for (long first = 0; first < a->n_blocks; first += MAX_PAIR) {
        /* an odd last block is paired with itself: both slots compute and write the same values, so every
         * block takes the same instructions, and its bits do not depend on which block it was paired with */
        const long block[MAX_PAIR] = {first, first + 1 < a->n_blocks ? first + 1 : first};
        invert_pass(a, block, w_hh_t);
    }
    restore_fp_mode(caller);
}
