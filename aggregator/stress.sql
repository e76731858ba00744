-- The stress test of each current plan's savings in one round (reference section 5). The round and the
-- parameters arrive as variables: round, unit_cost, trend_growth, weight_high/medium/low, ...
-- Money in £000, unit cost in £. Results are kept per round: a run replaces its own round's rows only.

-- Track record (aggregator/track_record.sql, query feed_stress): where the round before has a complete year of
-- quarterly returns, each plan's planned reduction in emergency admissions R is shrunk toward what the trend
-- implies (admissions growing by trend_growth: a reduction of -g x B) by its board's weight w:
-- r_track = w x R + (1 - w) x (-g x B). NEL benefits are then backed up to r_track rather than R. With no track
-- record (no rows) r_track = R and nothing moves; *_untracked columns keep the figures without the weighting.

-- A run is three parts: the figures worked out in temporary tables (compute), the four result tables made
-- or brought up to date (tables: a store made before a column was added gains it), and the round's rows
-- replaced (replace).

-- query: compute
CREATE TEMP TABLE IF NOT EXISTS track_weights (plan_code VARCHAR, prior_round VARCHAR, skill DOUBLE,
    national_skill DOUBLE, source VARCHAR, own_weight DOUBLE, national_weight DOUBLE, weight DOUBLE,
    prior_baseline DOUBLE, prior_planned DOUBLE, prior_actual DOUBLE);

CREATE OR REPLACE TEMP TABLE plan_run AS               -- each current plan's emergency admissions and claims
WITH nel AS (SELECT submission_id, baseline AS b, planned AS p FROM nel_totals),
claims AS (
    SELECT submission_id,
           coalesce(sum(-planned_change) FILTER (WHERE benefit_type = 'Fewer NEL admissions'), 0) AS a,
           coalesce(sum(planned_saving) FILTER (WHERE benefit_type = 'Fewer NEL admissions'), 0) AS s_nel,
           coalesce(sum(planned_saving), 0) AS claimed,
           coalesce(sum(planned_saving) FILTER (WHERE confidence = 'High' AND nullif(trim(evidence), '') IS NOT NULL), 0) AS claimed_high
    FROM benefits GROUP BY submission_id
)
SELECT c.submission_id, c.round, c.plan_code, pl.plan_name, pl.region_name, c.status,
       nel.b, nel.p, nel.b - nel.p AS r, 100 * (nel.b - nel.p) / nullif(nel.b, 0) AS r_pct,
       coalesce(cl.a, 0) AS a, coalesce(cl.s_nel, 0) AS s_nel, coalesce(cl.claimed, 0) AS claimed,
       coalesce(cl.claimed_high, 0) AS claimed_high,
       fs.ringfenced_oohs, g.share_ccg, g.share_la, g.contingency,
       tw.weight AS track_weight, tw.source AS track_source, tw.skill AS track_skill, tw.prior_round,
       tw.prior_baseline, tw.prior_planned, tw.prior_actual,
       CASE WHEN tw.weight IS NULL THEN nel.b - nel.p
            ELSE tw.weight * (nel.b - nel.p) - (1 - tw.weight) * getvariable('trend_growth') * nel.b END AS r_track
FROM current_submissions c JOIN plans pl USING (round, plan_code)
LEFT JOIN nel USING (submission_id) LEFT JOIN claims cl USING (submission_id)
LEFT JOIN track_weights tw ON tw.plan_code = c.plan_code
LEFT JOIN funding_summary fs USING (submission_id) LEFT JOIN governance g USING (submission_id)
WHERE c.round = getvariable('round');

-- Each benefit's claim and the part its evidence backs. NEL rows are re-priced at min(A, R) x unit cost, shared
-- among the NEL rows by their avoided admissions, but never above what the row claims (a plan that prices an
-- admission below the unit cost is backed at its own price); then weighted by the evidence rating. r_track is R
-- shrunk by the track record; the untracked figures use R itself.
CREATE OR REPLACE TEMP TABLE benefit_run AS
SELECT base.round, bn.submission_id, bn.row, bn.benefit_id, bn.benefit_type, bn.confidence,
       nullif(trim(bn.evidence), '') IS NOT NULL AS has_evidence, bn.planned_saving AS claimed,
       CASE WHEN bn.benefit_type = 'Fewer NEL admissions'
            THEN least(greatest(least(base.a, base.r_track), 0) * getvariable('unit_cost') / 1000
                       * (-bn.planned_change / nullif(base.a, 0)), bn.planned_saving)
            ELSE bn.planned_saving END AS backable,
       CASE WHEN bn.benefit_type = 'Fewer NEL admissions'
            THEN least(greatest(least(base.a, base.r), 0) * getvariable('unit_cost') / 1000
                       * (-bn.planned_change / nullif(base.a, 0)), bn.planned_saving)
            ELSE bn.planned_saving END AS backable_untracked,
       CASE WHEN NOT has_evidence THEN 0
            WHEN bn.confidence = 'High' THEN getvariable('weight_high')
            WHEN bn.confidence = 'Medium' THEN getvariable('weight_medium')
            ELSE getvariable('weight_low') END AS weight,
       coalesce(backable * weight, 0) AS credible,
       coalesce(backable_untracked * weight, 0) AS credible_untracked,
       coalesce(backable * getvariable('weight_high'), 0) AS credible_if_high
FROM benefits bn JOIN plan_run base USING (submission_id);

