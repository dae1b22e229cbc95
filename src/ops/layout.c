/* Activation layouts (include/nlcl/conv.h): NCHW, oneDNN's blocked nChw<B>c,
 * channels-last NHWC; conversions between them, and float32 -> bfloat16
 * rounding (src/ops/conv_bf16.h). */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <string.h>

#include "../core/internal.h"
#include "conv_bf16.h"
#include "conv_internal.h"
#include "ops_check.h"

int nlcl_layout_block(void) {
    static int block = 0;
    if (!block) block = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? 16 : 8;
    return block;
}

int nlcl_layout_lanes(nlcl_layout layout, int c) {
    switch (layout) {
    case NLCL_NCHW: return 1;
    case NLCL_BLOCKED: return nlcl_layout_block();
    case NLCL_NHWC: return c;
    }
    return 0;
}

size_t nlcl_layout_numel(nlcl_layout layout, int n, int c, int h, int w) {
    size_t cc = (size_t)c;
    if (layout == NLCL_BLOCKED) {
        size_t b = (size_t)nlcl_layout_block();
        cc = (cc + b - 1) / b * b;
    }
    return (size_t)n * cc * (size_t)h * (size_t)w;
}

/* Channels-last (NHWC) and the blocked layout nChw<B>c of C channels in
 * blocks of B are the same pixels with each pixel's C values split into C/B
 * runs of B: plain copies of runs (faster than oneDNN 2.6's generic reorder
 * between them: with these a bf16 derain on the AMX host of
 * docs/BENCHMARKS.md took 0.92 s instead of 1.06 s, before NHWC generators).
 * RUN: bytes per run, a constant so that each copy is one vector move. */
#define SPLIT_COPY(RUN)                                                                      \
    for (size_t n = 0; n < nb; n++) {                                                        \
        const char *fn = f + n * cb * hw * (RUN);                                            \
        char *tn = t + n * cb * hw * (RUN);                                                  \
        _Pragma("omp parallel for schedule(static) if (hw * cb > 8192)")                     \
        for (size_t s = 0; s < hw; s++)                                                      \
            for (size_t b = 0; b < cb; b++) {                                                \
                size_t blk = (b * hw + s) * (RUN), nhwc = (s * cb + b) * (RUN);              \
                if (to_nhwc)                                                                 \
                    memcpy(tn + nhwc, fn + blk, (RUN));                                      \
                else                                                                         \
                    memcpy(tn + blk, fn + nhwc, (RUN));                                      \
            }                                                                                \
    }

/* (nb, c, h, w) of hw = h*w pixels, esz bytes per element, c a multiple of
 * the block; to_nhwc: blocked -> NHWC, else back. */
void nlcl_layout_split_copy(size_t esz, size_t nb, size_t c, size_t hw, const void *from, void *to,
                            int to_nhwc) {
    const size_t B = (size_t)nlcl_layout_block(), cb = c / B, run = B * esz;
    const char *f = from;
    char *t = to;
    if (run == 64) {
        SPLIT_COPY(64)
    } else if (run == 32) {
        SPLIT_COPY(32)
    } else {
        SPLIT_COPY(run)
    }
}

