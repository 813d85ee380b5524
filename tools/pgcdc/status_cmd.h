/*
 * pgcdc status: each pipeline's slot and publication as the server has
 * them, without streaming: whether the slot exists and who streams from
 * it, its confirmed position, the WAL it holds back and its wal_status,
 * and the publication's tables.
 */
#ifndef PGCDC_TOOL_STATUS_CMD_H
#define PGCDC_TOOL_STATUS_CMD_H

#include <stdio.h>

#include "pgcdc.h"

/*
 * Prints the status of n pipelines (slots: their names) to out.  0, 3 when
 * a slot is missing or lost, or 1 when the server could not be asked (the
 * reason on stderr).
 */
int pgcdc_tool_status_cmd(FILE *out, pgcdc_worker *const *w, char *const *slots, int n);

/* One pipeline's lines into buf (for tests). */
void pgcdc_tool_status_text(char *buf, size_t size, const char *slot, const pgcdc_slot_status *st);

#endif /* PGCDC_TOOL_STATUS_CMD_H */
