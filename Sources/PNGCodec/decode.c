// PNGCodec decoding: precheck of signature and IHDR, then libpng under setjmp (see shared.c).
#include "shared.h"

// MARK: - Decoding

struct pngc_decoder {
    pngc_error_state error;  // must stay first (used as the libpng error pointer)
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t position;
    png_bytep *rows;
    pngc_info shape;
    size_t row_bytes;
    int used;
};

/// Explains why reading ran past the end of the data, by walking the chunk list.
static void describe_truncation(pngc_error_state *e, const uint8_t *data, size_t size) {
    if (size < 8) {
        pngci_set_message(e, PNGC_CORRUPT, "truncated: the file is only %zu bytes; the PNG signature alone is 8", size);
        return;
    }
    size_t p = 8;
    char last[20] = "";
    for (int guard = 0; guard < 1000000; guard++) {
        if (p == size) {
            if (last[0] == '\0')
                pngci_set_message(e, PNGC_CORRUPT, "truncated: the file ends right after the PNG signature (%zu bytes)", size);
            else
                pngci_set_message(e, PNGC_CORRUPT, "truncated: the file ends after the %s chunk (%zu bytes), before IEND", last, size);
            return;
        }
        if (size - p < 8) {
            pngci_set_message(e, PNGC_CORRUPT, "truncated: the file ends inside a chunk header at byte %zu%s%s",
                        size, last[0] ? ", after the " : "", last[0] ? last : "");
            return;
        }
        uint32_t length = pngci_read_be32(data + p);
        char name[20];
        pngci_chunk_name(data + p + 4, name);
        uint64_t total = 12ull + length;
        if ((uint64_t)(size - p) < total) {
            size_t present = size - p - 8;
            if (present >= length)
                pngci_set_message(e, PNGC_CORRUPT, "truncated: the file ends in the CRC of the %s chunk (%zu bytes)", name, size);
            else
                pngci_set_message(e, PNGC_CORRUPT, "truncated: the file ends in %s chunk (%zu of its %u data bytes present; file is %zu bytes)",
                            name, present, length, size);
            return;
        }
        memcpy(last, name, sizeof last);
        p += (size_t)total;
    }
    pngci_set_message(e, PNGC_CORRUPT, "truncated: unexpected end of data (%zu bytes)", size);
}

static void decoder_read_fn(png_structp png, png_bytep out, size_t length) {
    struct pngc_decoder *d = (struct pngc_decoder *)png_get_io_ptr(png);
    if (d == NULL || length > d->size - d->position) {
        if (d != NULL) describe_truncation(&d->error, d->data, d->size);
        png_error(png, "truncated");
    }
    memcpy(out, d->data + d->position, length);
    d->position += length;
}

