/* The EXIF Orientation tag (src/io/image_internal.h), read with libexif.
 *
 * Only IFD 0 counts (IFD 1 describes the thumbnail). A tag that is missing,
 * not a SHORT, or outside 1..8 gives 0: the pixels are used as stored, as
 * PIL's ImageOps.exif_transpose and browsers do. */
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>

#include "image_internal.h"

/* libexif truncates longer blocks to this; IFD 0 is at the start anyway. */
#define EXIF_MAX_BYTES 0xfff0u

int nlcl_exif_orientation(const uint8_t *data, size_t len, int tiff_header) {
    static const uint8_t hdr[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!data) return 0;
    uint8_t *copy = NULL;
    if (tiff_header) { /* libexif wants the "Exif\0\0" of a JPEG APP1 payload first */
        if (len > EXIF_MAX_BYTES) len = EXIF_MAX_BYTES;
        copy = malloc(len + sizeof hdr);
        if (!copy) return 0;
        memcpy(copy, hdr, sizeof hdr);
        memcpy(copy + sizeof hdr, data, len);
        data = copy;
        len += sizeof hdr;
    }
    int v = 0;
    ExifData *ed = len > sizeof hdr && memcmp(data, hdr, sizeof hdr) == 0 ? exif_data_new() : NULL;
    if (ed) {
        /* read as written: no "fixing" of the entries, no maker notes */
        exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
        exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
        exif_data_load_data(ed, data, (unsigned int)(len > EXIF_MAX_BYTES ? EXIF_MAX_BYTES : len));
        ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
        if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2)
            v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        exif_data_unref(ed);
    }
    free(copy);
    return v >= 1 && v <= 8 ? v : 0;
}
