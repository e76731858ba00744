-- The national store's fixed tables: the plans of every round, one row per submitted file, and its findings.
-- The tables holding what each return's workbook contains are not written here: `bcf.store` derives them
-- from the template specifications (one table per sheet of single values, one per table of rows, keyed by
-- submission_id), so a field added to a template needs no change to this file.

CREATE SEQUENCE IF NOT EXISTS submission_ids START 1;

CREATE TABLE IF NOT EXISTS plans (          -- each round's plans and their (synthetic) allocations
    round VARCHAR NOT NULL,
    plan_code VARCHAR NOT NULL,
    plan_name VARCHAR NOT NULL,
    region_name VARCHAR NOT NULL,
    population BIGINT,
    minimum_pooled_000 DOUBLE,
    ringfence_000 DOUBLE,
    PRIMARY KEY (round, plan_code)
);

CREATE TABLE IF NOT EXISTS periods (        -- the periods a return covers (the quarters of a monitoring year), in order
    round VARCHAR NOT NULL,
    return_kind VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    quarter_no INTEGER NOT NULL,             -- 1 for the first period reported, which matches the plan's first quarter
    PRIMARY KEY (round, return_kind, period)
);

CREATE TABLE IF NOT EXISTS submissions (
    submission_id BIGINT PRIMARY KEY DEFAULT nextval('submission_ids'),
    round VARCHAR NOT NULL,
    return_kind VARCHAR NOT NULL,            -- plan, quarterly: what the file was sent in as
    period VARCHAR,                          -- the quarter a quarterly return covers
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    hwb VARCHAR,
    plan_code VARCHAR,
    template_id VARCHAR,
    template_version VARCHAR,
    received_at TIMESTAMP NOT NULL,          -- when the file arrived (its modification time)
    loaded_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    status VARCHAR NOT NULL CHECK (status IN ('ready', 'not ready', 'unreadable')),
    blocking INTEGER NOT NULL,
    advisory INTEGER NOT NULL,
    UNIQUE (round, sha256)                   -- the same bytes load once per round
);

CREATE TABLE IF NOT EXISTS findings (
    submission_id BIGINT NOT NULL,
    rule_id VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    family VARCHAR NOT NULL,
    sheet VARCHAR,
    cell VARCHAR,
    found VARCHAR,
    expected VARCHAR,
    message VARCHAR NOT NULL,
    fix VARCHAR NOT NULL,
    location VARCHAR,                        -- where, in the plan's own terms (a field, or a table row's key and column)
    explanation VARCHAR,                     -- the area's explanation of an advisory finding
    fingerprint VARCHAR                      -- what a decision on the explanation was made on
);

-- The assurers' decisions are not here: they live in the state store beside this file (bcf.national.decisions),
-- and every connection sees them as the relation `decisions`.
