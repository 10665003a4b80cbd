// JPEGCodec: a small C shim around libjpeg-turbo for the Swift ImageIO module.
//
// libjpeg reports fatal errors by calling error_exit, which must not return; this shim longjmps
// back from it, so no Swift frame is ever unwound by libjpeg. Errors come back as a status code
// and a message. Damage that libjpeg would only warn about and paper over with grey (a
// truncated file, corrupt entropy data) is an error here too: a silently half-grey photo is
// worse than a refusal.
//
// Decoding is two-phase, like PNGCodec, so the caller allocates the pixels after seeing (and
// bounding) the size:
//   jpegc_decoder_open  -> reads the header, applies the pixel limit, reports the shape;
//   jpegc_decoder_read  -> decodes into a uint8 buffer (gray, or RGB for every colour JPEG);
//   jpegc_decoder_close -> frees everything (always call it after a successful open).
#ifndef JPEGCODEC_H
#define JPEGCODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    JPEGC_OK = 0,
    JPEGC_NOT_JPEG = 1,          ///< no SOI marker
    JPEGC_CORRUPT = 2,           ///< truncated or damaged data, invalid header
    JPEGC_TOO_LARGE = 3,         ///< over the caller's pixel limit or libjpeg's memory cap
    JPEGC_UNSUPPORTED = 4,       ///< a valid JPEG this shim does not decode (e.g. 12-bit)
    JPEGC_NO_MEMORY = 5,
    JPEGC_INVALID_ARGUMENT = 6
} jpegc_status;

#define JPEGC_MESSAGE_CAPACITY 512
/// Progressive files with more scans than this are refused (a known way to make decoders spin).
#define JPEGC_MAX_SCANS 1000

typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t channels;     ///< 1 (gray) or 3 (RGB) after conversion
    int32_t orientation;  ///< EXIF orientation 1...8 (1 when absent or invalid)
    int32_t progressive;
    int32_t source_components; ///< components stored in the file (1, 3 or 4)
    int32_t density_unit;      ///< JFIF: 0 aspect ratio only, 1 dots per inch, 2 dots per cm
    int32_t x_density, y_density;
    int32_t has_density;       ///< 1 when the file has a JFIF header
} jpegc_info;

typedef struct jpegc_decoder jpegc_decoder;

/// `data` must stay alive and unchanged until jpegc_decoder_close.
jpegc_status jpegc_decoder_open(const uint8_t *data, size_t size, uint64_t max_pixels,
                                jpegc_decoder **out, jpegc_info *info,
                                char *message, size_t message_capacity);

/// `sample_count` must equal width * height * channels.
jpegc_status jpegc_decoder_read(jpegc_decoder *decoder, uint8_t *samples, size_t sample_count,
                                char *message, size_t message_capacity);

void jpegc_decoder_close(jpegc_decoder *decoder);

/// After open: the embedded ICC profile (APP2 markers), as a buffer the caller frees with
/// jpegc_free; 0 and NULL when there is none or it is damaged.
size_t jpegc_decoder_icc(jpegc_decoder *decoder, uint8_t **profile);

/// Baseline JPEG of 8-bit gray (channels 1) or RGB (channels 3) samples, quality 1...100,
/// 4:2:0 chroma below quality 90 and 4:4:4 from 90 (fine detail around a fill survives).
/// On JPEGC_OK `*out_data` is a malloc'd buffer the caller frees with jpegc_free.
jpegc_status jpegc_encode(const uint8_t *samples, size_t sample_count, uint32_t width, uint32_t height,
                          int32_t channels, int32_t quality, uint8_t **out_data, size_t *out_size,
                          char *message, size_t message_capacity);

/// jpegc_encode, also writing an ICC profile (NULL: none) and a JFIF density (unit 0: none).
jpegc_status jpegc_encode_with(const uint8_t *samples, size_t sample_count, uint32_t width, uint32_t height,
                               int32_t channels, int32_t quality, const uint8_t *icc, size_t icc_size,
                               int32_t density_unit, int32_t x_density, int32_t y_density,
                               uint8_t **out_data, size_t *out_size, char *message, size_t message_capacity);

void jpegc_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
