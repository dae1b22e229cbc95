/* nlcl/rng.h - a small deterministic random generator (PCG32, O'Neill 2014).
 *
 * The whole state is two uint64 values, so training checkpoints store it and
 * a resumed run draws exactly the numbers the uninterrupted run would have.
 * Not thread-safe: give each thread its own generator.
 */
#ifndef NLCL_RNG_H
#define NLCL_RNG_H

#include <stdint.h>

#include "nlcl/export.h"

NLCL_API_BEGIN

typedef struct nlcl_rng {
    uint64_t state;
    uint64_t inc; /* stream selector, always odd */
} nlcl_rng;

/* Seed with `seed`; different `stream` values give independent sequences. */
void nlcl_rng_seed(nlcl_rng *r, uint64_t seed, uint64_t stream);
/* Uniform 32-bit value. */
uint32_t nlcl_rng_u32(nlcl_rng *r);
/* Uniform integer in [0, n), unbiased (rejection); n must be > 0. */
uint32_t nlcl_rng_below(nlcl_rng *r, uint32_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double nlcl_rng_uniform(nlcl_rng *r);
/* Standard normal N(0, 1) (Box-Muller, two uniforms per call). */
double nlcl_rng_normal(nlcl_rng *r);

NLCL_API_END
#endif
