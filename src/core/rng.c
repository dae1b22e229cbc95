/* PCG32 random generator (include/nlcl/rng.h). Reference: M. O'Neill,
 * "PCG: A Family of Simple Fast Space-Efficient Statistically Good
 * Algorithms for Random Number Generation", 2014 (pcg32, XSH-RR output). */
#include "nlcl/rng.h"

#include <math.h>

void nlcl_rng_seed(nlcl_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0u;
    r->inc = (stream << 1u) | 1u;
    (void)nlcl_rng_u32(r);
    r->state += seed;
    (void)nlcl_rng_u32(r);
}

uint32_t nlcl_rng_u32(nlcl_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t nlcl_rng_below(nlcl_rng *r, uint32_t n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = nlcl_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

double nlcl_rng_uniform(nlcl_rng *r) {
    uint64_t hi = nlcl_rng_u32(r) >> 5;  /* 27 bits */
    uint64_t lo = nlcl_rng_u32(r) >> 6;  /* 26 bits */
    return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

double nlcl_rng_normal(nlcl_rng *r) {
    double u1 = nlcl_rng_uniform(r);
    double u2 = nlcl_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
