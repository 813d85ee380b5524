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

/*
 * Removes the value of a NAME=VALUE property whose name ends in "secret" or
 * "password" (sink.http.secret, sink.kafka.sasl.password...).  Returns 1
 * when it removed one, else 0.
 */
int pgcdc_tool_scrub_secret(char *property);

/*
 * Removes the user and password from the authority of a URI
 * (https://user:pw@host/... becomes https://host/...).  Returns 1 when it
 * removed them, else 0.
 */
int pgcdc_tool_scrub_userinfo(char *uri);

#endif /* PGCDC_TOOL_SCRUB_H */
