/* Shared by the kernels: float vectors of MIC_LANES lanes (GCC/Clang vector extensions), the
 * activations, a register-blocked matrix-vector product with per-lane weights, the LSTM cell, and the
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

/* Denormal floats (below 1.2e-38) cost x86 a microcode assist of ~100 cycles per operation, and the
 * backward passes' decaying gradients reach them, for up to a quarter of a kernel's time. The kernels flush
 * them to zero (MXCSR's FTZ and DAZ bits) while they run and give the caller's mode back on return (the mode
 * is per thread). */
typedef unsigned int mic_fp_mode;
static inline mic_fp_mode flush_denormals(void) {
#if defined(__SSE__)
    mic_fp_mode caller = __builtin_ia32_stmxcsr();
    __builtin_ia32_ldmxcsr(caller | 0x8040);
    return caller;
#else
    return 0;
#endif
}
static inline void restore_fp_mode(mic_fp_mode caller) {
#if defined(__SSE__)
    __builtin_ia32_ldmxcsr(caller);
#else
    (void)caller;
#endif
}

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

/* 1 / x for x > 0, to ~2 ulp. A vector division issues only every few cycles on x86, so AVX uses
 * the approximate reciprocal and one Newton step (AVX-512's is more precise than AVX's, so the two
 * builds round differently). */
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

/* The activations from one odd rational function, x p(x^2) / q(x^2) on x clamped to [-c, c]:
 * 17 operations, where exp and a reciprocal took 23. tanh's coefficients are Eigen's
 * (ptanh_float, a [13/6] minimax fit); sigmoid(z) = 1/2 + tanh(z / 2) / 2 takes the same function with
 * its coefficients scaled by powers of two, which is exact. Largest absolute error on float32
 * inputs, the reciprocal's rounding included: 4.5e-7 (tanh) and 2.7e-7 (sigmoid), tested in
 * tests/test_native.py. */
#define MIC_ODD_RATIONAL(name, a1, a3, a5, a7, a9, a11, a13, b0, b2, b4, b6, c)                   \
    static inline vf name(vf z) {                                                                  \
        vf x = vmin(vmax(z, splat(-(c))), splat(c));                                               \
        vf x2 = x * x;                                                                             \
        vf p = (((((a13 * x2 + a11) * x2 + a9) * x2 + a7) * x2 + a5) * x2 + a3) * x2 + a1;        \
        vf q = ((b6 * x2 + b4) * x2 + b2) * x2 + b0;                                               \
        return (x * p) * recip(q);                                                                 \
    }
MIC_ODD_RATIONAL(vtanh, 4.89352455891786e-03f, 6.37261928875436e-04f, 1.48572235717979e-05f, 5.12229709037114e-08f,
                 -8.60467152213735e-11f, 2.00018790482477e-13f, -2.76076847742355e-16f, 4.89352518554385e-03f,
                 2.26843463243900e-03f, 1.18534705686654e-04f, 1.19825839466702e-06f, 7.90531110763549805f)
MIC_ODD_RATIONAL(half_tanh_half, 4.89352455891786e-03f / 4, 6.37261928875436e-04f / 16, 1.48572235717979e-05f / 64,
                 5.12229709037114e-08f / 256, -8.60467152213735e-11f / 1024, 2.00018790482477e-13f / 4096,
                 -2.76076847742355e-16f / 16384, 4.89352518554385e-03f, 2.26843463243900e-03f / 4,
                 1.18534705686654e-04f / 16, 1.19825839466702e-06f / 64, 2 * 7.90531110763549805f)
#undef MIC_ODD_RATIONAL

static inline vf sigmoid(vf z) { return 0.5f + half_tanh_half(z); }  /* the add fuses into its last multiply */

/* The gate activations of one LSTM step in place, rows i, f, g, o of h each (nn.LSTM's order):
 * tanh for g, sigmoid for the others. */
static inline void gate_activations(vf *g, int h) {
    for (int r = 0; r < 2 * h; ++r) g[r] = sigmoid(g[r]);
    for (int r = 2 * h; r < 3 * h; ++r) g[r] = vtanh(g[r]);
    for (int r = 3 * h; r < 4 * h; ++r) g[r] = sigmoid(g[r]);
}

/* Exported for the tests of the activations' error: out[i] = tanh or sigmoid of x[i], n a multiple of
 * MIC_LANES. */
void mic_activations(const float *x, float *out_tanh, float *out_sigmoid, long n) {
    for (long i = 0; i < n; i += MIC_LANES) {
        vf v;
        __builtin_memcpy(&v, x + i, sizeof v);
        vf t = vtanh(v), s = sigmoid(v);
        __builtin_memcpy(out_tanh + i, &t, sizeof t);
        __builtin_memcpy(out_sigmoid + i, &s, sizeof s);
    }
}


/* out[i] = (init ? init[i] : 0) + sum_j W(i, j) * v[j] for i < n_out, j < n_sum, with per-lane
 * weights W(i, j) = w[i * wi + j * wj]. Eight outputs at a time keep eight independent multiply-add
 * chains in flight (one chain per output would wait on the FMA latency); the last n_out % 4 outputs
 * split their sums into four partial sums (j modulo 4) to keep more chains too. */
static inline void gemv(vf *out, const vf *init, const vf *w, long wi, long wj, const vf *v, int n_out, int n_sum) {
#define SPLIT(R, S)                                                                                \
    for (; i + (R) <= n_out; i += (R)) {                                                           \
        vf a[R][S];                                                                                \
        for (int u = 0; u < (R); ++u)                                                              \
            for (int s = 0; s < (S); ++s) a[u][s] = s == 0 && init ? init[i + u] : splat(0.0f);    \
        int j = 0;                                                                                 \
        for (; j + (S) <= n_sum; j += (S))                                                         \
            for (int s = 0; s < (S); ++s) {                                                        \
                vf vj = v[j + s];                                                                  \
                for (int u = 0; u < (R); ++u) a[u][s] += w[(i + u) * wi + (j + s) * wj] * vj;    \
            }                                                                                      \
        for (; j < n_sum; ++j)                                                                     \
            for (int u = 0; u < (R); ++u) a[u][0] += w[(i + u) * wi + j * wj] * v[j];              \
        for (int u = 0; u < (R); ++u) {                                                            \
            for (int width = (S) / 2; width > 0; width /= 2)                                       \
                for (int s = 0; s < width; ++s) a[u][s] += a[u][s + width];                        \
            out[i + u] = a[u][0];                                                                  \
        }                                                                                          \
    }
    int i = 0;
    SPLIT(8, 1)
    SPLIT(4, 1)
    SPLIT(1, 4)
#undef SPLIT
}

/* Both kernels take nn.LSTM's weights as they are (gate rows i, f, g, o). */

/* One LSTM cell step after the gate activations g [4H]: the new cell, its tanh and the hidden state. */
static inline void cell_forward(const vf *g, const vf *cp, vf *cn, vf *tc, vf *hn, int h) {
    for (int k = 0; k < h; ++k) {
        vf c = g[h + k] * cp[k] + g[k] * g[2 * h + k];
        cn[k] = c;
        vf tck = vtanh(c);
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