nlcl_status nlcl_layout_convert(const float *src, nlcl_layout from, float *dst, nlcl_layout to,
                                int n, int c, int h, int w) {
    NLCL_TRY(nlcl_check_shape(__func__, n, c, h, w, from));
    NLCL_TRY(nlcl_check_shape(__func__, n, c, h, w, to));
    NLCL_ARG_NONNULL(src && dst);
    NLCL_ARG_CHECK(src != dst, "source and destination are the same buffer");
    size_t hw = (size_t)h * w;
    if (from == to) {
        memcpy(dst, src, nlcl_layout_numel(from, n, c, h, w) * sizeof(float));
        return NLCL_OK;
    }
    if (from != NLCL_NCHW && to != NLCL_NCHW && c % nlcl_layout_block() == 0) { /* BLOCKED <-> NHWC */
        nlcl_layout_split_copy(sizeof(float), (size_t)n, (size_t)c, hw, src, dst, to == NLCL_NHWC);
        return NLCL_OK;
    }
    if (from == NLCL_NHWC || to == NLCL_NHWC) {
        /* element (n, c, s) at ((n*G + c/L)*hw + s)*L + c%L in every layout */
        const int Lf = nlcl_layout_lanes(from, c), Lt = nlcl_layout_lanes(to, c);
        const size_t Gf = (size_t)(c + Lf - 1) / Lf, Gt = (size_t)(c + Lt - 1) / Lt;
        if (to == NLCL_BLOCKED) memset(dst, 0, nlcl_layout_numel(to, n, c, h, w) * sizeof(float));
#pragma omp parallel for collapse(2) schedule(static)
        for (int in = 0; in < n; in++)
            for (int ch = 0; ch < c; ch++)
                for (size_t s = 0; s < hw; s++)
                    dst[((in * Gt + ch / Lt) * hw + s) * Lt + ch % Lt] =
                        src[((in * Gf + ch / Lf) * hw + s) * Lf + ch % Lf];
        return NLCL_OK;
    }
    const int B = nlcl_layout_block();
    int cb = (c + B - 1) / B;
    if (from == NLCL_NCHW && to == NLCL_BLOCKED) {
#pragma omp parallel for collapse(2) schedule(static)
        for (int in = 0; in < n; in++)
            for (int b = 0; b < cb; b++) {
                float *d = dst + ((size_t)in * cb + b) * hw * B;
                for (size_t s = 0; s < hw; s++)
                    for (int l = 0; l < B; l++) {
                        int ch = b * B + l;
                        d[s * B + l] = ch < c ? src[((size_t)in * c + ch) * hw + s] : 0.0f;
                    }
            }
    } else {
#pragma omp parallel for collapse(2) schedule(static)
        for (int in = 0; in < n; in++)
            for (int ch = 0; ch < c; ch++) {
                const float *s0 = src + ((size_t)in * cb + ch / B) * hw * B + ch % B;
                float *d = dst + ((size_t)in * c + ch) * hw;
                for (size_t s = 0; s < hw; s++) d[s] = s0[s * B];
            }
    }
    return NLCL_OK;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* vcvtneps2bf16 rounds as nlcl_f32_to_bf16 (to nearest even, subnormals to a
 * zero of their sign, NaN kept quiet; tests/test_bf16.c compares them).
 * Called only where the CPU has AVX512_BF16; the one function of the portable
 * library with AVX-512 code outside the load-time clones, under a name the
 * check in tests/package/install.sh knows (the suffix _avx512bf16). */
__attribute__((target("avx512f,avx512bf16"))) static void to_bf16_avx512bf16(const float *x, uint16_t *y,
                                                                      size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh b = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
        _mm256_storeu_si256((__m256i *)(void *)(y + i), (__m256i)b);
    }
    for (; i < n; i++) y[i] = nlcl_f32_to_bf16(x[i]);
}

static int have_bf16_isa(void) { return __builtin_cpu_supports("avx512bf16") != 0; }
#endif

void nlcl_f32_to_bf16_run(const float *x, uint16_t *y, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_bf16_isa()) {
        to_bf16_avx512bf16(x, y, n);
        return;
    }
#endif
#pragma omp simd
    for (size_t i = 0; i < n; i++) y[i] = nlcl_f32_to_bf16(x[i]);
}

#define BF16_CHUNK 16384 /* floats per work item of nlcl_f32_to_bf16_n */

void nlcl_f32_to_bf16_n(const float *x, uint16_t *y, size_t n) {
    const long items = (long)((n + BF16_CHUNK - 1) / BF16_CHUNK);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (long k = 0; k < items; k++) {
        size_t o = (size_t)k * BF16_CHUNK;
        nlcl_f32_to_bf16_run(x + o, y + o, NLCL_MIN((size_t)BF16_CHUNK, n - o));
    }
}

void nlcl_bf16_round_n(float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) x[i] = nlcl_bf16_to_f32(nlcl_f32_to_bf16(x[i]));
}
