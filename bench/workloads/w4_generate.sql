-- W4: :rows rows in one transaction.
INSERT INTO w4
SELECT g, (g % 100000)::int4, g * 7919, g / 7.0, 'customer-' || g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 3 = 0
FROM generate_series(1, :rows::bigint) AS g;
