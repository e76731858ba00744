-- Assurance: what the stress test and the categories read and report, for one round ($round) or some
-- submissions ($ids). stress.sql computes; these ask.

-- query: stress_rows
SELECT * FROM stress_test WHERE round = $round;

-- query: stress_rows_of
SELECT s.*, c.template_version FROM stress_test s JOIN submissions c USING (submission_id)
WHERE submission_id IN (SELECT unnest($ids::BIGINT[]));

-- query: findings_of
-- each plan's findings, an advisory one marked when the assurers accepted the area's explanation of it
SELECT f.submission_id, f.rule_id, f.severity, f.sheet, f.cell, f.message, f.fix,
       coalesce(e.state = 'accepted', false) AS accepted
FROM findings f LEFT JOIN explained_findings e
  ON e.submission_id = f.submission_id AND e.rule_id = f.rule_id
 AND e.location = coalesce(f.location, f.sheet || '!' || f.cell)
WHERE f.submission_id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY f.submission_id, f.severity, f.sheet, f.cell;

-- query: stressed_ids
SELECT submission_id FROM stress_test WHERE round = $round ORDER BY submission_id;

-- query: benefits_of
SELECT * FROM stress_benefits WHERE submission_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY submission_id, row;

-- query: all_findings_of
SELECT * FROM findings WHERE submission_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY rowid;

-- query: totals
-- the round's claimed and backed savings: the one place these national figures are summed
SELECT count(*) AS plans, coalesce(sum(claimed), 0) AS claimed, coalesce(sum(credible), 0) AS credible,
       sum(s_nel) AS s_nel, sum(repriced_nel) AS repriced, sum(a) AS admissions_claimed,
       sum(b) AS baseline, sum(p) AS planned, 100 * sum(r) / nullif(sum(b), 0) AS cut_pct,
       avg(r_pct) AS mean_cut_pct
FROM stress_test WHERE round = $round;

-- query: categories
SELECT category, count(*) AS plans FROM assurance WHERE round = $round GROUP BY 1;

-- query: categories_by_region
SELECT s.region_name, a.category, count(*) AS plans FROM assurance a JOIN stress_test s USING (submission_id)
WHERE a.round = $round GROUP BY ALL;

-- query: by_region
SELECT region_name, count(*) AS plans, sum(claimed) AS claimed, sum(credible) AS credible
FROM stress_test WHERE round = $round GROUP BY 1 ORDER BY 1;

-- query: plans
-- every assessed plan of the round with its category and figures, by name
SELECT a.plan_code, s.plan_name, s.region_name, a.category, a.reasons, c.blocking, c.advisory,
       s.claimed, s.credible, s.optimism, s.r_pct, a.submission_id
FROM assurance a JOIN stress_test s USING (submission_id) JOIN current_submissions c USING (submission_id)
WHERE a.round = $round AND ($plan_code IS NULL OR a.plan_code = $plan_code) ORDER BY s.plan_name;

-- query: most_optimistic
SELECT s.plan_name, s.region_name, s.claimed, s.credible, s.optimism, a.category
FROM stress_test s JOIN assurance a USING (submission_id)
WHERE s.round = $round AND s.claimed > 0
ORDER BY s.credible > 0, s.optimism DESC, s.claimed DESC LIMIT $top;

-- query: scenarios
SELECT scenario, sum(released) AS released, sum(at_risk) AS at_risk, sum(borne_by_ccg) AS ccg,
       sum(borne_by_council) AS council, sum(uncovered) AS uncovered, sum(unplanned_activity) AS unplanned
FROM stress_scenarios WHERE round = $round GROUP BY 1 ORDER BY scenario = 'trend', min(achieved) DESC;

-- query: scenarios_of
SELECT * FROM stress_scenarios WHERE submission_id IN (SELECT unnest($ids::BIGINT[]))
ORDER BY submission_id, scenario = 'trend', achieved DESC;

-- query: cuts
SELECT r_pct FROM stress_test WHERE round = $round;

-- query: letter_plans
SELECT c.*, p.plan_name, cv.hwb_name FROM current_submissions c JOIN plans p USING (round, plan_code)
LEFT JOIN cover cv USING (submission_id) WHERE submission_id IN (SELECT unnest($ids::BIGINT[]));

-- query: explained_of
SELECT submission_id, rule_id, explanation, state, decision_reason FROM explained_findings
WHERE submission_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY submission_id, rule_id;

-- query: commonest_rules
-- the commonest findings of one return's files in the round
SELECT rule_id, severity, findings, files, example FROM findings_by_rule
WHERE round = $round AND return_kind = $kind LIMIT $top;

-- query: outstanding
SELECT plan_name, region_name, status, blocking FROM submission_status
WHERE round = $round AND status IN ('missing', 'not ready') ORDER BY status, plan_name;
