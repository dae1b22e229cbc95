/* The training samples (samples/<iter>.png: input, derained and rain layer
 * side by side under the labels "input", "derained", "rain layer"). Not
 * installed. */
#ifndef NLCL_TRAIN_SAMPLE_H
#define NLCL_TRAIN_SAMPLE_H

#include <stddef.h>

#include "nlcl/status.h"

/* Height of a label strip in pixels: 7-pixel glyphs with 2 pixels above and
 * below. */
#define NLCL_LABEL_HEIGHT 11

/* Width in pixels of text drawn by nlcl_label_draw (6 per character). */
int nlcl_label_width(const char *text);

/* The label of sample panel 0 (the input), 1 (derained) or 2 (rain layer)
 * that fits max_w pixels: "input", "derained", "rain layer", else shorter
 * ("rain"), else the paper's letters "O", "B", "R" (from a crop of 32). */
const char *nlcl_label_panel(int panel, int max_w);

/* Draw text in white (1.0 in all three planes) with its top-left glyph pixel
 * at (x0, y0) of an image of three planes `plane` floats apart, `stride`
 * floats per row; nothing right of x0 + max_w. Letters other than the few
 * the labels use (a d e i l n p r t u y B O R) are blank. */
void nlcl_label_draw(float *plane0, size_t plane, int stride, int x0, int y0, int max_w,
                     const char *text);

/* Write the PNG at path: O | B | R (NCHW planes of one image, 3 x ch x cw,
 * values in [-1, 1], clamped), R NULL for two panels, under a black strip
 * naming the panels (nlcl_label_panel). Errors: those of
 * nlcl_image_save_png (NLCL_ERR_IO naming path), NLCL_ERR_NOMEM. */
nlcl_status nlcl_sample_save(const char *path, const float *O, const float *B, const float *R, int ch,
                             int cw);

#endif
