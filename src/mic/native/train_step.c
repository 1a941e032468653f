/* Training a bank of small LSTM generators, L = MIC_LANES lanes per SIMD vector (lanes.h).
 *
 * Lanes are (sequence, generator) pairs, grouped in blocks of L that sit innermost in every array
 * ([blocks, ..., L]). Sequence b of generator g is lane g of lane group b: block b * n_wblocks + g / L,
 * slot g % L (generators padded to whole blocks), so all sequences of a generator sit in the same
 * slot and the weights of block blk are weight block blk % n_wblocks. numba's auto-vectoriser could
 * not be made to run loops over so few lanes as vectors, which is why this is C with GCC/Clang
 * vector extensions (portable: any target, any vector width).
 *
 * The parameters live in this lane layout too, with their Adam state, so a step needs no
 * conversion: per weight block, w_in [I, 4H], w_hh [H, 4H] (transposed: row k holds column k of
 * nn.LSTM's weight_hh), b_ih [4H], b_hh [4H], w_out [O, H], b_out [O], each times L lanes, back to
 * back: nn.LSTM's weights as they are.
 */
#include <math.h>
#include <stdint.h>

#include "lanes.h"

/* A sum over time steps stored, or added to what is there (a generator's later sequences). */
#define KEEP(old, sum) (add ? (old) + (sum) : (sum))

/* out[j] = sum_t m[t * n + j] for j < n, t < n_t; added to out[j] where add. */
static inline void column_sums(vf *restrict out, const vf *restrict m, int n, int n_t, int add) {
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        vf a0 = splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int t = 0; t < n_t; ++t) {
            const vf *row = m + (long)t * n + j;
            a0 += row[0]; a1 += row[1]; a2 += row[2]; a3 += row[3];
        }
        out[j] = KEEP(out[j], a0); out[j + 1] = KEEP(out[j + 1], a1);
        out[j + 2] = KEEP(out[j + 2], a2); out[j + 3] = KEEP(out[j + 3], a3);
    }
    for (; j < n; ++j) {
        vf a = splat(0.0f);
        for (int t = 0; t < n_t; ++t) a += m[(long)t * n + j];
        out[j] = KEEP(out[j], a);
    }
}

/* out[i * n_b + j] = sum_t a[t * n_a + i] * b[t * n_b + j] (i < n_a, j < n_b, t < n_t): a weight
 * gradient as a sum of outer products over time steps, 2 x 4 outputs at a time in registers; added
 * to out where add. */
static inline void outer_sums(vf *restrict out, const vf *restrict a, int n_a, const vf *restrict b, int n_b,
                              int n_t, int add) {
    int i = 0;
    for (; i + 2 <= n_a; i += 2) {
        int j = 0;
        for (; j + 4 <= n_b; j += 4) {
            vf c[2][4] = {{splat(0.0f)}};
            for (int u = 0; u < 2; ++u) for (int w = 0; w < 4; ++w) c[u][w] = splat(0.0f);
            for (int t = 0; t < n_t; ++t) {
                const vf *ar = a + (long)t * n_a + i, *br = b + (long)t * n_b + j;
                for (int u = 0; u < 2; ++u) {
                    vf au = ar[u];
                    for (int w = 0; w < 4; ++w) c[u][w] += au * br[w];
                }
            }
            for (int u = 0; u < 2; ++u)
                for (int w = 0; w < 4; ++w) {
                    vf *o = out + (i + u) * n_b + j + w;
                    *o = KEEP(*o, c[u][w]);
                }
        }
        for (; j < n_b; ++j)
            for (int u = 0; u < 2; ++u) {
                vf c = splat(0.0f);
                for (int t = 0; t < n_t; ++t) c += a[(long)t * n_a + i + u] * b[(long)t * n_b + j];
                out[(i + u) * n_b + j] = KEEP(out[(i + u) * n_b + j], c);
            }
    }
    for (; i < n_a; ++i)
        for (int j = 0; j < n_b; ++j) {
            vf c = splat(0.0f);
            for (int t = 0; t < n_t; ++t) c += a[(long)t * n_a + i] * b[(long)t * n_b + j];
            out[i * n_b + j] = KEEP(out[i * n_b + j], c);
        }
}

/* Vectors of one weight block's parameters: w_in, w_hh, b_ih, b_hh, w_out, b_out. */
static inline long wblock_vectors(int h, int n_o, int n_i) {
    return (long)n_i * 4 * h + (long)h * 4 * h + 2L * 4 * h + (long)n_o * h + n_o;
}

