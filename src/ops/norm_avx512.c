/* AVX-512 loops of instance norm (norm_internal.h), and the passes over
 * bfloat16 input of nlcl_instance_norm_forward_bf16 (the bf16 output of a
 * convolution: conv_bf16.h, NLCL_BF16_DST).
 *
 * The reductions convert floats to double. GCC 12 splits the conversion of
 * 8 floats held in generic vectors (norm.c) into two 128-bit conversions, an
 * extract and an insert, which made norm.c's statistics loop compute-bound
 * (and the same loop over bf16 input 1.5x slower than over floats). The
 * loops here are AVX-512 intrinsics, compiled for x86-64-v4 and called where
 * the CPU has it (the _avx512 names: tests/package/install.sh allows
 * AVX-512 code there and in the load-time clones only); the bf16 output
 * pass also needs AVX512_BF16 (_avx512bf16), which bf16 models do.
 *
 * The arithmetic is norm.c's, operation for operation (no FMA contraction
 * under -std=c11): per virtual lane, d = x - shift and d * d summed in
 * double in pixel order; g * xhat likewise in the backward; y = res +
 * f((x - m) * r) in float. So the results are bit for bit those of norm.c's
 * generic loops, and a bf16 tensor's statistics and outputs are those of its
 * values widened to float, which is what the band pipeline
 * (src/nn/gen_bands.c) computes from floats rounded to bf16.
 */
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "../core/internal.h"
#include "conv_bf16.h"
#include "norm_internal.h"

#define MAXV 64 /* virtual lanes at most (L <= 64) */

/* virtual lanes of L real lanes, as norm.c's chunk_stats uses them */
static int vlanes(int L) { return L == 32 ? 32 : 16 % L == 0 ? 16 : L; }

#if defined(__x86_64__) && defined(__GNUC__)
#define V4 __attribute__((target("arch=x86-64-v4")))
#define V4_BF16 __attribute__((target("arch=x86-64-v4,avx512bf16")))

/* (libgcc reads the CPU's features once, before main: a load and a test,
 * with no cache of ours for threads to race on) */
int nlcl_in_avx512(void) { return __builtin_cpu_supports("x86-64-v4") != 0; }

static int have_bf16_isa(void) {
    return nlcl_in_avx512() && __builtin_cpu_supports("avx512bf16");
}

/* 8 elements at p as doubles (exact): floats, or bfloat16 (the 16 bits
 * become a float's high half) */
#define LOAD8D(p, bf)                                                                          \
    _mm512_cvtps_pd((bf) ? _mm256_castsi256_ps(_mm256_slli_epi32(                              \
                               _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16)) \
                         : _mm256_loadu_ps((const float *)(p)))
/* 16 bfloat16 at p as floats */
#define WIDEN16(p)                                                                             \
    _mm512_castsi512_ps(                                                                       \
        _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))

/* d = x - s and its square added into A and Q (the 8 lanes of one accumulator) */
#define STATS8(p, bf, s, A, Q)                        \
    do {                                              \
        __m512d d_ = _mm512_sub_pd(LOAD8D(p, bf), s); \
        A = _mm512_add_pd(A, d_);                     \
        Q = _mm512_add_pd(Q, _mm512_mul_pd(d_, d_));  \
    } while (0)

/* nv steps of 8 * nacc elements (nacc 2 or 4 accumulators per sum, in named
 * registers: an array indexed in a loop is kept in memory); bf and nacc are
 * constants in each instance */
static inline __attribute__((always_inline)) V4 void stats_loop(const void *x, const int bf,
                                                                const int nacc, size_t nv,
                                                                const double *sh, double *a,
                                                                double *q) {
    const size_t es = bf ? 2 : 4, step = 8 * (size_t)nacc * es; /* bytes per element, per step */
    const char *p = (const char *)x;
    const __m512d s0 = _mm512_loadu_pd(sh), s1 = _mm512_loadu_pd(sh + 8);
    const __m512d s2 = nacc == 4 ? _mm512_loadu_pd(sh + 16) : s0;
    const __m512d s3 = nacc == 4 ? _mm512_loadu_pd(sh + 24) : s0;
    __m512d A0 = _mm512_setzero_pd(), A1 = A0, A2 = A0, A3 = A0, Q0 = A0, Q1 = A0, Q2 = A0, Q3 = A0;
    for (size_t v = 0; v < nv; v++, p += step) {
        STATS8(p, bf, s0, A0, Q0);
        STATS8(p + 8 * es, bf, s1, A1, Q1);
        if (nacc == 4) {
            STATS8(p + 16 * es, bf, s2, A2, Q2);
            STATS8(p + 24 * es, bf, s3, A3, Q3);
        }
    }
    const __m512d A[4] = {A0, A1, A2, A3}, Q[4] = {Q0, Q1, Q2, Q3};
    for (int k = 0; k < nacc; k++) {
        _mm512_storeu_pd(a + 8 * k, A[k]);
        _mm512_storeu_pd(q + 8 * k, Q[k]);
    }
}

