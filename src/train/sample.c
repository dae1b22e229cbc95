/* The training samples, samples/<iter>.png (src/train/sample.h): the panels
 * and their labels, in a 5x7 bitmap font of the few letters the labels use,
 * drawn white on a black strip. No font library is needed for fourteen
 * letters. */
#include "train/sample.h"

#include <string.h>

#include "core/internal.h"
#include "nlcl/image.h"

/* rows top to bottom, bit 4 = leftmost column */
typedef struct glyph {
    char c;
    unsigned char rows[7];
} glyph;

static const glyph font[] = {
    {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'a', {0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F}},
    {'d', {0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F}},
    {'e', {0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E}},
    {'i', {0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E}},
    {'l', {0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'p', {0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10}},
    {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
    {'t', {0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D}},
    {'y', {0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E}},
};

static const unsigned char *rows_of(char c) {
    for (size_t i = 0; i < sizeof font / sizeof *font; i++)
        if (font[i].c == c) return font[i].rows;
    return NULL; /* space and anything else: blank */
}

int nlcl_label_width(const char *text) { return 6 * (int)strlen(text) - 1; }

const char *nlcl_label_panel(int panel, int max_w) {
    /* each panel's names, longest first: the paper's letters (O = B + R) last */
    static const char *const names[3][3] = {{"input", "O", NULL},
                                            {"derained", "B", NULL},
                                            {"rain layer", "rain", "R"}};
    const char *const *n = names[panel < 0 ? 0 : panel > 2 ? 2 : panel];
    int k = 0;
    while (k < 2 && n[k + 1] && nlcl_label_width(n[k]) > max_w) k++;
    return n[k];
}

void nlcl_label_draw(float *plane0, size_t plane, int stride, int x0, int y0, int max_w,
                     const char *text) {
    for (int k = 0; text[k]; k++) {
        const unsigned char *g = rows_of(text[k]);
        for (int r = 0; g && r < 7; r++)
            for (int c = 0; c < 5; c++) {
                int x = x0 + 6 * k + c;
                if (x >= x0 + max_w || !(g[r] >> (4 - c) & 1)) continue;
                for (int ch = 0; ch < 3; ch++)
                    plane0[(size_t)ch * plane + (size_t)(y0 + r) * (size_t)stride + (size_t)x] = 1.0f;
            }
    }
}

nlcl_status nlcl_sample_save(const char *path, const float *O, const float *B, const float *R, int ch,
                             int cw) {
    const int panels = R ? 3 : 2, top = NLCL_LABEL_HEIGHT, H = ch + top;
    nlcl_image img = {0};
    NLCL_TRY(nlcl_image_alloc(&img, H, panels * cw));
    size_t plane = (size_t)ch * cw, W = (size_t)panels * cw, P = W * (size_t)H;
    for (size_t i = 0; i < 3 * P; i++) img.data[i] = -1.0f;
    const float *src[3] = {O, B, R};
    for (int p = 0; p < panels; p++) {
        nlcl_label_draw(img.data, P, (int)W, p * cw + 2, 2, cw - 2, nlcl_label_panel(p, cw - 2));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < ch; y++)
                memcpy(img.data + c * P + (size_t)(y + top) * W + (size_t)p * cw,
                       src[p] + c * plane + (size_t)y * cw, sizeof(float) * (size_t)cw);
    }
    nlcl_status s = nlcl_image_save_png(path, &img, NLCL_QUANT_ROUND, 0);
    nlcl_image_free(&img);
    return s;
}
