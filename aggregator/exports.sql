-- The export of one round: its national views and the team's own products, as sheets or files.

-- query: view
SELECT * EXCLUDE (round) FROM query_table($view) WHERE round = $round;

-- query: has_stress
SELECT count(*) > 0 FROM information_schema.tables WHERE table_name = 'assurance';

-- query: categories
-- each current plan's assurance category and the reasons that decided it
SELECT s.plan_code, s.plan_name, s.region_name, a.category, array_to_string(a.reasons, '; ') AS reasons,
       s.claimed AS claimed_000, s.credible AS credible_000, s.optimism
FROM assurance a JOIN stress_test s USING (submission_id) WHERE a.round = $round ORDER BY s.plan_name;

-- query: stress_test
SELECT plan_code, plan_name, region_name, b AS baseline_admissions, p AS planned_admissions,
       r AS planned_reduction, r_pct AS reduction_pct, a AS avoided_claimed, claimed AS claimed_000,
       s_nel AS nel_claimed_000, repriced_nel AS nel_repriced_000, credible AS credible_000, optimism,
       p4p_value AS p4p_value_000, unplanned_activity AS unplanned_activity_000
FROM stress_test WHERE round = $round ORDER BY plan_name;

-- query: findings
-- every finding of every current file of the round, plans and quarterly returns, each row naming its return
SELECT r.return_kind, r.period, r.plan_code, r.file_name, f.severity, f.rule_id, f.sheet, f.cell, f.message, f.fix
FROM round_files r JOIN findings f USING (submission_id) WHERE r.round = $round
ORDER BY r.return_kind, r.plan_code, r.period, f.sheet, f.cell, f.rule_id;
