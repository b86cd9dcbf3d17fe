/* libdemo: a tiny C library the example builds itself, so that the wheel depends on a library
 * that no manylinux system is promised to have (it must be grafted into the wheel). */
#ifndef DEMO_H
#define DEMO_H
#include <stddef.h>

/* Number of bytes deflate (zlib, whitelisted by every manylinux policy) makes of `data`. */
long demo_compressed_size(const unsigned char *data, size_t size);
/* A greeting that proves the grafted library is the one answering. */
const char *demo_greeting(void);

#endif
