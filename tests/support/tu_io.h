/* tu_io.h — file helpers for the io tests (model files, checkpoints, outputs). */
#ifndef NN_TU_IO_H
#define NN_TU_IO_H

#include <stddef.h>
#include <stdint.h>

/* Remove a folder and everything under it (test cleanup). */
void tu_rmtree(const char *dir);
/* The whole file in a malloc'd buffer (NUL-terminated), *len bytes; fails the test if unreadable. */
unsigned char *tu_read_all(const char *path, size_t *len);
/* Write len bytes to path (replacing it); fails the test on error. */
void tu_write_bytes(const char *path, const void *data, size_t len);
/* Number of entries in a folder, "." and ".." excluded. */
size_t tu_count_entries(const char *dir);
/* malloc'd dir + "/" + name. */
char *tu_path(const char *dir, const char *name);
/* A Python interpreter that can import every module in the space-separated
 * list `modules` (Debian's /usr/bin/python3 first, then python3 on PATH), or
 * NULL. Static string. */
const char *tu_find_python(const char *modules);

#endif
