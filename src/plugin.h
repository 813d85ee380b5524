/*
 * Plugins: shared objects loaded by pgcdc_config_load_plugin().  A loaded
 * object is shared by the configurations it was loaded into and their
 * copies (a worker's), each holding a reference; the last one let go
 * unloads it.
 */
#ifndef PGCDC_PLUGIN_H
#define PGCDC_PLUGIN_H

typedef struct pgcdc__plugin pgcdc__plugin;

/* One reference more (any thread); returns p. */
pgcdc__plugin *pgcdc__plugin_ref(pgcdc__plugin *p);
/* One reference less (any thread): the last unloads the object and frees p.  NULL: nothing. */
void pgcdc__plugin_unref(pgcdc__plugin *p);
/* The path it was loaded from, as given. */
const char *pgcdc__plugin_path(const pgcdc__plugin *p);

/*
 * 1 when a plugin built against version plugin (a PGCDC_VERSION_NUM) may
 * load into a library of version library, else 0 (pgcdc.h tells the rule).
 */
int pgcdc__plugin_compatible(int plugin, int library);

#endif /* PGCDC_PLUGIN_H */
