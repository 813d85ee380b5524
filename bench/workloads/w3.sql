-- W3 wide rows: 30 columns, among them a ~2 kB jsonb document and an 8 kB text
-- stored out of line (STORAGE EXTERNAL: TOASTed, not compressed).  bench_w3
-- inserts n rows, then updates each once without touching the TOASTed text,
-- in transactions of per_txn rows.  Replica identity stays the default (the
-- key), so an update carries the TOASTed column as "unchanged".
CREATE TABLE w3 (
    id bigint PRIMARY KEY,
    i1 int4, i2 int4, i3 int4, i4 int4, i5 int4, i6 int4,
    b1 int8, b2 int8, b3 int8, b4 int8,
    f1 float8, f2 float8, f3 float8,
    n1 numeric(12, 2), n2 numeric(18, 6),
    t1 text, t2 text, t3 text, t4 text,
    v1 varchar(64),
    ts1 timestamptz, ts2 timestamptz,
    d1 date,
    flag1 bool, flag2 bool,
    u uuid,
    doc jsonb,
    body text,
    counter int4
);
ALTER TABLE w3 ALTER COLUMN body SET STORAGE EXTERNAL;

CREATE PROCEDURE bench_w3(n bigint, per_txn int)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint;
    base jsonb;
BEGIN
    -- About 2 kB of JSON: 40 small objects.
    SELECT jsonb_build_object('items', jsonb_agg(jsonb_build_object(
               'sku', 'SKU-' || k, 'qty', k, 'price', k * 1.25, 'tags', jsonb_build_array('a', 'b'))))
    INTO base FROM generate_series(1, 40) AS k;
    i := 0;
    WHILE i < n LOOP
        INSERT INTO w3
        SELECT g, g::int4 % 1000, g::int4 % 7, g::int4 % 13, g::int4, -g::int4, 42,
               g * 31, g * 37, -g, 1099511627776,
               g / 3.0, g * 1.5, -g / 7.0,
               (g % 100000) / 100.0, g / 1000000.0,
               'alpha-' || g, 'beta-' || g, 'gamma', 'delta-' || (g % 10),
               'varchar-' || g,
               timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', now(),
               date '2024-01-01' + (g % 365)::int,
               g % 2 = 0, g % 5 = 0,
               md5(g::text)::uuid,
               base || jsonb_build_object('id', g),
               repeat(md5(g::text), 256),
               0
        FROM generate_series(i + 1, least(i + per_txn, n)) AS g;
        COMMIT;
        i := i + per_txn;
    END LOOP;
    i := 0;
    WHILE i < n LOOP
        UPDATE w3 SET counter = counter + 1, i1 = i1 + 1, ts2 = now(), t3 = 'updated'
        WHERE id BETWEEN i + 1 AND least(i + per_txn, n);
        COMMIT;
        i := i + per_txn;
    END LOOP;
END
$$;