/* Scratch floats one step needs. */
long mic_train_scratch_floats(int n_blocks, int n_t, int h, int n_o) {
    (void)n_blocks;  /* blocks run one after the other through the same scratch */
    return (long)MIC_LANES * ((long)n_t * 4 * h + 3L * (n_t + 1) * h + (long)n_t * n_o + 2L * h + 4L * h);
}

/* Parameter floats of the whole bank (per buffer: values, gradients, Adam moments, best). */
long mic_train_param_floats(int n_wblocks, int h, int n_o, int n_i) {
    return (long)MIC_LANES * n_wblocks * wblock_vectors(h, n_o, n_i);
}

/* Forward, loss and backward of one step for every lane block: sq [n_blocks, L] gets each lane's
 * squared error and grad (parameter layout) the gradients, summed over a generator's sequences in
 * order (b_hh's equal b_ih's).
 *
 * One block after the other, each through the same scratch: a block's states for the backward
 * pass (~0.5 MB for 205 steps of 10 cells) then stay in the L2 cache; interleaving the blocks
 * time step by time step, to overlap their dependency chains, was ~10% slower. */
static void train_step(int n_blocks, int n_wblocks, int n_t, int h, int n_o, int n_i, float scale,
                       const float *params, const float *x0, const float *target, float *grad, float *sq,
                       float *scratch) {
    const int h4 = 4 * h;
    const long n_gates = (long)n_t * h4, n_state = (long)(n_t + 1) * h, n_dy = (long)n_t * n_o;
    const long per_block = n_gates + 3 * n_state + n_dy + 2L * h;
    const long per_wblock = wblock_vectors(h, n_o, n_i);
    const vf zero = splat(0.0f);
    vf *bias = (vf *)scratch + per_block;              /* [4H] b_ih + b_hh */
#define VIEW(base, n) ((vf *)(base) + blk * (long)(n))
#define GATES ((vf *)scratch)                          /* [T, 4H]; the backward overwrites them with dz */
#define CELL (GATES + n_gates)                         /* [T+1, H], slot 0 = zero state */
#define TCELL (CELL + n_state)                         /* [T+1, H], tanh of the cell, slot t+1 for step t */
#define HID (TCELL + n_state)                          /* [T+1, H], slot 0 = zero state */
#define DY (HID + n_state)                             /* [T, O]: scale * error */
#define DH (DY + n_dy)                                 /* [H] */
#define DC (DH + h)                                    /* [H] */
#define WEIGHTS(base) ((vf *)(base) + (blk % n_wblocks) * per_wblock)
#define W_IN(base) WEIGHTS(base)                       /* [I, 4H] */
#define W_HH(base) (W_IN(base) + (long)n_i * h4)       /* [H, 4H] */
#define B_IH(base) (W_HH(base) + (long)h * h4)         /* [4H] */
#define B_HH(base) (B_IH(base) + h4)                   /* [4H] */
#define W_OUT(base) (B_HH(base) + h4)                  /* [O, H] */
#define B_OUT(base) (W_OUT(base) + (long)n_o * h)      /* [O] */
    for (int blk = 0; blk < n_blocks; ++blk) {
        for (int k = 0; k < h; ++k) { CELL[k] = zero; HID[k] = zero; DH[k] = zero; DC[k] = zero; }
        const vf *b_ih = B_IH(params), *b_hh = B_HH(params);
        for (int r = 0; r < h4; ++r) bias[r] = b_ih[r] + b_hh[r];
        vf err2 = zero;
        for (int t = 0; t < n_t; ++t) {
            vf *g = GATES + t * h4;
            if (t == 0)
                gemv(g, bias, W_IN(params), 1, h4, VIEW(x0, n_i), h4, n_i);
            else
                gemv(g, bias, W_HH(params), 1, h4, HID + t * h, h4, h);
            gate_activations(g, h);
            const vf *cp = CELL + t * h;
            vf *cn = CELL + (t + 1) * h, *tc = TCELL + (t + 1) * h, *hn = HID + (t + 1) * h;
            cell_forward(g, cp, cn, tc, hn, h);
            vf *d = DY + t * n_o, *y = VIEW(target, n_t * n_o) + t * n_o, *bo = B_OUT(params);
            for (int o = 0; o < n_o; ++o) d[o] = bo[o] - y[o];
            gemv(d, d, W_OUT(params), h, 1, hn, n_o, h);
            for (int o = 0; o < n_o; ++o) {
                err2 += d[o] * d[o];
                d[o] = scale * d[o];
            }
        }
        VIEW(sq, 1)[0] = err2;
        /* Backward through time: dh, dc and the gate gradients dz, which overwrite the gates of
         * their step; the weight gradients are sums over steps, taken afterwards. */
        for (int t = n_t - 1; t >= 0; --t) {
            vf *dh = DH, *dc = DC, *g = GATES + t * h4;
            gemv(dh, dh, W_OUT(params), 1, h, DY + t * n_o, h, n_o);
            const vf *cp = CELL + t * h, *tc = TCELL + (t + 1) * h;
            cell_backward(g, g, cp, tc, dh, dc, h);
            if (t > 0) gemv(dh, NULL, W_HH(params), h4, 1, g, h, h4);
        }
        const int add = blk >= n_wblocks;  /* a generator's later sequences add to its first one's */
        const vf *dz = GATES, *x = VIEW(x0, n_i);
        vf *d_wi = W_IN(grad);
        column_sums(B_IH(grad), dz, h4, n_t, add);
        outer_sums(W_HH(grad), HID + h, h, dz + h4, h4, n_t - 1, add);  /* hid slot t feeds step t */
        for (int j = 0; j < n_i; ++j)
            for (int r = 0; r < h4; ++r) d_wi[j * h4 + r] = (add ? d_wi[j * h4 + r] : zero) + x[j] * dz[r];
        column_sums(B_OUT(grad), DY, n_o, n_t, add);
        outer_sums(W_OUT(grad), DY, n_o, HID + h, h, n_t, add);
    }
    for (int blk = 0; blk < n_wblocks; ++blk) {
        const vf *d_b = B_IH(grad);
        vf *d_bhh = B_HH(grad);
        for (int r = 0; r < h4; ++r) d_bhh[r] = d_b[r];
    }
#undef VIEW
#undef GATES
#undef CELL
#undef TCELL
#undef HID
#undef DY
#undef DH
#undef DC
#undef WEIGHTS
#undef W_IN
#undef W_HH
#undef B_IH
#undef B_HH
#undef W_OUT
#undef B_OUT
}


