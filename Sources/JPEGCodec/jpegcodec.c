// JPEGCodec: libjpeg-turbo under setjmp (see include/jpegcodec.h for the contract).
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include "jpegcodec.h"

typedef struct {
    struct jpeg_error_mgr base;  // must stay first: libjpeg hands us a pointer to it
    jmp_buf jump;
    jpegc_status status;
    char message[JPEGC_MESSAGE_CAPACITY];
} error_state;

static void set_message(error_state *e, jpegc_status status, const char *format, ...) {
    e->status = status;
    va_list args;
    va_start(args, format);
    vsnprintf(e->message, sizeof e->message, format, args);
    va_end(args);
}

static void copy_message(const error_state *e, char *out, size_t capacity) {
    if (out == NULL || capacity == 0) return;
    snprintf(out, capacity, "%s", e->message);
}

/// Fatal errors: classify, keep libjpeg's text, and jump back to the caller's frame.
static void on_error_exit(j_common_ptr cinfo) {
    error_state *e = (error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    jpegc_status status = JPEGC_CORRUPT;
    switch (cinfo->err->msg_code) {
    case JERR_NO_SOI: status = JPEGC_NOT_JPEG; break;
    case JERR_OUT_OF_MEMORY: case JERR_VIRTUAL_BUG: status = JPEGC_TOO_LARGE; break;
    case JERR_BAD_PRECISION: case JERR_NOT_COMPILED: case JERR_CONVERSION_NOTIMPL: status = JPEGC_UNSUPPORTED; break;
    default: break;
    }
    if (e->status == JPEGC_OK) set_message(e, status, "%s", text);
    longjmp(e->jump, 1);
}

/// Warnings that mean the pixels are wrong (libjpeg would fill the rest with grey) are fatal.
static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        set_message((error_state *)cinfo->err, JPEGC_CORRUPT, "truncated: the JPEG data ends before the last row of pixels");
        longjmp(((error_state *)cinfo->err)->jump, 1);
    case JWRN_HIT_MARKER: case JWRN_MUST_RESYNC: case JWRN_HUFF_BAD_CODE: case JWRN_BOGUS_PROGRESSION: {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        set_message((error_state *)cinfo->err, JPEGC_CORRUPT, "damaged JPEG data (%s)", text);
        longjmp(((error_state *)cinfo->err)->jump, 1);
    }
    default:
        break;  // e.g. extraneous bytes before a marker: common in camera files and harmless
    }
}

