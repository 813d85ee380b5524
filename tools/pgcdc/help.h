/* pgcdc --help and --help-config (help.c). */
#ifndef PGCDC_TOOL_HELP_H
#define PGCDC_TOOL_HELP_H

/* The usage text on stdout. */
void pgcdc_tool_usage(void);
/* Every property as a Markdown table on stdout (docs/CONFIGURATION.md). */
void pgcdc_tool_help_config(void);

#endif /* PGCDC_TOOL_HELP_H */