/// Checks signature and IHDR ourselves so dimension problems get precise
/// messages (and limits apply before libpng allocates anything).
static pngc_status precheck(pngc_error_state *e, const uint8_t *data, size_t size, uint64_t max_pixels) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (size == 0) {
        pngci_set_message(e, PNGC_NOT_PNG, "the file is empty (0 bytes)");
        return e->status;
    }
    size_t n = size < 8 ? size : 8;
    if (memcmp(data, signature, n) != 0) {
        char hex[40] = "";
        size_t len = 0;
        for (size_t i = 0; i < n; i++) len += (size_t)snprintf(hex + len, sizeof hex - len, i ? " %02X" : "%02X", data[i]);
        pngci_set_message(e, PNGC_NOT_PNG, "PNG signature missing: first bytes are %s", hex);
        return e->status;
    }
    if (size < 8 + 8 + 13 + 4) {
        describe_truncation(e, data, size);
        return e->status;
    }
    uint32_t length = pngci_read_be32(data + 8);
    char name[20];
    pngci_chunk_name(data + 12, name);
    if (memcmp(data + 12, "IHDR", 4) != 0) {
        pngci_set_message(e, PNGC_CORRUPT, "the first chunk is %s, but a PNG must start with IHDR", name);
        return e->status;
    }
    if (length != 13) {
        pngci_set_message(e, PNGC_CORRUPT, "the IHDR chunk has length %u; it must be 13", length);
        return e->status;
    }
    if (pngci_crc32_of(data + 12, 4 + 13) != pngci_read_be32(data + 29)) {
        pngci_set_message(e, PNGC_CORRUPT, "CRC error in IHDR chunk");
        return e->status;
    }
    uint32_t width = pngci_read_be32(data + 16), height = pngci_read_be32(data + 20);
    if (width == 0 || height == 0) {
        pngci_set_message(e, PNGC_CORRUPT, "IHDR declares a %u\xC3\x97%u image; width and height must be at least 1", width, height);
        return e->status;
    }
    if (width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
        pngci_set_message(e, PNGC_CORRUPT, "IHDR declares a %u\xC3\x97%u image; PNG allows at most 2147483647 per side", width, height);
        return e->status;
    }
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels) {
        char have[48], limit[48];
        pngci_format_pixels(pixels, have, sizeof have);
        pngci_format_pixels(max_pixels, limit, sizeof limit);
        pngci_set_message(e, PNGC_TOO_LARGE, "image is %u\xC3\x97%u = %s; the limit is %s", width, height, have, limit);
        return e->status;
    }
    if (width > PNGC_MAX_SIDE || height > PNGC_MAX_SIDE) {
        pngci_set_message(e, PNGC_TOO_LARGE, "image is %u\xC3\x97%u; each side is limited to %u pixels", width, height, PNGC_MAX_SIDE);
        return e->status;
    }
    return PNGC_OK;
}

static void decoder_destroy(struct pngc_decoder *d) {
    if (d == NULL) return;
    if (d->png != NULL) png_destroy_read_struct(&d->png, d->info != NULL ? &d->info : NULL, NULL);
    free(d->rows);
    free(d);
}

