/*
 * systemd's service notifications (sd_notify(3)'s protocol: a datagram to
 * the socket in $NOTIFY_SOCKET), written here rather than linked: READY=1
 * once every pipeline streams, WATCHDOG=1 at half the interval systemd asks
 * for ($WATCHDOG_USEC), STATUS= lines and STOPPING=1.  Without
 * $NOTIFY_SOCKET every call does nothing.
 */
#ifndef PGCDC_TOOL_NOTIFY_H
#define PGCDC_TOOL_NOTIFY_H

#include <stdint.h>

/* Reads the environment; whether notifications go anywhere. */
int pgcdc_tool_notify_init(void);
/* Sends one message ("READY=1", "STATUS=..."); 0, or -1 when it could not be sent. */
int pgcdc_tool_notify(const char *msg);
/* The watchdog's interval in microseconds ($WATCHDOG_USEC for this process), or 0. */
uint64_t pgcdc_tool_notify_watchdog_us(void);

#endif /* PGCDC_TOOL_NOTIFY_H */
