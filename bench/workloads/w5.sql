-- W5 latency: one small row per transaction.
CREATE TABLE w5 (
    id bigserial PRIMARY KEY,
    client int4 NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
