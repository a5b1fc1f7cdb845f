/* crc32.c — CRC-32 (zlib's) and little-endian byte order helpers. */
#include "io/io_internal.h"

#include <stdlib.h>

/* Slicing-by-4 CRC-32: the tables are built on the caller's stack each call
 * (4 KiB, microseconds), so the library keeps no global state. */
uint32_t nn_crc32(uint32_t crc, const void *data, size_t len) {
    uint32_t t[4][256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 4; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
    const uint8_t *p = data;
    crc = ~crc;
    for (; len >= 4; len -= 4, p += 4) {
        crc ^= (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        crc = t[3][crc & 0xFFu] ^ t[2][(crc >> 8) & 0xFFu] ^ t[1][(crc >> 16) & 0xFFu] ^
              t[0][crc >> 24];
    }
    while (len--) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
    return ~crc;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define IO_HOST_LE 1
#else
#define IO_HOST_LE 0
#endif

int io_le_pieces(const void *data, uint64_t count, size_t size, io_bytes_fn fn, void *ctx) {
    const uint8_t *p = data;
    if (IO_HOST_LE || size == 1) {
        /* pieces of at most 1 GiB so that len fits any size_t */
        uint64_t left = count * size;
        while (left > 0) {
            size_t n = left > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)left;
            if (fn(ctx, p, n)) return 1;
            p += n;
            left -= n;
        }
        return 0;
    }
    uint8_t buf[4096]; /* (4096) swapped elements */
    const size_t per = sizeof buf / size;
    while (count > 0) {
        size_t n = count > per ? per : (size_t)count;
        for (size_t i = 0; i < n; i++)
            for (size_t b = 0; b < size; b++) buf[i * size + b] = p[i * size + size - 1 - b];
        if (fn(ctx, buf, n * size)) return 1;
        p += n * size;
        count -= n;
    }
    return 0;
}

void io_le_load_f32(float *dst, const uint8_t *src, size_t count) {
    if (IO_HOST_LE) {
        memcpy(dst, src, count * sizeof(float));
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t u = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                     (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &u, sizeof u);
    }
}
