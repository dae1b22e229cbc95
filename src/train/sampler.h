/* Non-local sampling (paper section 3.2, reference section 5.4; the exact rules
 * are in docs/TRAINING.md "Sampling"). A search picks k locations of one image
 * of a feature map by block matching (paper Eq. (7)): squared L2 distance between the 16x16
 * patch (all channels) around each candidate centre in a 40x40 window and the
 * patch around a random anchor, then the k nearest or farthest. */
#ifndef NLCL_TRAIN_SAMPLER_H
#define NLCL_TRAIN_SAMPLER_H

#include <stdint.h>

#include "nlcl/conv.h"
#include "nlcl/rng.h"
#include "nlcl/status.h"
#include "nlcl/train.h" /* nlcl_sampling: the modes */

#define NLCL_PATCH 16
#define NLCL_MIN_SEARCH_SIZE 32

/* Number of candidate centres of the window around an anchor coordinate a
 * along an axis of length n (>= 32): [lo, hi). */
void nlcl_search_window(int a, int n, int *lo, int *hi);
/* Fewest candidates any anchor can give on an h x w map (for validating k). */
int nlcl_search_min_candidates(int h, int w);

/* Search image `img` of the map x (n, c, h, w) in `layout`; h, w >= 32.
 * The anchor is drawn from rng unless anchor_y >= 0 (then (anchor_y,
 * anchor_x) is used: tests inject it). Writes k flattened ids (y*w + x) to
 * ids and, if dist != NULL and the mode searches, their distances; *ay, *ax
 * (may be NULL) receive the anchor. Errors: INVALID_ARG when k exceeds the
 * candidates (or h*w for random), the map is smaller than 32x32, or an
 * injected anchor is closer than 16 pixels to an edge. */
nlcl_status nlcl_search(const float *x, int n, int c, int h, int w, nlcl_layout layout, int img,
                        nlcl_sampling mode, int k, nlcl_rng *rng, int anchor_y, int anchor_x,
                        int32_t *ids, float *dist, int *ay, int *ax);

/* Draw from rng exactly what nlcl_search draws for an h x w map, mode and
 * k with a drawn anchor (the anchor, or the random locations), without
 * searching: a rank of a data-parallel run (nlcl_train_comm) passes over the
 * other ranks' images this way, so that its own images get the numbers a
 * single process gives them. Assumes the arguments nlcl_search accepts. */
void nlcl_search_skip(int h, int w, nlcl_sampling mode, int k, nlcl_rng *rng);
/* nlcl_search (drawn anchors) for images b0 .. b0 + n - 1 of a batch of
 * n_all, image after image from one stream: x holds those n images, ids gets
 * n x k; for the other images rng draws what their search would
 * (nlcl_search_skip). With b0 0 and n = n_all: every image searched. */
nlcl_status nlcl_search_share(const float *x, int n, int n_all, int b0, int c, int h, int w,
                              nlcl_layout layout, nlcl_sampling mode, int k, nlcl_rng *rng,
                              int32_t *ids);

/* Map k ids of an h x w map onto a ht x wt tap: (floor(y*ht/h), floor(x*wt/w)). */
void nlcl_map_ids(const int32_t *ids, int k, int h, int w, int ht, int wt, int32_t *out);

#endif