CREATE OR REPLACE TEMP TABLE stress_run AS
WITH credible AS (SELECT submission_id, sum(credible) AS credible, sum(credible_untracked) AS credible_untracked
                  FROM benefit_run GROUP BY submission_id),
links AS (      -- each benefit's claimed saving against the year's spend of the schemes it names
    SELECT bn.submission_id, bn.benefit_id, any_value(bn.planned_saving) AS saving, sum(s.spend_this_year) AS spend
    FROM benefits bn, unnest(string_split(regexp_replace(coalesce(bn.scheme_ids, ''), '[;\s]+', ',', 'g'), ',')) AS t(id)
    JOIN schemes s ON s.submission_id = bn.submission_id AND s.scheme_id = t.id
    WHERE bn.submission_id IN (SELECT submission_id FROM plan_run)
    GROUP BY bn.submission_id, bn.benefit_id
),
roi AS (
    SELECT submission_id, sum(saving) / nullif(sum(spend), 0) AS saving_per_pound,
           count(*) FILTER (WHERE saving > spend * getvariable('return_on_spend_flag')) AS benefits_above_spend
    FROM links GROUP BY submission_id
)
SELECT base.*,
       base.a * getvariable('unit_cost') / 1000 AS repriced_nel,
       base.s_nel - base.a * getvariable('unit_cost') / 1000 AS overpricing,
       base.a - base.r AS volume_gap,
       base.b * (1 + getvariable('trend_growth')) - base.p AS needed_against_trend,
       percent_rank() OVER (PARTITION BY base.round ORDER BY base.r_pct) AS ambition_rank,
       coalesce(credible.credible, 0) AS credible,
       CASE WHEN coalesce(credible.credible, 0) > 0 THEN base.claimed / credible.credible END AS optimism,
       coalesce(credible.credible_untracked, 0) AS credible_untracked,
       CASE WHEN coalesce(credible.credible_untracked, 0) > 0
            THEN base.claimed / credible.credible_untracked END AS optimism_untracked,
       roi.saving_per_pound, coalesce(roi.benefits_above_spend, 0) AS benefits_above_spend,
       greatest(least(base.r * getvariable('unit_cost') / 1000, base.ringfenced_oohs), 0) AS p4p_value,
       greatest(base.b * (1 + getvariable('trend_growth')) - base.p, 0) * getvariable('unit_cost') / 1000 AS unplanned_activity
FROM plan_run base LEFT JOIN credible USING (submission_id) LEFT JOIN roi USING (submission_id);

CREATE OR REPLACE TEMP TABLE scenario_run AS          -- P4P released and at risk if delivery falls short
WITH scenario AS (
    SELECT unnest(getvariable('delivery_scenarios')) AS delivery, NULL AS label
    UNION ALL SELECT NULL, 'trend'
)
SELECT st.round, st.submission_id, st.plan_code,
       coalesce(label, printf('%d%% delivered', CAST(round(delivery * 100) AS INTEGER))) AS scenario,
       CASE WHEN label = 'trend' THEN -getvariable('trend_growth') * st.b ELSE delivery * st.r END AS achieved,
       st.p4p_value * CASE WHEN st.r > 0 THEN greatest(least(achieved / st.r, 1), 0) ELSE 0 END AS released,
       st.p4p_value - released AS at_risk,
       at_risk * coalesce(st.share_ccg, 50) / 100 AS borne_by_ccg,
       at_risk * coalesce(st.share_la, 50) / 100 AS borne_by_council,
       greatest(at_risk - coalesce(st.contingency, 0), 0) AS uncovered,
       CASE WHEN label = 'trend' THEN st.unplanned_activity ELSE 0 END AS unplanned_activity
FROM stress_run st CROSS JOIN scenario;

-- query: tables
CREATE TABLE IF NOT EXISTS stress_benefits AS SELECT * FROM benefit_run LIMIT 0;
ALTER TABLE stress_benefits ADD COLUMN IF NOT EXISTS backable_untracked DOUBLE;   -- stores made before the track record
ALTER TABLE stress_benefits ADD COLUMN IF NOT EXISTS credible_untracked DOUBLE;
CREATE TABLE IF NOT EXISTS stress_test AS SELECT * FROM stress_run LIMIT 0;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS track_weight DOUBLE;           -- stores made before the track record
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS track_source VARCHAR;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS track_skill DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS prior_round VARCHAR;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS prior_baseline DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS prior_planned DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS prior_actual DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS r_track DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS credible_untracked DOUBLE;
ALTER TABLE stress_test ADD COLUMN IF NOT EXISTS optimism_untracked DOUBLE;
CREATE TABLE IF NOT EXISTS stress_scenarios AS SELECT * FROM scenario_run LIMIT 0;
CREATE TABLE IF NOT EXISTS assurance (                -- the category each current plan is given, and why
    round VARCHAR NOT NULL,
    submission_id BIGINT NOT NULL,
    plan_code VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    reasons VARCHAR[] NOT NULL
);
ALTER TABLE assurance ADD COLUMN IF NOT EXISTS category_untracked VARCHAR;  -- the category without the track record

-- query: replace
DELETE FROM stress_benefits WHERE round = getvariable('round');
INSERT INTO stress_benefits BY NAME SELECT * FROM benefit_run;
DELETE FROM stress_test WHERE round = getvariable('round');
INSERT INTO stress_test BY NAME SELECT * FROM stress_run;
DELETE FROM stress_scenarios WHERE round = getvariable('round');
INSERT INTO stress_scenarios BY NAME SELECT * FROM scenario_run;
DELETE FROM assurance WHERE round = getvariable('round');
