// PNGCodec encoding: libpng writer under setjmp into a growing memory buffer (see shared.c).
#include "shared.h"

// MARK: - Encoding

typedef struct {
    pngc_error_state error;  // must stay first
    uint8_t *buffer;
    size_t length;
    size_t capacity;
    uint8_t *row;  // 8-bit conversion buffer
} pngc_writer;

static void writer_write_fn(png_structp png, png_bytep data, size_t length) {
    pngc_writer *w = (pngc_writer *)png_get_io_ptr(png);
    if (length > w->capacity - w->length) {
        size_t needed = w->length + length;
        if (needed < w->length) {
            pngci_set_message(&w->error, PNGC_NO_MEMORY, "encoded PNG is too large");
            png_error(png, "overflow");
        }
        size_t capacity = w->capacity < 4096 ? 4096 : w->capacity;
        while (capacity < needed) capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
        uint8_t *grown = (uint8_t *)realloc(w->buffer, capacity);
        if (grown == NULL) {
            pngci_set_message(&w->error, PNGC_NO_MEMORY, "out of memory growing the PNG output buffer to %zu bytes", capacity);
            png_error(png, "out of memory");
        }
        w->buffer = grown;
        w->capacity = capacity;
    }
    memcpy(w->buffer + w->length, data, length);
    w->length += length;
}

static void writer_flush_fn(png_structp png) { (void)png; }

pngc_status pngc_encode(const uint16_t *samples, size_t sample_count,
                        uint32_t width, uint32_t height, int32_t channels, int32_t bit_depth,
                        uint8_t **out_data, size_t *out_size,
                        char *message, size_t message_capacity) {
    return pngc_encode_with(samples, sample_count, width, height, channels, bit_depth, NULL, NULL, out_data, out_size,
                            message, message_capacity);
}

pngc_status pngc_encode_with(const uint16_t *samples, size_t sample_count,
                             uint32_t width, uint32_t height, int32_t channels, int32_t bit_depth,
                             const pngc_metadata *metadata, int32_t *icc_dropped, uint8_t **out_data, size_t *out_size,
                             char *message, size_t message_capacity) {
    if (icc_dropped != NULL) *icc_dropped = 0;
    pngc_error_state early;
    pngci_begin_call(&early, message, message_capacity);
    if (out_data != NULL) *out_data = NULL;
    if (out_size != NULL) *out_size = 0;
    if (out_data == NULL || out_size == NULL || samples == NULL) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_encode: NULL argument");
        return early.status;
    }
    if (channels < 1 || channels > 4) {
        pngci_set_message(&early, PNGC_UNSUPPORTED, "cannot encode %d channels; PNG supports 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)", channels);
        return early.status;
    }
    if (bit_depth != 8 && bit_depth != 16) {
        pngci_set_message(&early, PNGC_UNSUPPORTED, "cannot encode bit depth %d; use 8 or 16", bit_depth);
        return early.status;
    }
    if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "cannot encode a %u\xC3\x97%u image; each side must be 1...2147483647", width, height);
        return early.status;
    }
    uint64_t expected = (uint64_t)width * height * (uint64_t)channels;
    if ((uint64_t)sample_count != expected) {
        pngci_set_message(&early, PNGC_INVALID_ARGUMENT, "sample count is %zu but %u\xC3\x97%u\xC3\x97%d = %llu",
                    sample_count, width, height, channels, (unsigned long long)expected);
        return early.status;
    }
    if (bit_depth == 8) {
        for (size_t i = 0; i < sample_count; i++) {
            if (samples[i] > 255) {
                size_t pixel = i / (size_t)channels;
                pngci_set_message(&early, PNGC_INVALID_ARGUMENT,
                            "sample %u at x=%zu y=%zu channel %zu exceeds 255, the maximum for 8-bit images",
                            samples[i], pixel % width, pixel / width, i % (size_t)channels);
                return early.status;
            }
        }
    }

    pngc_writer *w = (pngc_writer *)calloc(1, sizeof *w);
    if (w == NULL) {
        pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG encoder");
        return early.status;
    }
    pngci_begin_call(&w->error, message, message_capacity);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->error, pngci_on_libpng_error, pngci_on_libpng_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        if (png != NULL) png_destroy_write_struct(&png, NULL);
        free(w);
        pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG encoder");
        return early.status;
    }
    size_t row_samples = (size_t)width * (size_t)channels;
    if (bit_depth == 8) {
        w->row = (uint8_t *)malloc(row_samples);
        if (w->row == NULL) {
            png_destroy_write_struct(&png, &info);
            free(w);
            pngci_set_message(&early, PNGC_NO_MEMORY, "out of memory allocating a %zu-byte row", row_samples);
            return early.status;
        }
    }

    if (setjmp(png_jmpbuf(png))) {
        pngc_status status = w->error.status != PNGC_OK ? w->error.status : PNGC_INTERNAL;
        png_destroy_write_struct(&png, &info);
        free(w->buffer);
        free(w->row);
        free(w);
        return status;
    }
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(png, w, writer_write_fn, writer_flush_fn);
    png_set_user_limits(png, 0x7FFFFFFFu, 0x7FFFFFFFu);
    // zlib level 3 rather than 6: a 512² RGB fill encodes about twice as fast for a file a few per
    // cent larger, and encoding was the largest serial step of a graphrun process after the run.
    png_set_compression_level(png, 3);
    // Copy the photo's profile as it is: libpng would drop the common "known incorrect" sRGB ones.
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_set_IHDR(png, info, width, height, bit_depth, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (metadata != NULL && metadata->icc != NULL && metadata->icc_size > 0 && metadata->icc_size <= PNGC_MAX_CHUNK_BYTES) {
        png_set_iCCP(png, info, metadata->icc_name != NULL && metadata->icc_name[0] ? metadata->icc_name : "ICC profile",
                     PNG_COMPRESSION_TYPE_BASE, metadata->icc, (png_uint_32)metadata->icc_size);
        if (icc_dropped != NULL && !png_get_valid(png, info, PNG_INFO_iCCP)) *icc_dropped = 1;
    }
    if (metadata != NULL && metadata->has_phys) {
        png_set_pHYs(png, info, metadata->phys_x, metadata->phys_y, metadata->phys_unit == 1 ? PNG_RESOLUTION_METER : PNG_RESOLUTION_UNKNOWN);
    }
    png_write_info(png, info);
    if (bit_depth == 16 && pngci_host_is_little_endian()) png_set_swap(png);
    for (uint32_t y = 0; y < height; y++) {
        const uint16_t *src = samples + (size_t)y * row_samples;
        if (bit_depth == 8) {
            for (size_t i = 0; i < row_samples; i++) w->row[i] = (uint8_t)src[i];
            png_write_row(png, w->row);
        } else {
            // libpng copies the row before transforming it, so `samples` is not modified.
            png_write_row(png, (png_const_bytep)src);
        }
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);

    *out_data = w->buffer;
    *out_size = w->length;
    free(w->row);
    free(w);
    return PNGC_OK;
}

void pngc_free(void *pointer) { free(pointer); }

const char *pngc_libpng_version(void) { return png_get_libpng_ver(NULL); }
