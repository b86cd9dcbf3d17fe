#include "demo.h"

#include <stdlib.h>
#include <zlib.h>

long demo_compressed_size(const unsigned char *data, size_t size) {
    uLongf bound = compressBound((uLong)size);
    unsigned char *out = malloc(bound);
    if (out == NULL) return -1;
    int rc = compress2(out, &bound, data, (uLong)size, Z_BEST_COMPRESSION);
    free(out);
    return rc == Z_OK ? (long)bound : -1;
}

const char *demo_greeting(void) { return "hello from libdemo"; }