/* A training run's state; its ctypes mirror mic.model.training._TrainerState is checked against
 * mic_trainer_layout_* on load. theta, grad, m, v and best hold mic_train_param_floats floats each;
 * sq n_blocks * L; best_loss and best_step n_gen each. */
#define MIC_TRAINER_FIELDS(X, S)                                                                     \
    X(S, int, n_wblocks) X(S, int, batch) X(S, int, n_t) X(S, int, h) X(S, int, n_o) X(S, int, n_i) \
    X(S, int, n_gen) X(S, int, adam_t) X(S, float, beta1) X(S, float, beta2) X(S, float, eps)       \
    X(S, float *, theta) X(S, float *, grad) X(S, float *, m) X(S, float *, v) X(S, float *, best)   \
    X(S, float *, sq) X(S, float *, scratch) X(S, float *, best_loss) X(S, long *, best_step)
MIC_STRUCT(mic_trainer, MIC_TRAINER_FIELDS)
MIC_LAYOUT(mic_trainer, mic_trainer, MIC_TRAINER_FIELDS)

/* The step's mean squared error of each generator: losses [n_gen], summed over its sequences in order. */
static void generator_losses(const mic_trainer *s, float *losses) {
    const float count = (float)(s->batch * s->n_t * s->n_o);
    for (int g = 0; g < s->n_gen; ++g) {
        float sq = 0.0f;
        for (int b = 0; b < s->batch; ++b) sq += s->sq[((long)b * s->n_wblocks + g / MIC_LANES) * MIC_LANES + g % MIC_LANES];
        losses[g] = sq / count;
    }
}

/* The scale of the output errors in the backward pass: d mean / d output. */
static float error_scale(const mic_trainer *s) {
    return (float)(2.0 / (float)(s->batch * s->n_t * s->n_o));
}

/* After a step's forward and backward: losses [n_gen], keep improved weights (the loss is that of
 * the weights before this update), and one Adam step as torch.optim.Adam takes it. */