V4 void nlcl_in_stats_avx512(const void *x, int bf, size_t nv, int nacc, const double *sh,
                             double *a, double *q) {
    if (bf && nacc == 4) stats_loop(x, 1, 4, nv, sh, a, q);
    else if (bf) stats_loop(x, 1, 2, nv, sh, a, q);
    else if (nacc == 4) stats_loop(x, 0, 4, nv, sh, a, q);
    else stats_loop(x, 0, 2, nv, sh, a, q);
}

V4 void nlcl_in_bwd_sums_avx512(const float *x, const float *dy, size_t nv, const float *mv,
                                const float *rv, int relu, double *a, double *q) {
    const __m512 m = _mm512_loadu_ps(mv), r = _mm512_loadu_ps(rv), zero = _mm512_setzero_ps();
    const __m512 slope = _mm512_set1_ps(NLCL_IN_LEAKY_SLOPE);
    __m512d A0 = _mm512_setzero_pd(), A1 = A0, Q0 = A0, Q1 = A0;
    for (size_t v = 0; v < nv; v++) {
        __m512 h = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + v * 16), m), r);
        __m512 g = _mm512_loadu_ps(dy + v * 16);
        __mmask16 pos = _mm512_cmp_ps_mask(h, zero, _CMP_GT_OQ);
        if (relu == NLCL_IN_RELU) g = _mm512_maskz_mov_ps(pos, g);
        if (relu == NLCL_IN_LEAKY) g = _mm512_mask_mov_ps(_mm512_mul_ps(g, slope), pos, g);
        __m512d g0 = _mm512_cvtps_pd(_mm512_castps512_ps256(g));
        __m512d g1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(g), 1)));
        __m512d h0 = _mm512_cvtps_pd(_mm512_castps512_ps256(h));
        __m512d h1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(h), 1)));
        A0 = _mm512_add_pd(A0, g0);
        A1 = _mm512_add_pd(A1, g1);
        Q0 = _mm512_add_pd(Q0, _mm512_mul_pd(g0, h0));
        Q1 = _mm512_add_pd(Q1, _mm512_mul_pd(g1, h1));
    }
    _mm512_storeu_pd(a, A0);
    _mm512_storeu_pd(a + 8, A1);
    _mm512_storeu_pd(q, Q0);
    _mm512_storeu_pd(q + 8, Q1);
}

/* One step of 16 elements at e: y = res + f((x - m) * r), y16 = bf16(y) */
#define APPLY16(e, m, r)                                                                      \
    do {                                                                                      \
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(WIDEN16(x + (e)), m), r);                      \
        __mmask16 neg = _mm512_cmp_ps_mask(t, zero, _CMP_LT_OQ);                              \
        if (relu == NLCL_IN_RELU) t = _mm512_mask_mov_ps(t, neg, zero);                       \
        if (relu == NLCL_IN_LEAKY) t = _mm512_mask_mul_ps(t, neg, t, slope);                  \
        if (res) t = _mm512_add_ps(_mm512_loadu_ps(res + (e)), t);                            \
        if (y) _mm512_storeu_ps(y + (e), t);                                                  \
        _mm256_storeu_si256((__m256i *)(void *)(y16 + (e)), (__m256i)_mm512_cvtneps_pbh(t)); \
    } while (0)

/* APPLY16 over nv steps of 16 * nm elements (nm = V / 16: 1 or 2 sets of
 * 16 virtual lanes in mv, rv) */
