/* Shared by the kernels: float vectors of MIC_LANES lanes (GCC/Clang vector extensions), exp,
 * sigmoid, a register-blocked matrix-vector product with per-lane weights, the LSTM cell, and the
 * description of the kernels' structs that Python checks its ctypes mirrors against. */
#ifndef MIC_LANES_H
#define MIC_LANES_H
#include <stddef.h>

/* The lane width, the one place it is written down: a 512-bit vector where the target has
 * AVX-512, else 256-bit. -DMIC_LANES=8 or 16 overrides it, so either width builds (and is tested)
 * on any machine; a vector wider than the registers is split by the compiler. */
#ifndef MIC_LANES
#if defined(__AVX512F__)
#define MIC_LANES 16
#else
#define MIC_LANES 8
#endif
#endif
#if MIC_LANES != 8 && MIC_LANES != 16
#error "MIC_LANES must be 8 or 16"
#endif

typedef float vf __attribute__((vector_size(4 * MIC_LANES), aligned(4)));
typedef int vi __attribute__((vector_size(4 * MIC_LANES), aligned(4)));

/* The instructions the vector helpers below use, as mic_isa() reports them: with the same value,
 * they compute the same function per lane at either width (where the compiler fuses multiply-adds
 * can still differ: GCC fuses fewer when it splits 16-lane vectors into AVX2 pairs). */
#if defined(__AVX512F__) && MIC_LANES == 16
#define MIC_ISA "avx512"
#include <immintrin.h>
#elif defined(__AVX__)
#define MIC_ISA "avx"
typedef float v8x __attribute__((vector_size(32)));
/* A vector as the 256-bit registers it spans. */
typedef union {
    vf v;
    v8x r[MIC_LANES / 8];
} ymms;
#else
#define MIC_ISA "generic"
#endif

int mic_lanes(void) { return MIC_LANES; }
const char *mic_isa(void) { return MIC_ISA; }

/* x in every lane (the scalar is broadcast to the vector; subtracting +0 is exact, -0 included). */
static inline vf splat(float x) { return x - (vf){}; }

/* Lane-wise max and min: one instruction per register with AVX (the portable select takes four,
 * and gives the same result: the second operand where the comparison fails). */
#if defined(__AVX512F__) && MIC_LANES == 16
static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
static inline vf vmin(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
#elif defined(__AVX__)
static inline vf vmax(vf a, vf b) {
    ymms x = {a}, y = {b};
    for (int k = 0; k < MIC_LANES / 8; ++k) x.r[k] = __builtin_ia32_maxps256(x.r[k], y.r[k]);
    return x.v;
}
static inline vf vmin(vf a, vf b) {
    ymms x = {a}, y = {b};
    for (int k = 0; k < MIC_LANES / 8; ++k) x.r[k] = __builtin_ia32_minps256(x.r[k], y.r[k]);
    return x.v;
}
#else
static inline vf vmax(vf a, vf b) { vi m = a > b; return (vf)((m & (vi)a) | (~m & (vi)b)); }
static inline vf vmin(vf a, vf b) { vi m = a < b; return (vf)((m & (vi)a) | (~m & (vi)b)); }
#endif

/* x, held in a register. GCC would fold a vector's load into each of its multiply-adds as a memory
 * operand; the loads, not the multiply-adds, then bound the matrix-vector products (~10% slower).
 * Only where the vector fits one register: "v" names the 512-bit ones, "x" the 256-bit ones. */
static inline vf in_register(vf x) {
#if defined(__AVX512F__) && MIC_LANES == 16
    __asm__("" : "+v"(x));
#elif defined(__AVX__) && MIC_LANES == 8
    __asm__("" : "+x"(x));
#endif
    return x;
}

/* float32 exp (Cephes expf): 2^n * p(r), r = x - n ln2, ~1e-7 relative error; branch-free. */
static inline vf vexp(vf x) {
    x = vmin(vmax(x, splat(-87.0f)), splat(88.0f));
    vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    vf r = x - n * 0.693359375f - n * -2.12194440e-4f;
    vf p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r
             + 1.6666665459e-1f) * r + 5.0000001201e-1f) * r * r + r + 1.0f;
    vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
    return p * (vf)bits;
}

/* 1 / x for x >= 1, to ~2 ulp. A vector division issues only every few cycles on x86 and was the
 * hottest instruction of the sigmoids, so AVX uses the approximate reciprocal and one Newton step
 * (AVX-512's is more precise than AVX's, so the two builds round differently). */