static void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEGC_MAX_SCANS) {
        error_state *e = (error_state *)cinfo->err;
        set_message(e, JPEGC_CORRUPT, "more than %d progressive scans: not a sensible photo", JPEGC_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void install_errors(error_state *e, j_common_ptr cinfo) {
    memset(e, 0, sizeof *e);
    cinfo->err = jpeg_std_error(&e->base);
    e->base.error_exit = on_error_exit;
    e->base.emit_message = on_message;
    e->status = JPEGC_OK;
}

// MARK: - EXIF orientation

static uint32_t read_u16(const uint8_t *p, int big) { return big ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]); }
static uint32_t read_u32(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
               : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

/// The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment, or 1. Every offset is
/// bounds-checked: the segment is untrusted.
static int exif_orientation(const uint8_t *d, size_t n) {
    if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = d + 6;
    size_t len = n - 6;
    int big;
    if (memcmp(t, "II*\0", 4) == 0) big = 0;
    else if (memcmp(t, "MM\0*", 4) == 0) big = 1;
    else return 1;
    uint32_t ifd = read_u32(t + 4, big);
    if (ifd > len || len - ifd < 2) return 1;
    uint32_t count = read_u16(t + ifd, big);
    for (uint32_t i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + 12 * (size_t)i;
        if (at > len || len - at < 12) return 1;
        if (read_u16(t + at, big) == 0x0112 && read_u16(t + at + 2, big) == 3) {
            uint32_t v = read_u16(t + at + 8, big);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

// MARK: - Decoding

struct jpegc_decoder {
    error_state error;  // first: the decompressor's err pointer points here
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    int cmyk;           // decode as CMYK and convert (libjpeg has no CMYK -> RGB)
    int adobe_inverted; // Adobe CMYK files store inverted ink values
    int used;
};

jpegc_status jpegc_decoder_open(const uint8_t *data, size_t size, uint64_t max_pixels,
                                jpegc_decoder **out, jpegc_info *info, char *message, size_t capacity) {
    if (out == NULL || info == NULL || (data == NULL && size > 0)) return JPEGC_INVALID_ARGUMENT;
    *out = NULL;
    if (size < 2 || data[0] != 0xFF || data[1] != 0xD8) {
        if (message && capacity) snprintf(message, capacity, "JPEG start-of-image marker (FF D8) missing");
        return JPEGC_NOT_JPEG;
    }
    jpegc_decoder *d = calloc(1, sizeof *d);
    if (d == NULL) return JPEGC_NO_MEMORY;
    install_errors(&d->error, (j_common_ptr)&d->cinfo);
    if (setjmp(d->error.jump)) {
        jpegc_status status = d->error.status;
        copy_message(&d->error, message, capacity);
        jpeg_destroy_decompress(&d->cinfo);
        free(d);
        return status == JPEGC_OK ? JPEGC_CORRUPT : status;
    }
    jpeg_create_decompress(&d->cinfo);
    d->progress.progress_monitor = on_progress;
    d->cinfo.progress = &d->progress;
    jpeg_mem_src(&d->cinfo, data, (unsigned long)size);
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC profile chunks
    jpeg_read_header(&d->cinfo, TRUE);

    uint64_t w = d->cinfo.image_width, h = d->cinfo.image_height;
    if (w == 0 || h == 0) set_message(&d->error, JPEGC_CORRUPT, "the header declares a %llux%llu image",
                                      (unsigned long long)w, (unsigned long long)h), longjmp(d->error.jump, 1);
    if (w * h > max_pixels) {
        set_message(&d->error, JPEGC_TOO_LARGE, "%llux%llu pixels is above the limit of %llu pixels",
                    (unsigned long long)w, (unsigned long long)h, (unsigned long long)max_pixels);
        longjmp(d->error.jump, 1);
    }
    // Progressive files keep every coefficient (2 bytes per sample); bound libjpeg's own memory
    // to that plus working space, in proportion to the pixels already allowed.
    d->cinfo.mem->max_memory_to_use = (long)(64u << 20) + (long)(w * h * 8);

    info->orientation = 1;
    for (jpeg_saved_marker_ptr m = d->cinfo.marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1) {
            int o = exif_orientation(m->data, m->data_length);
            if (o != 1) { info->orientation = o; break; }
        }
    }
    info->source_components = d->cinfo.num_components;
    info->has_density = d->cinfo.saw_JFIF_marker ? 1 : 0;
    info->density_unit = d->cinfo.density_unit;
    info->x_density = d->cinfo.X_density;
    info->y_density = d->cinfo.Y_density;
    info->progressive = d->cinfo.progressive_mode ? 1 : 0;
    switch (d->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        d->cinfo.out_color_space = JCS_GRAYSCALE;
        info->channels = 1;
        break;
    case JCS_CMYK: case JCS_YCCK:
        d->cinfo.out_color_space = JCS_CMYK;
        d->cmyk = 1;
        d->adobe_inverted = d->cinfo.saw_Adobe_marker;
        info->channels = 3;
        break;
    default:
        d->cinfo.out_color_space = JCS_RGB;
        info->channels = 3;
        break;
    }
    info->width = (uint32_t)w;
    info->height = (uint32_t)h;
    *out = d;
    return JPEGC_OK;
}

jpegc_status jpegc_decoder_read(jpegc_decoder *d, uint8_t *samples, size_t sample_count, char *message, size_t capacity) {
    if (d == NULL || samples == NULL || d->used) return JPEGC_INVALID_ARGUMENT;
    d->used = 1;
    size_t w = d->cinfo.image_width, h = d->cinfo.image_height;
    size_t channels = d->cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    if (sample_count != w * h * channels) return JPEGC_INVALID_ARGUMENT;
    uint8_t *volatile cmyk_row = NULL;
    if (setjmp(d->error.jump)) {
        free(cmyk_row);
        copy_message(&d->error, message, capacity);
        return d->error.status == JPEGC_OK ? JPEGC_CORRUPT : d->error.status;
    }
    jpeg_start_decompress(&d->cinfo);
    if (d->cmyk) {
        cmyk_row = malloc(w * 4);
        if (cmyk_row == NULL) { set_message(&d->error, JPEGC_NO_MEMORY, "out of memory"); longjmp(d->error.jump, 1); }
    }
    while (d->cinfo.output_scanline < h) {
        size_t y = d->cinfo.output_scanline;
        uint8_t *row = samples + y * w * channels;
        JSAMPROW target = d->cmyk ? cmyk_row : row;
        if (jpeg_read_scanlines(&d->cinfo, &target, 1) != 1) {
            set_message(&d->error, JPEGC_CORRUPT, "truncated: no data for pixel row %zu of %zu", y, h);
            longjmp(d->error.jump, 1);
        }
        if (d->cmyk) {
            // Ink to light: R = (1 − C)(1 − K), with Adobe's inverted storage already meaning 1 − ink.
            for (size_t x = 0; x < w; x++) {
                unsigned c = cmyk_row[4 * x], m = cmyk_row[4 * x + 1], yy = cmyk_row[4 * x + 2], k = cmyk_row[4 * x + 3];
                if (!d->adobe_inverted) { c = 255 - c; m = 255 - m; yy = 255 - yy; k = 255 - k; }
                row[3 * x] = (uint8_t)((c * k + 127) / 255);
                row[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
                row[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
            }
        }
    }
    jpeg_finish_decompress(&d->cinfo);
    free(cmyk_row);
    return JPEGC_OK;
}

size_t jpegc_decoder_icc(jpegc_decoder *d, uint8_t **profile) {
    if (profile == NULL) return 0;
    *profile = NULL;
    if (d == NULL) return 0;
    JOCTET *data = NULL;
    unsigned int length = 0;
    if (setjmp(d->error.jump)) return 0;  // a damaged profile is simply not copied
    if (!jpeg_read_icc_profile(&d->cinfo, &data, &length) || data == NULL) return 0;
    *profile = data;
    return length;
}

void jpegc_decoder_close(jpegc_decoder *d) {
    if (d == NULL) return;
    jpeg_destroy_decompress(&d->cinfo);
    free(d);
}

// MARK: - Encoding

jpegc_status jpegc_encode(const uint8_t *samples, size_t sample_count, uint32_t width, uint32_t height,
                          int32_t channels, int32_t quality, uint8_t **out_data, size_t *out_size,
                          char *message, size_t capacity) {
    return jpegc_encode_with(samples, sample_count, width, height, channels, quality, NULL, 0, 0, 0, 0,
                             out_data, out_size, message, capacity);
}

jpegc_status jpegc_encode_with(const uint8_t *samples, size_t sample_count, uint32_t width, uint32_t height,
                               int32_t channels, int32_t quality, const uint8_t *icc, size_t icc_size,
                               int32_t density_unit, int32_t x_density, int32_t y_density,
                               uint8_t **out_data, size_t *out_size, char *message, size_t capacity) {
    if (samples == NULL || out_data == NULL || out_size == NULL || (channels != 1 && channels != 3)
        || width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION
        || quality < 1 || quality > 100 || sample_count != (size_t)width * height * (size_t)channels) {
        if (message && capacity) snprintf(message, capacity, "invalid image for JPEG: %ux%u, %d channels, quality %d "
                                          "(JPEG takes 1 or 3 channels, at most %ld pixels a side)",
                                          width, height, channels, quality, (long)JPEG_MAX_DIMENSION);
        return JPEGC_INVALID_ARGUMENT;
    }
    *out_data = NULL;
    *out_size = 0;
    struct jpeg_compress_struct cinfo;
    error_state error;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    install_errors(&error, (j_common_ptr)&cinfo);
    if (setjmp(error.jump)) {
        copy_message(&error, message, capacity);
        jpeg_destroy_compress(&cinfo);
        free(buffer);
        return error.status == JPEGC_OK ? JPEGC_INVALID_ARGUMENT : error.status;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &length);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.optimize_coding = TRUE;
    if (channels == 3 && quality >= 90) cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
    if (density_unit >= 1 && density_unit <= 2 && x_density > 0 && y_density > 0 && x_density <= 65535 && y_density <= 65535) {
        cinfo.density_unit = (UINT8)density_unit;
        cinfo.X_density = (UINT16)x_density;
        cinfo.Y_density = (UINT16)y_density;
    }
    jpeg_start_compress(&cinfo, TRUE);
    if (icc != NULL && icc_size > 0 && icc_size <= (1u << 24)) jpeg_write_icc_profile(&cinfo, icc, (unsigned int)icc_size);
    while (cinfo.next_scanline < height) {
        JSAMPROW row = (JSAMPROW)(samples + (size_t)cinfo.next_scanline * width * (size_t)channels);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out_data = buffer;
    *out_size = length;
    return JPEGC_OK;
}

void jpegc_free(void *pointer) { free(pointer); }
