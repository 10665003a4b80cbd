// PNGCodec: libpng behind setjmp handlers. See include/pngcodec.h.
//
// Rules followed throughout:
// * every libpng call happens after a setjmp on the png_struct's jmpbuf, in
//   the same C frame, so a libpng error never unwinds through Swift;
// * no local variable is modified between setjmp and a possible longjmp
//   (all such state lives in heap structs), so nothing needs `volatile`;
// * memory allocated while libpng may longjmp is owned by a struct that the
//   error path frees;
// * libpng warnings are swallowed (never printed to stderr).
#include "pngcodec.h"

#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Shared helpers

/// Error state shared by the decoder and the encoder; first member of both.
typedef struct {
    pngc_status status;   ///< status chosen by a callback before png_error, or PNGC_OK
    int message_set;      ///< 1 once `message` holds the final explanation
    char *message;
    size_t message_capacity;
    char warnings[256];   ///< libpng warnings seen so far, "; "-separated (explain "Invalid IHDR data")
    size_t refused_allocation; ///< size of the last allocation capped_malloc refused, or 0
} pngc_error_state;

static void set_message(pngc_error_state *e, pngc_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void set_message(pngc_error_state *e, pngc_status status, const char *format, ...) {
    e->status = status;
    e->message_set = 1;
    if (e->message == NULL || e->message_capacity == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(e->message, e->message_capacity, format, args);
    va_end(args);
}

static void begin_call(pngc_error_state *e, char *message, size_t capacity) {
    e->status = PNGC_OK;
    e->message_set = 0;
    e->message = message;
    e->message_capacity = capacity;
    e->warnings[0] = '\0';
    e->refused_allocation = 0;
    if (message != NULL && capacity > 0) message[0] = '\0';
}

static uint32_t read_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/// Chunk type as text: letters as-is, anything else as \xNN.
static void chunk_name(const uint8_t *type, char out[20]) {
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = type[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
            out[n++] = (char)c;
        } else {
            snprintf(out + n, 20 - n, "\\x%02X", c);
            n += 4;
        }
    }
    out[n] = '\0';
}

/// "268 megapixels", "1.6 gigapixels", "4096 pixels".
static void format_pixels(uint64_t n, char *out, size_t capacity) {
    if (n >= 1000000000ull) {
        double v = (double)n / 1e9;
        snprintf(out, capacity, v < 10 ? "%.1f gigapixels" : "%.0f gigapixels", v);
    } else if (n >= 1000000ull) {
        double v = (double)n / 1e6;
        snprintf(out, capacity, v < 10 ? "%.1f megapixels" : "%.0f megapixels", v);
    } else {
        snprintf(out, capacity, "%llu pixels", (unsigned long long)n);
    }
}

/// CRC-32 as used by PNG (bitwise; only ever run over the 17 bytes of IHDR).
static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/// Turns a libpng error message into ours. libpng's chunk errors look like
/// "IDAT: CRC error" or "IHDR: Invalid bit depth in IHDR".
static void report_libpng_error(pngc_error_state *e, const char *msg) {
    if (e->message_set) return;
    pngc_status status = PNGC_CORRUPT;
    if (strstr(msg, "memory") != NULL || strstr(msg, "Memory") != NULL) status = PNGC_NO_MEMORY;
    else if (strstr(msg, "exceeds user limit") != NULL) status = PNGC_TOO_LARGE;

    char text[PNGC_MESSAGE_CAPACITY];
    const char *colon = strstr(msg, ": ");
    if (colon != NULL && colon - msg >= 4 && colon - msg <= 16 && memchr(msg, ' ', (size_t)(colon - msg)) == NULL) {
        int chunk_len = (int)(colon - msg);
        const char *rest = colon + 2;
        if (strcmp(rest, "CRC error") == 0) {
            snprintf(text, sizeof text, "CRC error in %.*s chunk", chunk_len, msg);
        } else {
            snprintf(text, sizeof text, "%s (in %.*s chunk)", rest, chunk_len, msg);
        }
    } else if (strcmp(msg, "Invalid IHDR data") == 0 && e->warnings[0] != '\0') {
        snprintf(text, sizeof text, "invalid IHDR chunk: %s", e->warnings);
    } else if (strcmp(msg, "Not enough image data") == 0) {
        snprintf(text, sizeof text, "image data ends early: the IDAT chunks hold fewer rows than IHDR declares");
    } else {
        snprintf(text, sizeof text, "%s", msg);
    }
    if (e->refused_allocation != 0) {
        // A length field asked for an absurd buffer: damaged data, not a real memory shortage.
        set_message(e, PNGC_CORRUPT, "a chunk declares an implausible size (%zu bytes; the limit is %u MB), then: %s",
                    e->refused_allocation, PNGC_MAX_CHUNK_BYTES >> 20, text);
    } else {
        set_message(e, status, "%s", text);
    }
}

static void on_libpng_error(png_structp png, png_const_charp msg) {
    pngc_error_state *e = (pngc_error_state *)png_get_error_ptr(png);
    if (e != NULL) report_libpng_error(e, msg != NULL ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

static void on_libpng_warning(png_structp png, png_const_charp msg) {
    pngc_error_state *e = (pngc_error_state *)png_get_error_ptr(png);
    if (e == NULL || msg == NULL) return;
    size_t used = strlen(e->warnings);
    if (used + 3 >= sizeof e->warnings) return;
    snprintf(e->warnings + used, sizeof e->warnings - used, "%s%s", used ? "; " : "", msg);
}

/// libpng allocates what a chunk's length field claims (up to 2 GB for tEXt,
/// zTXt, iTXt, eXIf, unknown chunks) before reading the chunk; libpng 1.6.39
/// only bounds IDAT by png_set_chunk_malloc_max. This allocator refuses any
/// single block over PNGC_MAX_CHUNK_BYTES, which libpng then reports as an
/// error (or skips the chunk, which then runs into the end of the data).
/// Legitimate decoder allocations are far smaller: the pixel buffer is
/// allocated by the caller, not by libpng.
static png_voidp capped_malloc(png_structp png, png_alloc_size_t size) {
    if (size > PNGC_MAX_CHUNK_BYTES) {
        pngc_error_state *e = (pngc_error_state *)png_get_mem_ptr(png);
        if (e != NULL) e->refused_allocation = size;
        return NULL;
    }
    return malloc(size);
}

static void capped_free(png_structp png, png_voidp pointer) {
    (void)png;
    free(pointer);
}

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
        set_message(e, PNGC_CORRUPT, "truncated: the file is only %zu bytes; the PNG signature alone is 8", size);
        return;
    }
    size_t p = 8;
    char last[20] = "";
    for (int guard = 0; guard < 1000000; guard++) {
        if (p == size) {
            if (last[0] == '\0')
                set_message(e, PNGC_CORRUPT, "truncated: the file ends right after the PNG signature (%zu bytes)", size);
            else
                set_message(e, PNGC_CORRUPT, "truncated: the file ends after the %s chunk (%zu bytes), before IEND", last, size);
            return;
        }
        if (size - p < 8) {
            set_message(e, PNGC_CORRUPT, "truncated: the file ends inside a chunk header at byte %zu%s%s",
                        size, last[0] ? ", after the " : "", last[0] ? last : "");
            return;
        }
        uint32_t length = read_be32(data + p);
        char name[20];
        chunk_name(data + p + 4, name);
        uint64_t total = 12ull + length;
        if ((uint64_t)(size - p) < total) {
            size_t present = size - p - 8;
            if (present >= length)
                set_message(e, PNGC_CORRUPT, "truncated: the file ends in the CRC of the %s chunk (%zu bytes)", name, size);
            else
                set_message(e, PNGC_CORRUPT, "truncated: the file ends in %s chunk (%zu of its %u data bytes present; file is %zu bytes)",
                            name, present, length, size);
            return;
        }
        memcpy(last, name, sizeof last);
        p += (size_t)total;
    }
    set_message(e, PNGC_CORRUPT, "truncated: unexpected end of data (%zu bytes)", size);
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
        set_message(e, PNGC_NOT_PNG, "the file is empty (0 bytes)");
        return e->status;
    }
    size_t n = size < 8 ? size : 8;
    if (memcmp(data, signature, n) != 0) {
        char hex[40] = "";
        size_t len = 0;
        for (size_t i = 0; i < n; i++) len += (size_t)snprintf(hex + len, sizeof hex - len, i ? " %02X" : "%02X", data[i]);
        set_message(e, PNGC_NOT_PNG, "PNG signature missing: first bytes are %s", hex);
        return e->status;
    }
    if (size < 8 + 8 + 13 + 4) {
        describe_truncation(e, data, size);
        return e->status;
    }
    uint32_t length = read_be32(data + 8);
    char name[20];
    chunk_name(data + 12, name);
    if (memcmp(data + 12, "IHDR", 4) != 0) {
        set_message(e, PNGC_CORRUPT, "the first chunk is %s, but a PNG must start with IHDR", name);
        return e->status;
    }
    if (length != 13) {
        set_message(e, PNGC_CORRUPT, "the IHDR chunk has length %u; it must be 13", length);
        return e->status;
    }
    if (crc32_of(data + 12, 4 + 13) != read_be32(data + 29)) {
        set_message(e, PNGC_CORRUPT, "CRC error in IHDR chunk");
        return e->status;
    }
    uint32_t width = read_be32(data + 16), height = read_be32(data + 20);
    if (width == 0 || height == 0) {
        set_message(e, PNGC_CORRUPT, "IHDR declares a %u\xC3\x97%u image; width and height must be at least 1", width, height);
        return e->status;
    }
    if (width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
        set_message(e, PNGC_CORRUPT, "IHDR declares a %u\xC3\x97%u image; PNG allows at most 2147483647 per side", width, height);
        return e->status;
    }
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels) {
        char have[48], limit[48];
        format_pixels(pixels, have, sizeof have);
        format_pixels(max_pixels, limit, sizeof limit);
        set_message(e, PNGC_TOO_LARGE, "image is %u\xC3\x97%u = %s; the limit is %s", width, height, have, limit);
        return e->status;
    }
    if (width > PNGC_MAX_SIDE || height > PNGC_MAX_SIDE) {
        set_message(e, PNGC_TOO_LARGE, "image is %u\xC3\x97%u; each side is limited to %u pixels", width, height, PNGC_MAX_SIDE);
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
    begin_call(&early, message, message_capacity);
    if (out == NULL || info == NULL || (data == NULL && size != 0)) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_open: NULL argument");
        return early.status;
    }
    if (precheck(&early, data, size, max_pixels) != PNGC_OK) return early.status;

    struct pngc_decoder *d = (struct pngc_decoder *)calloc(1, sizeof *d);
    if (d == NULL) {
        set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG decoder");
        return early.status;
    }
    begin_call(&d->error, message, message_capacity);
    d->data = data;
    d->size = size;
    d->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &d->error, on_libpng_error, on_libpng_warning,
                                      &d->error, capped_malloc, capped_free);
    if (d->png != NULL) d->info = png_create_info_struct(d->png);
    if (d->png == NULL || d->info == NULL) {
        decoder_destroy(d);
        set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG decoder");
        return early.status;
    }

    if (setjmp(png_jmpbuf(d->png))) {
        pngc_status status = d->error.status != PNGC_OK ? d->error.status : PNGC_INTERNAL;
        decoder_destroy(d);
        return status;
    }
    png_set_read_fn(d->png, d, decoder_read_fn);
    png_set_user_limits(d->png, PNGC_MAX_SIDE, PNGC_MAX_SIDE);
    // Also bounds decompressed zTXt/iTXt/iCCP data (see capped_malloc).
    png_set_chunk_malloc_max(d->png, PNGC_MAX_CHUNK_BYTES);
    png_set_crc_action(d->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(d->png, d->info);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(d->png, d->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    d->shape.source_bit_depth = bit_depth;
    d->shape.source_color_type = color_type;
    d->shape.interlaced = interlace != PNG_INTERLACE_NONE;

    png_set_expand(d->png);  // palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha
    if (bit_depth == 16 && host_is_little_endian()) png_set_swap(d->png);
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);

    int channels = png_get_channels(d->png, d->info);
    int out_depth = png_get_bit_depth(d->png, d->info);
    if ((out_depth != 8 && out_depth != 16) || channels < 1 || channels > 4) {
        set_message(&d->error, PNGC_UNSUPPORTED, "unsupported pixel layout after expansion: %d channels at %d bits", channels, out_depth);
        png_error(d->png, "unsupported");
    }
    size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(out_depth / 8);
    if (png_get_rowbytes(d->png, d->info) != row_bytes) {
        set_message(&d->error, PNGC_INTERNAL, "internal error: libpng row size %zu, expected %zu",
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
    begin_call(&early, message, message_capacity);
    if (d == NULL || samples == NULL) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: NULL argument");
        return early.status;
    }
    if (d->used) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: called twice");
        return early.status;
    }
    d->used = 1;
    size_t expected = (size_t)d->shape.width * d->shape.height * (size_t)d->shape.channels;
    if (sample_count != expected) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_decoder_read: buffer holds %zu samples, image needs %zu",
                    sample_count, expected);
        return early.status;
    }
    d->rows = (png_bytep *)malloc(sizeof(png_bytep) * d->shape.height);
    if (d->rows == NULL) {
        set_message(&early, PNGC_NO_MEMORY, "out of memory allocating row pointers");
        return early.status;
    }
    // 8-bit rows are decoded packed into the first half of the buffer, then
    // widened in place; 16-bit rows land directly in their final place.
    uint8_t *base = (uint8_t *)samples;
    for (uint32_t y = 0; y < d->shape.height; y++) d->rows[y] = base + (size_t)y * d->row_bytes;

    begin_call(&d->error, message, message_capacity);
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

