/*
 * The plugin loader: the shared object is opened, the version it was built
 * for read and checked before anything of it runs, then its init is run on
 * the configuration.  The object stays loaded while a configuration or a
 * worker holds a reference to it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "plugin.h"

struct pgcdc__plugin {
    atomic_int refs;
    void *handle;
    char *path;
};

pgcdc__plugin *pgcdc__plugin_ref(pgcdc__plugin *p)
{
    atomic_fetch_add(&p->refs, 1);
    return p;
}

void pgcdc__plugin_unref(pgcdc__plugin *p)
{
    if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    dlclose(p->handle);
    free(p->path);
    free(p);
}

const char *pgcdc__plugin_path(const pgcdc__plugin *p)
{
    return p->path;
}

int pgcdc__plugin_compatible(int plugin, int library)
{
    int major = plugin / 10000;

    if (plugin <= 0 || plugin > library || major != library / 10000)
        return 0;
    /* Before 1.0 a minor version may change what a call means. */
    return major != 0 || plugin / 100 % 100 == library / 100 % 100;
}

static void version_text(int v, char *buf, size_t size)
{
    if (v <= 0)
        snprintf(buf, size, "%d (no valid version)", v);
    else
        snprintf(buf, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

/* 1 when the file starts as an ELF object does; 0 with *why set otherwise. */
static int looks_elf(const char *file, const char **why)
{
    unsigned char magic[4];
    struct stat st;
    FILE *f;
    size_t n;

    if (stat(file, &st) != 0) {
        *why = errno == ENOENT ? "no such file" : strerror(errno);
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = "not a file";
        return 0;
    }
    f = fopen(file, "rb");
    if (f == NULL) {
        *why = strerror(errno);
        return 0;
    }
    n = fread(magic, 1, sizeof(magic), f);
    fclose(f);
    if (n != sizeof(magic) || memcmp(magic, "\177ELF", 4) != 0) {
        *why = "not a shared object";
        return 0;
    }
    return 1;
}

/* dlerror()'s text without the file name it begins with. */
static const char *dl_reason(const char *file)
{
    const char *e = dlerror();
    size_t n = strlen(file);

    if (e == NULL)
        return "unknown error";
    if (strncmp(e, file, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
        return e + n + 2;
    return e;
}

/* Opens the object and checks that it is a plugin this library can run: its handle, or NULL. */
static void *open_plugin(pgcdc_config *cfg, const char *path, const char *file)
{
    const char *why = NULL;
    const int *version;
    void *handle;
    char theirs[32];
    char ours[32];

    if (!looks_elf(file, &why)) {
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "could not load plugin \"%s\": %s", path, why);
        return NULL;
    }
    handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "could not load plugin \"%s\": %s", path,
                           dl_reason(file));
        return NULL;
    }
    version = dlsym(handle, PGCDC_PLUGIN_VERSION_SYMBOL);
    if (version == NULL) {
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                           "could not load plugin \"%s\": it has no %s (not a pgcdc plugin? define "
                           "its entry point with PGCDC_PLUGIN_INIT)",
                           path, PGCDC_PLUGIN_VERSION_SYMBOL);
        goto fail;
    }
    if (!pgcdc__plugin_compatible(*version, PGCDC_VERSION_NUM)) {
        version_text(*version, theirs, sizeof(theirs));
        version_text(PGCDC_VERSION_NUM, ours, sizeof(ours));
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                           "plugin \"%s\" was built for pgcdc %s, which this pgcdc %s cannot run: "
                           "rebuild the plugin against this pgcdc",
                           path, theirs, ours);
        goto fail;
    }
    if (dlsym(handle, PGCDC_PLUGIN_ENTRY) == NULL) {
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                           "could not load plugin \"%s\": it has no function %s (define it with "
                           "PGCDC_PLUGIN_INIT)",
                           path, PGCDC_PLUGIN_ENTRY);
        goto fail;
    }
    for (int i = 0; i < cfg->nplugins; i++) {
        if (cfg->plugins[i]->handle == handle) {
            pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                               "plugin \"%s\" is loaded already (as \"%s\")", path,
                               cfg->plugins[i]->path);
            goto fail;
        }
    }
    return handle;
fail:
    dlclose(handle);
    return NULL;
}

/* Keeps the open object with cfg (which then closes it): the new plugin, or NULL. */
static pgcdc__plugin *keep(pgcdc_config *cfg, void *handle, const char *path)
{
    pgcdc__plugin **grown = realloc(cfg->plugins, (size_t)(cfg->nplugins + 1) * sizeof(*grown));
    pgcdc__plugin *p = calloc(1, sizeof(*p));

    if (grown != NULL)
        cfg->plugins = grown;
    if (p != NULL)
        p->path = strdup(path);
    if (grown == NULL || p == NULL || p->path == NULL) {
        if (p != NULL)
            free(p->path);
        free(p);
        dlclose(handle);
        pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->handle = handle;
    cfg->plugins[cfg->nplugins++] = p;
    return p;
}

int pgcdc_config_load_plugin(pgcdc_config *cfg, const char *path)
{
    pgcdc_plugin_init_fn init;
    pgcdc__plugin *p;
    char file[4096];
    char err[512] = "";
    char why[PGCDC__MSG_SIZE];
    void *handle;
    void *sym;
    int r;

    if (path == NULL || *path == '\0')
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "a plugin needs the path of its file");
    /* A name alone would have dlopen search the library path: it is a file here. */
    if ((size_t)snprintf(file, sizeof(file), "%s%s", strchr(path, '/') != NULL ? "" : "./", path) >=
        sizeof(file))
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "plugin path too long");
    handle = open_plugin(cfg, path, file);
    if (handle == NULL)
        return PGCDC_ERR_INVALID;
    /* Kept before its init runs: what it registers points into it, failed or not. */
    p = keep(cfg, handle, path);
    if (p == NULL)
        return PGCDC_ERR_NOMEM;
    sym = dlsym(handle, PGCDC_PLUGIN_ENTRY);
    memcpy(&init, &sym, sizeof(init));
    cfg->errmsg[0] = '\0';
    r = init(cfg, PGCDC_VERSION_NUM, err, sizeof(err));
    if (r == PGCDC_OK)
        return PGCDC_OK;
    /* Its own reason, else that of the call of ours that failed it. */
    err[sizeof(err) - 1] = '\0';
    snprintf(why, sizeof(why), "%s",
             err[0] != '\0'           ? err
             : cfg->errmsg[0] != '\0' ? cfg->errmsg
                                      : pgcdc_strerror(r));
    pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "plugin \"%s\" failed to initialize: %s", path, why);
    return r == PGCDC_ERR_NOMEM ? r : PGCDC_ERR_INVALID;
}
