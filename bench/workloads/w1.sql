-- W1 narrow inserts: one table of seven common types; the procedure inserts
-- n rows in transactions of per_txn rows (COMMIT inside a procedure).
CREATE TABLE w1 (
    id bigint PRIMARY KEY,
    a int4,
    b int8,
    c float8,
    d text,
    e timestamptz,
    f bool
);

CREATE PROCEDURE bench_w1(n bigint, per_txn int)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint := 0;
BEGIN
    WHILE i < n LOOP
        INSERT INTO w1
        SELECT g, (g % 100000)::int4, g * 7919, g / 7.0, 'customer-' || g,
               timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 3 = 0
        FROM generate_series(i + 1, least(i + per_txn, n)) AS g;
        COMMIT;
        i := i + per_txn;
    END LOOP;
END
$$;
