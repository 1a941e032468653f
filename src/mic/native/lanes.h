/* Shared by the kernels: 8-lane float vectors (GCC/Clang vector extensions), exp, sigmoid,
 * and a register-blocked matrix-vector product. */
#ifndef MIC_LANES_H
#define MIC_LANES_H
#include <stddef.h>

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));

static inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

static inline v8 vmax(v8 a, v8 b) { v8i m = a > b; return (v8)((m & (v8i)a) | (~m & (v8i)b)); }
static inline v8 vmin(v8 a, v8 b) { v8i m = a < b; return (v8)((m & (v8i)a) | (~m & (v8i)b)); }

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

static inline v8 sigmoid(v8 z) { return 1.0f / (1.0f + vexp(-z)); }


/* out[i] = (init ? init[i] : 0) + sum_j w[i * wi + j * wj] * v[j] for i < n_out, j < n_sum, each sum
 * in order of j. Eight (then four, then one) outputs at a time keep independent multiply-add chains
 * in flight; one chain per output would wait on the FMA latency. */
static inline void gemv(v8 *out, const v8 *init, const v8 *w, long wi, long wj, const v8 *v, int n_out, int n_sum) {
    int i = 0;
    for (; i + 8 <= n_out; i += 8) {
        v8 a[8];
        for (int u = 0; u < 8; ++u) a[u] = init ? init[i + u] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) {
            v8 vj = v[j];
            for (int u = 0; u < 8; ++u) a[u] += w[(i + u) * wi + j * wj] * vj;
        }
        for (int u = 0; u < 8; ++u) out[i + u] = a[u];
    }
    for (; i + 4 <= n_out; i += 4) {
        v8 a[4];
        for (int u = 0; u < 4; ++u) a[u] = init ? init[i + u] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) {
            v8 vj = v[j];
            for (int u = 0; u < 4; ++u) a[u] += w[(i + u) * wi + j * wj] * vj;
        }
        for (int u = 0; u < 4; ++u) out[i + u] = a[u];
    }
    for (; i < n_out; ++i) {
        v8 a = init ? init[i] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) a += w[i * wi + j * wj] * v[j];
        out[i] = a;
    }
}

/* As gemv, with weights shared by all lanes (one float each). */
static inline void gemv_shared(v8 *out, const v8 *init, const float *w, long wi, long wj, const v8 *v, int n_out,
                               int n_sum) {
    int i = 0;
    for (; i + 8 <= n_out; i += 8) {
        v8 a[8];
        for (int u = 0; u < 8; ++u) a[u] = init ? init[i + u] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) {
            v8 vj = v[j];
            for (int u = 0; u < 8; ++u) a[u] += w[(i + u) * wi + j * wj] * vj;
        }
        for (int u = 0; u < 8; ++u) out[i + u] = a[u];
    }
    for (; i + 4 <= n_out; i += 4) {
        v8 a[4];
        for (int u = 0; u < 4; ++u) a[u] = init ? init[i + u] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) {
            v8 vj = v[j];
            for (int u = 0; u < 4; ++u) a[u] += w[(i + u) * wi + j * wj] * vj;
        }
        for (int u = 0; u < 4; ++u) out[i + u] = a[u];
    }
    for (; i < n_out; ++i) {
        v8 a = init ? init[i] : splat(0.0f);
        for (int j = 0; j < n_sum; ++j) a += w[i * wi + j * wj] * v[j];
        out[i] = a;
    }
}

#endif
