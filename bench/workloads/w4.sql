-- W4 one large transaction: the W1 table, filled by a single INSERT of :rows rows.
CREATE TABLE w4 (
    id bigint PRIMARY KEY,
    a int4,
    b int8,
    c float8,
    d text,
    e timestamptz,
    f bool
);
