/*
 * libFuzzer entry point for binary value conversion: the first byte picks a
 * type pgcdc reads in binary, the rest is the value as the server would send it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/binval.h"
#include "wire/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t types[] = {
    PGCDC_OID_BOOL,    PGCDC_OID_BYTEA,  PGCDC_OID_NAME,      PGCDC_OID_INT8,
    PGCDC_OID_INT2,    PGCDC_OID_INT4,   PGCDC_OID_TEXT,      PGCDC_OID_OID,
    PGCDC_OID_JSON,    PGCDC_OID_FLOAT4, PGCDC_OID_FLOAT8,    PGCDC_OID_BPCHAR,
    PGCDC_OID_VARCHAR, PGCDC_OID_DATE,   PGCDC_OID_TIMESTAMP, PGCDC_OID_TIMESTAMPTZ,
    PGCDC_OID_NUMERIC, PGCDC_OID_UUID,   PGCDC_OID_JSONB,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgcdc__buf out;

    if (size < 1)
        return 0;
    pgcdc__buf_init(&out);
    pgcdc__binary_to_text(types[data[0] % (sizeof(types) / sizeof(types[0]))], data + 1, size - 1,
                          &out);
    pgcdc__buf_free(&out);
    return 0;
}
