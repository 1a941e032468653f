/* Inverse classification of blocks of 8 targets by one module (mic.inverse documents the maths).
 *
 * The module's weights are shared by all lanes; lanes are targets, 8 to a vector, and arrays are
 * [blocks, ..., 8]. Each block runs all its iterations (project, forward, loss, backward to the
 * input vector, Adam) before the next, so its trajectory stays in cache.
 *
 * Weights: w_in [4H, I], w_rec [4H, H] and bias [4H] with g-gate rows doubled (tanh z =
 * 2 sigmoid(2z) - 1), w_hh_t [H, 4H] plain and transposed, w_out [O, H], b_out [O].
 * target [blocks, T, O, 8]; x [blocks, I, 8] start vectors, left holding the final projected
 * mixtures; losses [K+1, blocks, 8] out; y_keep [blocks, T, O, 8] gets the final outputs.
 */
#include <math.h>

#include "lanes.h"

long mic_invert_scratch_floats(int n_t, int h, int n_o, int n_i) {
    return 8L * ((long)n_t * 4 * h + 3L * (n_t + 1) * h + (long)n_t * n_o + 8L * h + 2L * h + 2L * n_i);
}

void mic_invert_module(int n_blocks, int n_t, int h, int n_o, int n_i, int iterations, float lr, float b1,
                       float b2, float eps, int bias_correction, const float *w_in, const float *w_rec,
                       const float *w_hh_t, const float *bias, const float *w_out, const float *b_out,
                       const float *target, float *x, float *losses, float *y_keep, float *scratch) {
    const int h4 = 4 * h;
    const v8 zero = splat(0.0f), one = splat(1.0f);
    const v8 scale = splat(2.0f / (float)(n_t * n_o)), tiny = splat(1.1754944e-38f);  /* float32 tiny, as project() */
    v8 *gates = (v8 *)scratch;                    /* [T, 4H] */
    v8 *cell = gates + (long)n_t * h4;            /* [T+1, H], slot 0 = zero state */
    v8 *tcell = cell + (long)(n_t + 1) * h;       /* [T+1, H], slot t+1 for step t */
    v8 *hid = tcell + (long)(n_t + 1) * h;        /* [T+1, H], slot 0 = zero state */
    v8 *dy = hid + (long)(n_t + 1) * h;           /* [T, O] */
    v8 *dz = dy + (long)n_t * n_o;                /* [4H] */
    v8 *dh = dz + h4, *dc = dh + h;               /* [H] */
    v8 *m = dc + h, *v = m + n_i;                 /* [I] Adam moments */
    v8 *bias_v = v + n_i;                         /* [4H] the bias in every lane */
    for (int r = 0; r < h4; ++r) bias_v[r] = splat(bias[r]);
    for (int k = 0; k < h; ++k) { cell[k] = zero; hid[k] = zero; }
    for (int blk = 0; blk < n_blocks; ++blk) {
        const v8 *y = (const v8 *)target + (long)blk * n_t * n_o;
        v8 *xv = (v8 *)x + (long)blk * n_i, *keep = (v8 *)y_keep + (long)blk * n_t * n_o;
        for (int j = 0; j < n_i; ++j) { m[j] = zero; v[j] = zero; }
        for (int it = 0; it <= iterations; ++it) {
            /* project: clip to [0, 1], divide by the sum (an all-zero vector stays zero) */
            v8 total = zero;
            for (int j = 0; j < n_i; ++j) {
                xv[j] = vmin(vmax(xv[j], zero), one);
                total += xv[j];
            }
            total = vmax(total, tiny);
            for (int j = 0; j < n_i; ++j) xv[j] = xv[j] / total;
            /* forward and loss */
            v8 err2 = zero;
            for (int t = 0; t < n_t; ++t) {
                v8 *g = gates + (long)t * h4;
                if (t == 0)
                    gemv_shared(g, bias_v, w_in, n_i, 1, xv, h4, n_i);
                else
                    gemv_shared(g, bias_v, w_rec, h, 1, hid + (long)t * h, h4, h);
                for (int r = 0; r < h4; ++r) g[r] = sigmoid(g[r]);
                const v8 *cp = cell + (long)t * h;
                v8 *cn = cell + (long)(t + 1) * h, *tc = tcell + (long)(t + 1) * h, *hn = hid + (long)(t + 1) * h;
                cell_forward(g, cp, cn, tc, hn, h);
                v8 *d = dy + (long)t * n_o;
                for (int o = 0; o < n_o; ++o) d[o] = splat(b_out[o]);
                gemv_shared(d, d, w_out, h, 1, hn, n_o, h);
                const v8 *yt = y + (long)t * n_o;
                for (int o = 0; o < n_o; ++o) {
                    if (it == iterations) keep[(long)t * n_o + o] = d[o];
                    v8 e = d[o] - yt[o];
                    err2 += e * e;
                    d[o] = scale * e;
                }
            }
            ((v8 *)losses)[(long)it * n_blocks + blk] = err2 / (float)(n_t * n_o);
            if (it == iterations) break;
            /* backward to the input vector */
            for (int k = 0; k < h; ++k) { dh[k] = zero; dc[k] = zero; }
            for (int t = n_t - 1; t >= 0; --t) {
                gemv_shared(dh, dh, w_out, 1, h, dy + (long)t * n_o, h, n_o);
                const v8 *g = gates + (long)t * h4, *cp = cell + (long)t * h, *tc = tcell + (long)(t + 1) * h;
                cell_backward(dz, g, cp, tc, dh, dc, h);
                if (t > 0) gemv_shared(dh, NULL, w_hh_t, h4, 1, dz, h, h4);
            }
            /* Adam on the projected vector (authors: no bias correction); dz holds d loss / d z_0 */
            float step = lr, bc2 = 1.0f;
            if (bias_correction) {
                step = (float)(lr / (1.0 - pow(b1, it + 1)));
                bc2 = (float)sqrt(1.0 - pow(b2, it + 1));
            }
            for (int j = 0; j < n_i; ++j) {
                v8 grad = zero;
                for (int r = 0; r < h4; ++r)
                    grad += w_in[r * n_i + j] * (2 * h <= r && r < 3 * h ? 0.5f : 1.0f) * dz[r];
                m[j] = b1 * m[j] + (1.0f - b1) * grad;
                v[j] = b2 * v[j] + (1.0f - b2) * grad * grad;
                v8 sq = zero;
                for (int u = 0; u < 8; ++u) sq[u] = sqrtf(v[j][u]);
                xv[j] -= step * m[j] / (sq / bc2 + eps);
            }
        }
    }
}
