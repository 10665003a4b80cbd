// PNGCodec: a small C shim around libpng for the Swift ImageIO module.
//
// libpng reports errors by longjmp, which Swift frames cannot survive. Every
// libpng call in this shim runs under a setjmp handler; errors come back as a
// status code plus a human-readable message in a caller-supplied buffer.
// No function here aborts or crashes on malformed input.
//
// Decoding is two-phase so the caller can allocate the pixel buffer itself
// (after seeing the dimensions):
//   pngc_decoder_open  -> validates the header, applies the pixel limit,
//                         reports width/height/channels/bit depth;
//   pngc_decoder_read  -> decodes all pixels into a uint16 buffer;
//   pngc_decoder_close -> frees everything (always call it after a successful open).
// The input bytes must stay alive and unchanged from open until close.
#ifndef PNGCODEC_H
#define PNGCODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by every pngc_* function.
typedef enum {
    PNGC_OK = 0,
    PNGC_NOT_PNG = 1,          ///< signature missing
    PNGC_CORRUPT = 2,          ///< bad CRC, truncated, invalid header or data
    PNGC_TOO_LARGE = 3,        ///< exceeds the per-side or the caller's pixel limit
    PNGC_UNSUPPORTED = 4,      ///< valid PNG feature this shim does not handle
    PNGC_NO_MEMORY = 5,        ///< an allocation failed
    PNGC_INVALID_ARGUMENT = 6, ///< caller passed bad parameters (e.g. to encode)
    PNGC_INTERNAL = 7          ///< libpng reported an error outside the above
} pngc_status;

/// Per-side limit passed to png_set_user_limits; larger images are PNGC_TOO_LARGE.
#define PNGC_MAX_SIDE 32768u

/// Largest non-IDAT chunk accepted, decompressed (iCCP, eXIf, ...). Text chunks (tEXt, zTXt,
/// iTXt) are skipped unread, so many small compressed chunks cannot add up to gigabytes.
#define PNGC_MAX_CHUNK_BYTES (16u * 1024u * 1024u)
/// Most ancillary chunks kept.
#define PNGC_MAX_ANCILLARY_CHUNKS 256u

/// Recommended size of message buffers.
#define PNGC_MESSAGE_CAPACITY 512

/// Shape of the decoded image, after expansion:
/// palettes -> RGB(A), 1/2/4-bit gray -> 8-bit, tRNS -> alpha channel.
typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t channels;  ///< 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    int32_t bit_depth; ///< 8 or 16
    int32_t interlaced; ///< 1 if the file is Adam7-interlaced (informational)
    int32_t source_bit_depth;  ///< bit depth stored in the file (1, 2, 4, 8, 16)
    int32_t source_color_type; ///< PNG color type stored in the file (0, 2, 3, 4, 6)
} pngc_info;

typedef struct pngc_decoder pngc_decoder;

/// What is copied from an input photo to the output: its colour profile and resolution.
typedef struct {
    const uint8_t *icc;        ///< ICC profile bytes, NULL when absent
    size_t icc_size;
    const char *icc_name;      ///< the iCCP chunk's profile name (NULL: "ICC profile")
    int32_t has_phys;          ///< 1 when a pHYs chunk is present
    uint32_t phys_x, phys_y;   ///< pixels per unit
    int32_t phys_unit;         ///< 0 unknown (aspect only), 1 metre
} pngc_metadata;

/// Starts decoding `size` bytes at `data`. On PNGC_OK, `*out` is a decoder
/// that must be released with pngc_decoder_close and `*info` is filled in.
/// On any other status, `*out` is NULL and `message` explains the problem.
/// `max_pixels` (width * height) is enforced before any pixel memory is used
/// (pass UINT64_MAX for "no limit beyond PNGC_MAX_SIDE per side").
pngc_status pngc_decoder_open(const uint8_t *data, size_t size, uint64_t max_pixels,
                              pngc_decoder **out, pngc_info *info,
                              char *message, size_t message_capacity);

/// Decodes every pixel into `samples` (row-major, interleaved channels,
/// host-order uint16 values: 0...255 for 8-bit, 0...65535 for 16-bit).
/// `sample_count` must equal width * height * channels. Also reads through
/// IEND, so a file truncated after its image data is still reported.
/// May be called at most once per decoder.
pngc_status pngc_decoder_read(pngc_decoder *decoder, uint16_t *samples, size_t sample_count,
                              char *message, size_t message_capacity);

/// After a successful open: the file's colour profile and resolution. The pointers stay valid
/// until pngc_decoder_close.
void pngc_decoder_metadata(pngc_decoder *decoder, pngc_metadata *out);

/// Releases the decoder (NULL is fine).
void pngc_decoder_close(pngc_decoder *decoder);

/// Encodes host-order uint16 samples (row-major, interleaved) as a PNG.
/// channels 1...4, bit_depth 8 or 16, every sample <= 255 when bit_depth is 8.
/// On PNGC_OK, `*out_data` is a malloc'd buffer of `*out_size` bytes that the
/// caller frees with pngc_free.
pngc_status pngc_encode(const uint16_t *samples, size_t sample_count,
                        uint32_t width, uint32_t height, int32_t channels, int32_t bit_depth,
                        uint8_t **out_data, size_t *out_size,
                        char *message, size_t message_capacity);

/// pngc_encode, also writing `metadata` (NULL: none) as iCCP and pHYs chunks. libpng drops a
/// profile it finds invalid with only a warning; `*icc_dropped` (if not NULL) says so.
pngc_status pngc_encode_with(const uint16_t *samples, size_t sample_count,
                             uint32_t width, uint32_t height, int32_t channels, int32_t bit_depth,
                             const pngc_metadata *metadata, int32_t *icc_dropped, uint8_t **out_data, size_t *out_size,
                             char *message, size_t message_capacity);

/// Frees memory returned by pngc_encode.
void pngc_free(void *pointer);

/// libpng's version string (for diagnostics).
const char *pngc_libpng_version(void);

#ifdef __cplusplus
}
#endif

#endif
