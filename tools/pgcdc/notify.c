/*
 * systemd notifications (see notify.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static struct sockaddr_un addr;
static socklen_t addr_len;
static uint64_t watchdog_us;

int pgcdc_tool_notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    const char *wd = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    size_t n;

    addr_len = 0;
    watchdog_us = 0;
    if (path == NULL || (path[0] != '/' && path[0] != '@') ||
        (n = strlen(path)) >= sizeof(addr.sun_path))
        return 0;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, path, n);
    if (path[0] == '@')
        addr.sun_path[0] = '\0'; /* an abstract socket */
    addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    /* The watchdog is this process's only when WATCHDOG_PID is unset or names it. */
    if (wd != NULL && (pid == NULL || strtol(pid, NULL, 10) == (long)getpid()))
        watchdog_us = strtoull(wd, NULL, 10);
    return 1;
}

int pgcdc_tool_notify(const char *msg)
{
    int fd;
    ssize_t sent;

    if (addr_len == 0)
        return 0;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sent = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
    close(fd);
    return sent == (ssize_t)strlen(msg) ? 0 : -1;
}

uint64_t pgcdc_tool_notify_watchdog_us(void)
{
    return watchdog_us;
}
