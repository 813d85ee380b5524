/*
 * Hiding a password given in the connection string from ps: the argument
 * is edited in place once the library has its own copy.
 */
#ifndef PGCDC_TOOL_SCRUB_H
#define PGCDC_TOOL_SCRUB_H

/*
 * Removes the password from a libpq connection string, key=value
 * ("password=..." or "password = '...'") or URI ("postgresql://user:pw@",
 * "?password=..."), shifting what follows over it and filling the freed
 * tail with NULs.  Returns 1 when it removed one, else 0.
 */
int pgcdc_tool_scrub_password(char *conninfo);

#endif /* PGCDC_TOOL_SCRUB_H */
