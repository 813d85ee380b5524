/*
 * The plugin's sink kind, changelog:PATH: a line per change appended to
 * PATH, fsynced at each commit (see changelog.c).
 */
#ifndef CHANGELOG_H
#define CHANGELOG_H

#include "pgcdc.h"

extern const pgcdc_sink_ops changelog_sink;

#endif /* CHANGELOG_H */
