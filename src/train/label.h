/* Text labels on the training samples (samples/<iter>.png: "input",
 * "derained", "rain layer" over their panels). Not installed. */
#ifndef NLCL_TRAIN_LABEL_H
#define NLCL_TRAIN_LABEL_H

#include <stddef.h>

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

#endif
