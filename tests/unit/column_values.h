/*
 * Column values as the decoder hands them over, for hand-built rows:
 * NUL-terminated text and its length, NULL, an unchanged TOASTed value.
 */
#ifndef PGCDC_TEST_COLUMN_VALUES_H
#define PGCDC_TEST_COLUMN_VALUES_H

#define TXT(lit)                                                                                   \
    {                                                                                              \
        (lit), sizeof(lit) - 1, PGCDC_COL_TEXT                                                     \
    }
#define NUL                                                                                        \
    {                                                                                              \
        NULL, 0, PGCDC_COL_NULL                                                                    \
    }
#define UNCH                                                                                       \
    {                                                                                              \
        NULL, 0, PGCDC_COL_UNCHANGED                                                               \
    }

#endif /* PGCDC_TEST_COLUMN_VALUES_H */
