/*
 * File I/O that the layers above share: writing everything, through
 * interrupted and short writes.
 */
#ifndef PGCDC_BASE_FILEIO_H
#define PGCDC_BASE_FILEIO_H

#include <stddef.h>

/* Writes all n bytes to fd; 0, or -1 with errno set (EIO for a write that made no progress). */
int pgcdc__write_all(int fd, const void *p, size_t n);

#endif /* PGCDC_BASE_FILEIO_H */
