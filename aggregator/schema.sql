-- The national store: one row per submitted file, its findings, and one table per part of the template.
-- Every data table is keyed by submission_id; table rows keep the sheet row they came from (row).
-- Column names are the template specification's field ids (tests check the two agree).

CREATE SEQUENCE IF NOT EXISTS submission_ids START 1;

CREATE TABLE IF NOT EXISTS plans (          -- the 151 plans and their (synthetic) allocations
    plan_code VARCHAR PRIMARY KEY,
    plan_name VARCHAR NOT NULL,
    region_name VARCHAR NOT NULL,
    population BIGINT,
    minimum_pooled_000 DOUBLE,
    ringfence_000 DOUBLE
);

CREATE TABLE IF NOT EXISTS submissions (
    submission_id BIGINT PRIMARY KEY DEFAULT nextval('submission_ids'),
    round VARCHAR NOT NULL,
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
    fix VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS cover (
    submission_id BIGINT NOT NULL, hwb_name VARCHAR, lead_council VARCHAR, contact_name VARCHAR,
    contact_email VARCHAR, contact_phone VARCHAR, date_agreed DATE, date_submitted DATE
);

CREATE TABLE IF NOT EXISTS funding_summary (
    submission_id BIGINT NOT NULL, social_care_protection DOUBLE, ringfenced_oohs DOUBLE, care_act DOUBLE,
    carers_breaks DOUBLE, reablement_funding DOUBLE
);

CREATE TABLE IF NOT EXISTS nel_plan (
    submission_id BIGINT NOT NULL, population DOUBLE, nel_justification VARCHAR, nel_unit_cost DOUBLE
);

CREATE TABLE IF NOT EXISTS nel_quarters (   -- the eight quarterly figures of the NEL & P4P sheet
    submission_id BIGINT NOT NULL, period VARCHAR NOT NULL, quarter INTEGER NOT NULL, admissions DOUBLE
);

CREATE TABLE IF NOT EXISTS governance (
    submission_id BIGINT NOT NULL, s75_status VARCHAR, host_org VARCHAR, fund_manager VARCHAR, overspend VARCHAR,
    underspend VARCHAR, share_ccg DOUBLE, share_la DOUBLE, contingency DOUBLE, p4p_at_risk DOUBLE,
    exit_agreed VARCHAR, arbitration_agreed VARCHAR
);

CREATE TABLE IF NOT EXISTS ccgs (
    submission_id BIGINT NOT NULL, "row" INTEGER, ccg_name VARCHAR, ccg_code VARCHAR
);

CREATE TABLE IF NOT EXISTS signoffs (
    submission_id BIGINT NOT NULL, "row" INTEGER, role VARCHAR, signed VARCHAR, name VARCHAR, date DATE
);

CREATE TABLE IF NOT EXISTS funding (
    submission_id BIGINT NOT NULL, "row" INTEGER, org_type VARCHAR, organisation VARCHAR, stream VARCHAR,
    amount_1415 DOUBLE, amount_1516 DOUBLE, comment VARCHAR
);

CREATE TABLE IF NOT EXISTS schemes (
    submission_id BIGINT NOT NULL, "row" INTEGER, scheme_id VARCHAR, scheme_name VARCHAR, scheme_type VARCHAR,
    area_of_spend VARCHAR, commissioner VARCHAR, provider_type VARCHAR, funding_source VARCHAR,
    new_existing VARCHAR, spend_1415 DOUBLE, spend_1516 DOUBLE, protects_social_care VARCHAR, nhs_oohs VARCHAR
);

CREATE TABLE IF NOT EXISTS benefits (
    submission_id BIGINT NOT NULL, "row" INTEGER, benefit_id VARCHAR, scheme_ids VARCHAR, benefit_type VARCHAR,
    unit VARCHAR, baseline_volume DOUBLE, planned_change DOUBLE, unit_cost DOUBLE, planned_saving DOUBLE,
    accrues_to VARCHAR, cashable VARCHAR, evidence VARCHAR, confidence VARCHAR
);

CREATE TABLE IF NOT EXISTS metrics (
    submission_id BIGINT NOT NULL, "row" INTEGER, metric VARCHAR, local_name VARCHAR, per DOUBLE,
    num_baseline DOUBLE, den_baseline DOUBLE, rate_baseline DOUBLE, num_plan DOUBLE, den_plan DOUBLE,
    rate_plan DOUBLE, rationale VARCHAR
);

CREATE TABLE IF NOT EXISTS conditions (
    submission_id BIGINT NOT NULL, "row" INTEGER, condition VARCHAR, meets VARCHAR, explanation VARCHAR,
    date_expected DATE
);

CREATE TABLE IF NOT EXISTS risks (
    submission_id BIGINT NOT NULL, "row" INTEGER, risk_id VARCHAR, description VARCHAR, boundary VARCHAR,
    likelihood DOUBLE, impact DOUBLE, score DOUBLE, exposure DOUBLE, falls_on VARCHAR, mitigation VARCHAR,
    owner VARCHAR, review_date DATE
);

CREATE TABLE IF NOT EXISTS boundaries (
    submission_id BIGINT NOT NULL, "row" INTEGER, boundary_name VARCHAR, reason_none VARCHAR
);

CREATE TABLE IF NOT EXISTS providers (
    submission_id BIGINT NOT NULL, "row" INTEGER, provider VARCHAR, provider_kind VARCHAR, nel_change DOUBLE,
    income_change DOUBLE, signed_up VARCHAR
);
