/* Shared by the kernels: 8-lane float vectors (GCC/Clang vector extensions), exp, sigmoid,
 * and a register-blocked matrix-vector product with per-lane weights. */
#ifndef MIC_LANES_H
#define MIC_LANES_H
#include <stddef.h>

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));

static inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/* Lane-wise max and min: one instruction with AVX (the portable select takes four). */
#if defined(__AVX__)
typedef float v8x __attribute__((vector_size(32)));
static inline v8 vmax(v8 a, v8 b) { return (v8)__builtin_ia32_maxps256((v8x)a, (v8x)b); }
static inline v8 vmin(v8 a, v8 b) { return (v8)__builtin_ia32_minps256((v8x)a, (v8x)b); }
#else
static inline v8 vmax(v8 a, v8 b) { v8i m = a > b; return (v8)((m & (v8i)a) | (~m & (v8i)b)); }
static inline v8 vmin(v8 a, v8 b) { v8i m = a < b; return (v8)((m & (v8i)a) | (~m & (v8i)b)); }
#endif

/* float32 exp (Cephes expf): 2^n * p(r), r = x - n ln2, ~1e-7 relative error; branch-free. */
static inline v8 vexp(v8 x) {
    x = vmin(vmax(x, splat(-87.0f)), splat(88.0f));
    v8 n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    v8 r = x - n * 0.693359375f - n * -2.12194440e-4f;
    v8 p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r
             + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r + r + 1.0f;
    v8i bits = (__builtin_convertvector(n, v8i) + 127) << 23;
    return p * (v8)bits;
}

/* 1 / x for x >= 1, to ~2 ulp. A vector division issues only every few cycles on x86 and was the
 * hottest instruction of the sigmoids, so AVX uses the approximate reciprocal and one Newton step. */
static inline v8 recip(v8 x) {
#if defined(__AVX__)
    v8 r = (v8)__builtin_ia32_rcpps256((v8x)x);
    return r + r * (1.0f - x * r);
#else
    return 1.0f / x;
#endif
}

static inline v8 sigmoid(v8 z) { return recip(1.0f + vexp(-z)); }


/* out[i] = (init ? init[i] : 0) + sum_j W(i, j) * v[j] for i < n_out, j < n_sum, each sum in order
 * of j, with per-lane weights W(i, j) = w[i * wi + j * wj]. Eight (then four, then one) outputs at
 * a time keep independent multiply-add chains in flight; one chain per output would wait on the
 * FMA latency. */
static inline void gemv(v8 *out, const v8 *init, const v8 *w, long wi, long wj, const v8 *v, int n_out, int n_sum) {
#define ROWS(R)                                                                      \
    for (; i + (R) <= n_out; i += (R)) {                                             \
        v8 a[R];                                                                     \
        for (int u = 0; u < (R); ++u) a[u] = init ? init[i + u] : splat(0.0f);       \
        for (int j = 0; j < n_sum; ++j) {                                            \
            v8 vj = v[j];                                                            \
            for (int u = 0; u < (R); ++u) a[u] += w[(i + u) * wi + j * wj] * vj;     \
        }                                                                            \
        for (int u = 0; u < (R); ++u) out[i + u] = a[u];                             \
    }
    int i = 0;
    ROWS(8)
    ROWS(4)
    ROWS(1)
#undef ROWS
}

/* One LSTM cell step after the gate sigmoids g [4H] (i, f, g, o; g rows from doubled inputs):
 * g's rows become tanh, and the new cell, its tanh and the hidden state are written. */
static inline void cell_forward(v8 *g, const v8 *cp, v8 *cn, v8 *tc, v8 *hn, int h) {
    const v8 one = splat(1.0f), two = splat(2.0f);
    for (int k = 0; k < h; ++k) {
        v8 gg = two * g[2 * h + k] - one;
        g[2 * h + k] = gg;
        v8 c = g[h + k] * cp[k] + g[k] * gg;
        cn[k] = c;
        v8 tck = two * recip(one + vexp(-two * c)) - one;
        tc[k] = tck;
        hn[k] = g[3 * h + k] * tck;
    }
}

/* Its backward: gate gradients dz [4H] (may be g itself) from dh, and dc carried to the step before. */
static inline void cell_backward(v8 *dz, const v8 *g, const v8 *cp, const v8 *tc, const v8 *dh, v8 *dc, int h) {
    const v8 one = splat(1.0f);
    for (int k = 0; k < h; ++k) {
        v8 ii = g[k], ff = g[h + k], gg = g[2 * h + k], oo = g[3 * h + k], tck = tc[k];
        v8 dck = dc[k] + dh[k] * oo * (one - tck * tck);
        dz[k] = dck * gg * ii * (one - ii);
        dz[h + k] = dck * cp[k] * ff * (one - ff);
        dz[2 * h + k] = dck * ii * (one - gg * gg);
        dz[3 * h + k] = dh[k] * tck * oo * (one - oo);
        dc[k] = dck * ff;
    }
}

#endif