pngc_status pngc_decoder_open(const uint8_t *data, size_t size, uint64_t max_pixels,
                              pngc_decoder **out, pngc_info *info,
                              char *message, size_t message_capacity) {
    if (out != NULL) *out = NULL;
    pngc_error_state early;
    pngci_begin_call(&early, message, message_capacity);
    if (out == NULL || info == NULL || (data == NULL && size != 0)) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_open: NULL argument");
        return early.status;
    }
    if (precheck(&early, data, size, max_pixels) != PNGC_OK) return early.status;

    struct pngc_decoder *d = (struct pngc_decoder *)calloc(1, sizeof *d);
    if (d == NULL) {
        pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG decoder");
        return early.status;
    }
    pngci_begin_call(&d->error, message, message_capacity);
    d->data = data;
    d->size = size;
    d->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &d->error, pngci_on_libpng_error, pngci_on_libpng_warning,
                                      &d->error, pngci_capped_malloc, pngci_capped_free);
    if (d->png != NULL) d->info = png_create_info_struct(d->png);
    if (d->png == NULL || d->info == NULL) {
        decoder_destroy(d);
        pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG decoder");
        return early.status;
    }

    if (setjmp(png_jmpbuf(d->png))) {
        pngc_status status = d->error.status != PNGC_OK ? d->error.status : PNGC_INTERNAL;
        decoder_destroy(d);
        return status;
    }
    png_set_read_fn(d->png, d, decoder_read_fn);
    png_set_user_limits(d->png, PNGC_MAX_SIDE, PNGC_MAX_SIDE);
    // Also bounds decompressed zTXt/iTXt/iCCP data (see pngci_capped_malloc).
    png_set_chunk_malloc_max(d->png, PNGC_MAX_CHUNK_BYTES);
    png_set_crc_action(d->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, (png_const_bytep)"tEXt\0zTXt\0iTXt\0", 3);
    png_set_chunk_cache_max(d->png, PNGC_MAX_ANCILLARY_CHUNKS);
    png_set_option(d->png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_read_info(d->png, d->info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(d->png, d->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    d->shape.source_bit_depth = bit_depth;
    d->shape.source_color_type = color_type;
    d->shape.interlaced = interlace != PNG_INTERLACE_NONE;

    png_set_expand(d->png);  // palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha
    if (bit_depth == 16 && pngci_host_is_little_endian()) png_set_swap(d->png);
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);

    int channels = png_get_channels(d->png, d->info);
    int out_depth = png_get_bit_depth(d->png, d->info);
    if ((out_depth != 8 && out_depth != 16) || channels < 1 || channels > 4) {
        pngci_set_message(&d->error, PNGC_UNSUPPORTED, "unsupported pixel layout after expansion: %d channels at %d bits", channels, out_depth);
        png_error(d->png, "unsupported");
    }
    size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(out_depth / 8);
    if (png_get_rowbytes(d->png, d->info) != row_bytes) {
        pngci_set_message(&d->error, PNGC_INTERNAL, "internal error: libpng row size %zu, expected %zu",
                    (size_t)png_get_rowbytes(d->png, d->info), row_bytes);
        png_error(d->png, "internal");
    }
    d->shape.width = width;
    d->shape.height = height;
    d->shape.channels = channels;
    d->shape.bit_depth = out_depth;
    d->row_bytes = row_bytes;
    *info = d->shape;
    *out = d;
    return PNGC_OK;
}

pngc_status pngc_decoder_read(pngc_decoder *d, uint16_t *samples, size_t sample_count,
                              char *message, size_t message_capacity) {
    pngc_error_state early;
    pngci_begin_call(&early, message, message_capacity);
    if (d == NULL || samples == NULL) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: NULL argument");
        return early.status;
    }
    if (d->used) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: called twice");
        return early.status;
    }
    d->used = 1;
    size_t expected = (size_t)d->shape.width * d->shape.height * (size_t)d->shape.channels;
    if (sample_count != expected) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: buffer holds %zu samples, image needs %zu",
                    sample_count, expected);
        return early.status;
    }
    d->rows = (png_bytep *)malloc(sizeof(png_bytep) * d->shape.height);
    if (d->rows == NULL) {
        pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory allocating row pointers");
        return early.status;
    }
    // 8-bit rows are decoded packed into the first half of the buffer, then
    // widened in place; 16-bit rows land directly in their final place.
    uint8_t *base = (uint8_t *)samples;
    for (uint32_t y = 0; y < d->shape.height; y++) d->rows[y] = base + (size_t)y * d->row_bytes;

    pngci_begin_call(&d->error, message, message_capacity);
    if (setjmp(png_jmpbuf(d->png))) {
        return d->error.status != PNGC_OK ? d->error.status : PNGC_INTERNAL;
    }
    png_read_image(d->png, d->rows);
    png_read_end(d->png, NULL);  // checks the remaining chunks' CRCs and that IEND is present

    if (d->shape.bit_depth == 8) {
        // Descending order: sample i (bytes 2i, 2i+1) never overwrites an unread byte j < i.
        for (size_t i = expected; i-- > 0;) samples[i] = base[i];
    }
    return PNGC_OK;
}

void pngc_decoder_metadata(pngc_decoder *d, pngc_metadata *out) {
    if (out == NULL) return;
    memset(out, 0, sizeof *out);
    if (d == NULL) return;
    png_charp name = NULL;
    png_bytep profile = NULL;
    png_uint_32 length = 0;
    int compression = 0;
    if (png_get_iCCP(d->png, d->info, &name, &compression, &profile, &length) == PNG_INFO_iCCP && profile != NULL) {
        out->icc = profile;
        out->icc_size = length;
        out->icc_name = name;
    }
    png_uint_32 x = 0, y = 0;
    int unit = 0;
    if (png_get_pHYs(d->png, d->info, &x, &y, &unit) == PNG_INFO_pHYs) {
        out->has_phys = 1;
        out->phys_x = x;
        out->phys_y = y;
        out->phys_unit = unit;
    }
}

void pngc_decoder_close(pngc_decoder *d) { decoder_destroy(d); }