void pngc_decoder_close(pngc_decoder *d) { decoder_destroy(d); }

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
            set_message(&w->error, PNGC_NO_MEMORY, "encoded PNG is too large");
            png_error(png, "overflow");
        }
        size_t capacity = w->capacity < 4096 ? 4096 : w->capacity;
        while (capacity < needed) capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
        uint8_t *grown = (uint8_t *)realloc(w->buffer, capacity);
        if (grown == NULL) {
            set_message(&w->error, PNGC_NO_MEMORY, "out of memory growing the PNG output buffer to %zu bytes", capacity);
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
    pngc_error_state early;
    begin_call(&early, message, message_capacity);
    if (out_data != NULL) *out_data = NULL;
    if (out_size != NULL) *out_size = 0;
    if (out_data == NULL || out_size == NULL || samples == NULL) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "pngc_encode: NULL argument");
        return early.status;
    }
    if (channels < 1 || channels > 4) {
        set_message(&early, PNGC_UNSUPPORTED, "cannot encode %d channels; PNG supports 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)", channels);
        return early.status;
    }
    if (bit_depth != 8 && bit_depth != 16) {
        set_message(&early, PNGC_UNSUPPORTED, "cannot encode bit depth %d; use 8 or 16", bit_depth);
        return early.status;
    }
    if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "cannot encode a %u\xC3\x97%u image; each side must be 1...2147483647", width, height);
        return early.status;
    }
    uint64_t expected = (uint64_t)width * height * (uint64_t)channels;
    if ((uint64_t)sample_count != expected) {
        set_message(&early, PNGC_INVALID_ARGUMENT, "sample count is %zu but %u\xC3\x97%u\xC3\x97%d = %llu",
                    sample_count, width, height, channels, (unsigned long long)expected);
        return early.status;
    }
    if (bit_depth == 8) {
        for (size_t i = 0; i < sample_count; i++) {
            if (samples[i] > 255) {
                size_t pixel = i / (size_t)channels;
                set_message(&early, PNGC_INVALID_ARGUMENT,
                            "sample %u at x=%zu y=%zu channel %zu exceeds 255, the maximum for 8-bit images",
                            samples[i], pixel % width, pixel / width, i % (size_t)channels);
                return early.status;
            }
        }
    }

    pngc_writer *w = (pngc_writer *)calloc(1, sizeof *w);
    if (w == NULL) {
        set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG encoder");
        return early.status;
    }
    begin_call(&w->error, message, message_capacity);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w->error, on_libpng_error, on_libpng_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        if (png != NULL) png_destroy_write_struct(&png, NULL);
        free(w);
        set_message(&early, PNGC_NO_MEMORY, "out of memory creating the PNG encoder");
        return early.status;
    }
    size_t row_samples = (size_t)width * (size_t)channels;
    if (bit_depth == 8) {
        w->row = (uint8_t *)malloc(row_samples);
        if (w->row == NULL) {
            png_destroy_write_struct(&png, &info);
            free(w);
            set_message(&early, PNGC_NO_MEMORY, "out of memory allocating a %zu-byte row", row_samples);
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
    png_set_IHDR(png, info, width, height, bit_depth, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (bit_depth == 16 && host_is_little_endian()) png_set_swap(png);
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
