-- Explanations and decisions of one round ($round), for one plan when $plan_code is given.

-- query: awaiting
SELECT round, plan_code, rule_id, location, explanation, state FROM explained_findings
WHERE round = $round AND ($plan_code IS NULL OR plan_code = $plan_code) ORDER BY plan_code, rule_id;

-- query: log
SELECT decision_id, round, decided_at AS "when", decided_by AS who, plan_code, rule_id, location, decision, reason
FROM decisions WHERE round = $round AND ($plan_code IS NULL OR plan_code = $plan_code) ORDER BY decision_id;
