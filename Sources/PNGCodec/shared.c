// PNGCodec: libpng behind setjmp handlers (see include/pngcodec.h). This file: error
// state, messages and the capped allocator shared by decode.c and encode.c.
//
// Rules followed throughout:
// * every libpng call happens after a setjmp on the png_struct's jmpbuf, in
//   the same C frame, so a libpng error never unwinds through Swift;
// * no local variable is modified between setjmp and a possible longjmp
//   (all such state lives in heap structs), so nothing needs `volatile`;
// * memory allocated while libpng may longjmp is owned by a struct that the
//   error path frees;
// * libpng warnings are swallowed (never printed to stderr).
#include "shared.h"



void pngci_set_message(pngc_error_state *e, pngc_status status, const char *format, ...) {
    e->status = status;
    e->message_set = 1;
    if (e->message == NULL || e->message_capacity == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(e->message, e->message_capacity, format, args);
    va_end(args);
}

void pngci_begin_call(pngc_error_state *e, char *message, size_t capacity) {
    e->status = PNGC_OK;
    e->message_set = 0;
    e->message = message;
    e->message_capacity = capacity;
    e->warnings[0] = '\0';
    e->refused_allocation = 0;
    if (message != NULL && capacity > 0) message[0] = '\0';
}

uint32_t pngci_read_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int pngci_host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/// Chunk type as text: letters as-is, anything else as \xNN.
void pngci_chunk_name(const uint8_t *type, char out[20]) {
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
void pngci_format_pixels(uint64_t n, char *out, size_t capacity) {
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
uint32_t pngci_crc32_of(const uint8_t *p, size_t n) {
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
        pngci_set_message(e, PNGC_CORRUPT, "a chunk declares an implausible size (%zu bytes; the limit is %u MB), then: %s",
                    e->refused_allocation, PNGC_MAX_CHUNK_BYTES >> 20, text);
    } else {
        pngci_set_message(e, status, "%s", text);
    }
}

void pngci_on_libpng_error(png_structp png, png_const_charp msg) {
    pngc_error_state *e = (pngc_error_state *)png_get_error_ptr(png);
    if (e != NULL) report_libpng_error(e, msg != NULL ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

void pngci_on_libpng_warning(png_structp png, png_const_charp msg) {
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
png_voidp pngci_capped_malloc(png_structp png, png_alloc_size_t size) {
    if (size > PNGC_MAX_CHUNK_BYTES) {
        pngc_error_state *e = (pngc_error_state *)png_get_mem_ptr(png);
        if (e != NULL) e->refused_allocation = size;
        return NULL;
    }
    return malloc(size);
}

void pngci_capped_free(png_structp png, png_voidp pointer) {
    (void)png;
    free(pointer);
}
