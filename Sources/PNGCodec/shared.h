// Internal declarations shared by the PNGCodec C files (not part of the public header).
#ifndef PNGCODEC_SHARED_H
#define PNGCODEC_SHARED_H

#include "pngcodec.h"

#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Error state shared by the decoder and the encoder; first member of both.
typedef struct {
    pngc_status status;   ///< status chosen by a callback before png_error, or PNGC_OK
    int message_set;      ///< 1 once `message` holds the final explanation
    char *message;
    size_t message_capacity;
    char warnings[256];   ///< libpng warnings seen so far, "; "-separated (explain "Invalid IHDR data")
    size_t refused_allocation; ///< size of the last allocation pngci_capped_malloc refused, or 0
} pngc_error_state;

void pngci_set_message(pngc_error_state *e, pngc_status status, const char *format, ...) __attribute__((format(printf, 3, 4)));
void pngci_begin_call(pngc_error_state *e, char *message, size_t capacity);
uint32_t pngci_read_be32(const uint8_t *p);
int pngci_host_is_little_endian(void);
void pngci_chunk_name(const uint8_t *type, char out[20]);
void pngci_format_pixels(uint64_t n, char *out, size_t capacity);
uint32_t pngci_crc32_of(const uint8_t *p, size_t n);
void pngci_on_libpng_error(png_structp png, png_const_charp msg);
void pngci_on_libpng_warning(png_structp png, png_const_charp msg);
png_voidp pngci_capped_malloc(png_structp png, png_alloc_size_t size);
void pngci_capped_free(png_structp png, png_voidp pointer);

#endif