static void finish_step(mic_trainer *s, double lr, long step, float *losses) {
    const int nwb = s->n_wblocks;
    const long per_wblock = (long)MIC_LANES * wblock_vectors(s->h, s->n_o, s->n_i), n = nwb * per_wblock;
    generator_losses(s, losses);
    for (int wb = 0; wb < nwb; ++wb) {
        vi improved = {0};  /* all bits set in the lanes whose generator improved */
        int any = 0;
        for (int lane = 0; lane < MIC_LANES; ++lane) {
            int g = wb * MIC_LANES + lane;
            if (g >= s->n_gen) continue;
            float loss = losses[g];
            if (loss < s->best_loss[g]) {
                s->best_loss[g] = loss;
                s->best_step[g] = step;
                improved[lane] = -1;
                any = 1;
            }
        }
        if (any) {  /* a bitwise select: the improved lanes' weights, copied bit for bit */
            vf *best = (vf *)(s->best + wb * per_wblock);
            const vf *theta = (const vf *)(s->theta + wb * per_wblock);
            for (long i = 0; i < per_wblock / MIC_LANES; ++i)
                best[i] = (vf)(((vi)theta[i] & improved) | ((vi)best[i] & ~improved));
        }
    }
    s->adam_t += 1;
    const float b1 = s->beta1, b2 = s->beta2, eps = s->eps;
    const float step_size = (float)(lr / (1.0 - pow(b1, s->adam_t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2, s->adam_t));
    float *restrict theta = s->theta, *restrict m = s->m, *restrict v = s->v;
    const float *restrict grad = s->grad;
    for (long i = 0; i < n; ++i) {
        float gi = grad[i];
        m[i] += (1.0f - b1) * (gi - m[i]);
        v[i] = v[i] * b2 + (1.0f - b2) * gi * gi;
        theta[i] -= step_size * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
    }
}

/* n_steps training steps; step k reads x0 + k * (its size), target likewise, lrs[k], and writes
 * losses[k * n_gen ...]. */
void mic_train_steps(mic_trainer *s, int n_steps, long step0, const double *lrs, const float *x0, const float *target,
                     float *losses) {
    const mic_fp_mode caller = flush_denormals();
    const int n_blocks = s->batch * s->n_wblocks;
    const long x_stride = (long)MIC_LANES * n_blocks * s->n_i, t_stride = (long)MIC_LANES * n_blocks * s->n_t * s->n_o;
    for (int k = 0; k < n_steps; ++k) {
        train_step(n_blocks, s->n_wblocks, s->n_t, s->h, s->n_o, s->n_i, error_scale(s), s->theta, x0 + k * x_stride,
                   target + k * t_stride, s->grad, s->sq, s->scratch);
        finish_step(s, lrs[k], step0 + k, losses + (long)k * s->n_gen);
    }
    restore_fp_mode(caller);
}

/* The targets of n_steps steps in the lane layout [n_steps, batch * n_wblocks, n_t, n_o, L]: lane l of block
 * (b, blk) presents prototype choice[s, g, b] of generator g = blk * L + l (protos [n_gen, n_protos, n_t, n_o],
 * choice [n_chunk, n_gen, batch]) plus its output noise (noise [n_gen, n_chunk, batch, n_t, n_o], already
 * scaled, or NULL); padded lanes get zeros. The addition is the only arithmetic, so the targets are bit for
 * bit the ones torch builds from the same draws. */
void mic_pack_targets(int n_steps, int n_chunk, int n_gen, int n_wblocks, int batch, int n_protos, int n_t, int n_o,
                      const float *protos, const int64_t *choice, const float *noise, float *out) {
    const long seq = (long)n_t * n_o;
    for (int s = 0; s < n_steps; ++s)
        for (int b = 0; b < batch; ++b)
            for (int blk = 0; blk < n_wblocks; ++blk) {
                const float *shown[MIC_LANES], *added[MIC_LANES];
                for (int l = 0; l < MIC_LANES; ++l) {
                    const int g = blk * MIC_LANES + l;
                    const long pick = g < n_gen ? choice[((long)s * n_gen + g) * batch + b] : 0;
                    shown[l] = g < n_gen ? protos + ((long)g * n_protos + pick) * seq : NULL;
                    added[l] = g < n_gen && noise ? noise + (((long)g * n_chunk + s) * batch + b) * seq : NULL;
                }
                float *dst = out + (((long)s * batch + b) * n_wblocks + blk) * seq * MIC_LANES;
                for (long i = 0; i < seq; ++i)
                    for (int l = 0; l < MIC_LANES; ++l)
                        dst[i * MIC_LANES + l] = !shown[l] ? 0.0f : added[l] ? shown[l][i] + added[l][i] : shown[l][i];
            }
}

/* Forward, losses [n_gen] and gradients (into grad) of one step, without an update (for tests). */
void mic_train_gradients(mic_trainer *s, const float *x0, const float *target, float *losses) {
    const mic_fp_mode caller = flush_denormals();
    train_step(s->batch * s->n_wblocks, s->n_wblocks, s->n_t, s->h, s->n_o, s->n_i, error_scale(s), s->theta, x0,
               target, s->grad, s->sq, s->scratch);
    generator_losses(s, losses);
    restore_fp_mode(caller);
}
