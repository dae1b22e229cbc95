/* bfloat16 convolutions (src/ops/conv2d.c), used by the generator when a
 * model or a training run asks for bf16 precision. Not installed.
 *
 * A bf16 plan multiplies in bfloat16 (8-bit mantissa, float32's range) and
 * accumulates and stores in float32: forward takes src and weights in bf16
 * and writes dst in float32; backward-data takes diff_dst and weights in
 * bf16, writes diff_src in float32; backward-weights takes src and diff_dst
 * in bf16 and writes float32 weight and bias gradients. Weights are always
 * given in float32 (the optimiser's copy) and converted on each call; so are
 * activations, unless the plan is made with src_bf16 (then forward's src is
 * a bf16 buffer, uint16_t, in the plan's layout). oneDNN rounds float32 to
 * bf16 to nearest even, as nlcl_f32_to_bf16 does. Needs AVX512_BF16
 * (oneDNN's avx512_core_bf16 kernels; with AMX, avx512_core_amx, on NHWC
 * activations: nlcl_bf16_prefers_nhwc); Winograd is float32 only, so bf16
 * plans run direct convolutions. */
#ifndef NLCL_OPS_CONV_BF16_H
#define NLCL_OPS_CONV_BF16_H

#include <stddef.h>
#include <stdint.h>

#include "nlcl/conv.h"

/* 1 if this CPU has bfloat16 convolutions (AVX512_BF16). */
int nlcl_bf16_available(void);

/* 1 if this CPU has AMX tiles for bfloat16: oneDNN 2.6's AMX convolution
 * (brgconv:avx512_core_amx) takes channels-last (NLCL_NHWC) activations
 * only; bf16 plans in another layout let oneDNN choose and reorder. */
int nlcl_bf16_prefers_nhwc(void);

/* Flags of nlcl_conv2d_plan_create_ex's bf16_io (bf16 inference plans
 * only): forward takes src (NLCL_BF16_SRC) and/or writes dst (NLCL_BF16_DST)
 * as bfloat16 (uint16_t buffers in the plan's layouts) instead of
 * float32. dst in bf16 is the float32 result rounded to nearest even, as
 * nlcl_f32_to_bf16 rounds it. */
enum { NLCL_BF16_SRC = 1, NLCL_BF16_DST = 2 };

/* nlcl_conv2d_plan_create_rows with bf16 arithmetic (bf16 = 1) and bf16
 * activations in and out of forward as bf16_io says (0 for none). Errors:
 * UNSUPPORTED (no AVX512_BF16); INVALID_ARG for bf16_io flags without bf16
 * or with training; as nlcl_conv2d_plan_create otherwise. */
nlcl_status nlcl_conv2d_plan_create_ex(nlcl_conv2d_plan **plan, const nlcl_conv2d_shape *s,
                                       int pad_top, int pad_bottom, int training, int bf16,
                                       int bf16_io);

/* bfloat16 -> float32 (exact) */
static inline float nlcl_bf16_to_f32(uint16_t h) {
    union {
        uint32_t u;
        float f;
    } v = {(uint32_t)h << 16};
    return v.f;
}

/* float32 -> bfloat16 as oneDNN converts (src/common/bfloat16.cpp and
 * the AVX512_BF16 instruction alike): round to nearest even; subnormals
 * become a zero of their sign; NaN stays a (quiet) NaN. */
static inline uint16_t nlcl_f32_to_bf16(float f) {
    union {
        float f;
        uint32_t u;
    } v = {f};
    /* without branches, so that loops over it vectorise */
    uint32_t r = (v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16;
    r = (v.u & 0x7f800000u) == 0 ? (v.u >> 16) & 0x8000u : r;
    r = (v.u & 0x7fffffffu) > 0x7f800000u ? (v.u >> 16) | 0x40u : r;
    return (uint16_t)r;
}

/* y[i] = bf16(x[i]) for n floats (on all threads). */
void nlcl_f32_to_bf16_n(const float *x, uint16_t *y, size_t n);

/* The same on the calling thread alone: with the AVX512_BF16 instruction
 * (vcvtneps2bf16, the same results) where the CPU has it, which takes a
 * fraction of the time of the integer arithmetic of nlcl_f32_to_bf16. */
void nlcl_f32_to_bf16_run(const float *x, uint16_t *y, size_t n);

/* x[i] = x[i] rounded to bfloat16 and widened back (on all threads): what a
 * plan with NLCL_BF16_DST stores, in float32. */
void nlcl_bf16_round_n(float *x, size_t n);

#endif