V4_BF16 static void apply_avx512bf16(const uint16_t *x, const float *res, float *y, uint16_t *y16,
                                     size_t nv, int nm, const float *mv, const float *rv,
                                     int relu) {
    const __m512 zero = _mm512_setzero_ps(), slope = _mm512_set1_ps(NLCL_IN_LEAKY_SLOPE);
    const __m512 m0 = _mm512_loadu_ps(mv), r0 = _mm512_loadu_ps(rv);
    if (nm == 1) {
        for (size_t v = 0; v < nv; v++) APPLY16(v * 16, m0, r0);
        return;
    }
    const __m512 m1 = _mm512_loadu_ps(mv + 16), r1 = _mm512_loadu_ps(rv + 16);
    for (size_t v = 0; v < nv; v++) {
        APPLY16(v * 32, m0, r0);
        APPLY16(v * 32 + 16, m1, r1);
    }
}
#else
int nlcl_in_avx512(void) { return 0; }
static int have_bf16_isa(void) { return 0; }
void nlcl_in_stats_avx512(const void *x, int bf, size_t nv, int nacc, const double *sh, double *a,
                          double *q) {
    (void)x, (void)bf, (void)nv, (void)nacc, (void)sh, (void)a, (void)q;
}
void nlcl_in_bwd_sums_avx512(const float *x, const float *dy, size_t nv, const float *mv,
                             const float *rv, int relu, double *a, double *q) {
    (void)x, (void)dy, (void)nv, (void)mv, (void)rv, (void)relu, (void)a, (void)q;
}
static void apply_avx512bf16(const uint16_t *x, const float *res, float *y, uint16_t *y16,
                             size_t nv, int nm, const float *mv, const float *rv, int relu) {
    (void)x, (void)res, (void)y, (void)y16, (void)nv, (void)nm, (void)mv, (void)rv, (void)relu;
}
#endif

/* ------------------------------------------------------------ bf16 input */

void nlcl_in_chunk_stats_bf16(const uint16_t *x, size_t nfl, int L, const float *shift,
                              double *s1, double *s2) {
    NLCL_ASSERT(L >= 1 && L <= MAXV);
    const int V = vlanes(L);
    double a[MAXV], q[MAXV], sh[MAXV];
    for (int j = 0; j < V; j++) {
        a[j] = q[j] = 0;
        sh[j] = (double)shift[j % L];
    }
    size_t e = 0;
    if ((V == 16 || V == 32) && nlcl_in_avx512()) {
        size_t nv = nfl / (size_t)V;
        nlcl_in_stats_avx512(x, 1, nv, V / 8, sh, a, q);
        e = nv * (size_t)V;
    }
    for (; e < nfl; e++) { /* what the loop above did not take */
        double d = (double)nlcl_bf16_to_f32(x[e]) - sh[e % (size_t)V];
        a[e % (size_t)V] += d;
        q[e % (size_t)V] += d * d;
    }
    if (V == 16) {
        nlcl_in_fold_lanes(a, q, L, s1, s2);
    } else {
        memcpy(s1, a, sizeof(double) * (size_t)L);
        memcpy(s2, q, sizeof(double) * (size_t)L);
    }
}

void nlcl_in_apply_bf16(const uint16_t *x, const float *res, float *y, uint16_t *y16, size_t nfl,
                        int L, const float *m, const float *r, int relu) {
    NLCL_ASSERT(L >= 1 && L <= MAXV);
    const int V = vlanes(L);
    float mv[MAXV], rv[MAXV];
    for (int j = 0; j < V; j++) {
        mv[j] = m[j % L];
        rv[j] = r[j % L];
    }
    size_t e = 0;
    if ((V == 16 || V == 32) && have_bf16_isa()) {
        size_t nv = nfl / (size_t)V;
        apply_avx512bf16(x, res, y, y16, nv, V / 16, mv, rv, relu);
        e = nv * (size_t)V;
    }
    for (; e < nfl; e++) {
        int j = (int)(e % (size_t)V);
        float t = (nlcl_bf16_to_f32(x[e]) - mv[j]) * rv[j];
        if (relu == NLCL_IN_RELU) t = t < 0.0f ? 0.0f : t;
        if (relu == NLCL_IN_LEAKY) t = t < 0.0f ? t * NLCL_IN_LEAKY_SLOPE : t;
        if (res) t = res[e] + t;
        if (y) y[e] = t;
        y16[e] = nlcl_f32_to_bf16(t);
    }
}
