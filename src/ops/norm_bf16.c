/* Instance norm of bfloat16 input (norm_internal.h): the statistics and
 * output passes of nlcl_instance_norm_forward_bf16 when it reads the bf16
 * output of a convolution (conv_bf16.h, NLCL_BF16_DST) instead of floats.
 *
 * The arithmetic is that of norm.c's float kernels on the values widened
 * exactly to float: per virtual lane (16, or 32 for 32 lanes, or L when L
 * divides neither), d = x - shift and d * d summed in double in pixel order,
 * then folded into the L real lanes (nlcl_in_fold_lanes); y = res +
 * f((x - m) * r) in float, rounded to bf16 as nlcl_f32_to_bf16 rounds. So a
 * bf16 tensor's statistics and outputs are bit for bit those of its floats,
 * which is what the band pipeline (src/nn/gen_bands.c) computes from
 * floats rounded to bf16.
 *
 * bf16 models run only where the CPU has AVX512_BF16 (conv_bf16.h), so the
 * vector loops are AVX-512 intrinsics in functions named *_avx512bf16 (the
 * names tests/package/install.sh allows AVX-512 code in, outside the
 * load-time clones); the scalar loops compute the same floats elsewhere.
 * GCC's generic vectors split the widening and float -> double conversions
 * of these loops into 128-bit pieces, three times the instructions.
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

/* ------------------------------------------------------ AVX512_BF16 loops */
#if defined(__x86_64__) && defined(__GNUC__)
#define NLCL_BF16_TARGET __attribute__((target("avx512f,avx512bf16")))

/* 16 bfloat16 at p widened to float: the 16 bits become the high half */
#define WIDEN16(p) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(p))), 16))
/* 8 bfloat16 at p widened to double (exactly) */
#define WIDEN8D(p) \
    _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p))), 16)))

/* Sums over nv steps of V = 8 * nacc elements into a[V], q[V] (accumulator k
 * holds lanes 8k..8k+7, each added in step order as norm.c's loops add). */
NLCL_BF16_TARGET static void stats_avx512bf16(const uint16_t *x, size_t nv, int nacc,
                                              const double *sh, double *a, double *q) {
    __m512d s[4], A[4], Q[4];
    for (int k = 0; k < nacc; k++) {
        s[k] = _mm512_loadu_pd(sh + 8 * k);
        A[k] = Q[k] = _mm512_setzero_pd();
    }
    if (nacc == 2) {
        for (size_t v = 0; v < nv; v++) {
            const uint16_t *p = x + v * 16;
            __m512d d0 = _mm512_sub_pd(WIDEN8D(p), s[0]), d1 = _mm512_sub_pd(WIDEN8D(p + 8), s[1]);
            A[0] = _mm512_add_pd(A[0], d0);
            A[1] = _mm512_add_pd(A[1], d1);
            Q[0] = _mm512_add_pd(Q[0], _mm512_mul_pd(d0, d0));
            Q[1] = _mm512_add_pd(Q[1], _mm512_mul_pd(d1, d1));
        }
    } else {
        for (size_t v = 0; v < nv; v++)
            for (int k = 0; k < 4; k++) {
                __m512d d = _mm512_sub_pd(WIDEN8D(x + v * 32 + 8 * k), s[k]);
                A[k] = _mm512_add_pd(A[k], d);
                Q[k] = _mm512_add_pd(Q[k], _mm512_mul_pd(d, d));
            }
    }
    for (int k = 0; k < nacc; k++) {
        _mm512_storeu_pd(a + 8 * k, A[k]);
        _mm512_storeu_pd(q + 8 * k, Q[k]);
    }
}

/* y = res + f((x - m) * r) and y16 = bf16(y) over nv steps of 16 elements;
 * step v uses the virtual lanes 16 * (v % nm) of mv, rv (nm = V / 16). */
NLCL_BF16_TARGET static void apply_avx512bf16(const uint16_t *x, const float *res, float *y,
                                              uint16_t *y16, size_t nv, int nm, const float *mv,
                                              const float *rv, int relu) {
    const __m512 zero = _mm512_setzero_ps();
    const __m512 m0 = _mm512_loadu_ps(mv), r0 = _mm512_loadu_ps(rv);
    const __m512 m1 = _mm512_loadu_ps(mv + 16 * (nm - 1)), r1 = _mm512_loadu_ps(rv + 16 * (nm - 1));
    for (size_t v = 0; v < nv; v++) {
        const int odd = (int)(v & 1) & (nm - 1);
        __m512 t = _mm512_mul_ps(_mm512_sub_ps(WIDEN16(x + v * 16), odd ? m1 : m0), odd ? r1 : r0);
        if (relu == NLCL_IN_RELU) t = _mm512_mask_mov_ps(t, _mm512_cmp_ps_mask(t, zero, _CMP_LT_OQ), zero);
        if (relu == NLCL_IN_LEAKY)
            t = _mm512_mask_mul_ps(t, _mm512_cmp_ps_mask(t, zero, _CMP_LT_OQ), t,
                                   _mm512_set1_ps(NLCL_IN_LEAKY_SLOPE));
        if (res) t = _mm512_add_ps(_mm512_loadu_ps(res + v * 16), t);
        if (y) _mm512_storeu_ps(y + v * 16, t);
        _mm256_storeu_si256((__m256i *)(void *)(y16 + v * 16), (__m256i)_mm512_cvtneps_pbh(t));
    }
}

static int have_bf16_isa(void) {
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx512bf16") != 0;
    return have;
}
#else
static int have_bf16_isa(void) { return 0; }
static void stats_avx512bf16(const uint16_t *x, size_t nv, int nacc, const double *sh, double *a,
                             double *q) {
    (void)x, (void)nv, (void)nacc, (void)sh, (void)a, (void)q;
}
static void apply_avx512bf16(const uint16_t *x, const float *res, float *y, uint16_t *y16,
                             size_t nv, int nm, const float *mv, const float *rv, int relu) {
    (void)x, (void)res, (void)y, (void)y16, (void)nv, (void)nm, (void)mv, (void)rv, (void)relu;
}
#endif

/* ------------------------------------------------------------- kernels */

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
    if ((V == 16 || V == 32) && have_bf16_isa()) {
        size_t nv = nfl / (size_t)V;
        stats_avx512bf16(x, nv, V / 8, sh, a, q);
        e = nv * (size_t)V;
    }
    for (; e < nfl; e++) { /* what the loop above did not take (a whole number of steps) */
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
        size_t nv = nfl / (size_t)V * (size_t)(V / 16);
        apply_avx512bf16(x, res, y, y16, nv, V / 16, mv, rv, relu);
        e = nv * 16;
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