static inline vf recip(vf x) {
#if !defined(__AVX__)
    return 1.0f / x;
#else
#if defined(__AVX512F__) && MIC_LANES == 16
    vf r = (vf)_mm512_rcp14_ps((__m512)x);
#else
    ymms y = {x};
    for (int k = 0; k < MIC_LANES / 8; ++k) y.r[k] = __builtin_ia32_rcpps256(y.r[k]);
    vf r = y.v;
#endif
    return r + r * (1.0f - x * r);
#endif
}

static inline vf sigmoid(vf z) { return recip(1.0f + vexp(-z)); }


/* out[i] = (init ? init[i] : 0) + sum_j W(i, j) * v[j] for i < n_out, j < n_sum, each sum in order
 * of j, with per-lane weights W(i, j) = w[i * wi + j * wj]. Eight (then four, then one) outputs at
 * a time keep independent multiply-add chains in flight; one chain per output would wait on the
 * FMA latency. */
static inline void gemv(vf *out, const vf *init, const vf *w, long wi, long wj, const vf *v, int n_out, int n_sum) {
#define ROWS(R)                                                                      \
    for (; i + (R) <= n_out; i += (R)) {                                             \
        vf a[R];                                                                     \
        for (int u = 0; u < (R); ++u) a[u] = init ? init[i + u] : splat(0.0f);       \
        for (int j = 0; j < n_sum; ++j) {                                            \
            vf vj = v[j];                                                            \
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

/* Both kernels take nn.LSTM's weights as they are (gate rows i, f, g, o). tanh(z) = 2 sigmoid(2z) - 1
 * lets the g gate share the sigmoid: its pre-activation is doubled after the matrix-vector product,
 * which is exact, and the gradients below are those of the undoubled one. */

/* One LSTM cell step after the gate sigmoids g [4H] (the g rows of the doubled pre-activation):
 * g's rows become tanh, and the new cell, its tanh and the hidden state are written. */
static inline void cell_forward(vf *g, const vf *cp, vf *cn, vf *tc, vf *hn, int h) {
    const vf one = splat(1.0f), two = splat(2.0f);
    for (int k = 0; k < h; ++k) {
        vf gg = two * g[2 * h + k] - one;
        g[2 * h + k] = gg;
        vf c = g[h + k] * cp[k] + g[k] * gg;
        cn[k] = c;
        vf tck = two * recip(one + vexp(-two * c)) - one;
        tc[k] = tck;
        hn[k] = g[3 * h + k] * tck;
    }
}

/* Its backward: gate gradients dz [4H] (may be g itself) from dh, and dc carried to the step before. */
static inline void cell_backward(vf *dz, const vf *g, const vf *cp, const vf *tc, const vf *dh, vf *dc, int h) {
    const vf one = splat(1.0f);
    for (int k = 0; k < h; ++k) {
        vf ii = g[k], ff = g[h + k], gg = g[2 * h + k], oo = g[3 * h + k], tck = tc[k];
        vf dck = dc[k] + dh[k] * oo * (one - tck * tck);
        dz[k] = dck * gg * ii * (one - ii);
        dz[h + k] = dck * cp[k] * ff * (one - ff);
        dz[2 * h + k] = dck * ii * (one - gg * gg);
        dz[3 * h + k] = dh[k] * tck * oo * (one - oo);
        dc[k] = dck * ff;
    }
}


/* A kernel's struct from one field list, FIELDS(X, S) calling X(S, type, name) per field: its
 * declaration, and functions <prefix>_layout_count/_name/_offset/_size/_bytes describing it, which
 * Python compares with its ctypes mirror on load. */
#define MIC_FIELD_DECLARE(S, type, name) type name;
#define MIC_FIELD_NAME(S, type, name) #name,
#define MIC_FIELD_OFFSET(S, type, name) (long)offsetof(S, name),
#define MIC_FIELD_SIZE(S, type, name) (long)sizeof(((S *)0)->name),
#define MIC_STRUCT(S, FIELDS) typedef struct { FIELDS(MIC_FIELD_DECLARE, S) } S;
#define MIC_LAYOUT(prefix, S, FIELDS)                                                        \
    static const char *const prefix##_names[] = {FIELDS(MIC_FIELD_NAME, S)};                \
    static const long prefix##_offsets[] = {FIELDS(MIC_FIELD_OFFSET, S)};                   \
    static const long prefix##_sizes[] = {FIELDS(MIC_FIELD_SIZE, S)};                       \
    int prefix##_layout_count(void) { return (int)(sizeof prefix##_names / sizeof *prefix##_names); } \
    const char *prefix##_layout_name(int i) { return prefix##_names[i]; }                   \
    long prefix##_layout_offset(int i) { return prefix##_offsets[i]; }                      \
    long prefix##_layout_size(int i) { return prefix##_sizes[i]; }                          \
    long prefix##_layout_bytes(void) { return (long)sizeof(S); }

#endif
