-- The assurers' console: what its pages ask of the national store (bcf.national.console). Parameters are $named.

-- query: rounds_awaiting
SELECT DISTINCT round FROM explained_findings WHERE state IN ('awaiting a decision', 'reopened');

-- query: plans
SELECT p.round, p.plan_code, p.plan_name, p.region_name, c.submission_id, c.status, c.blocking, c.advisory,
       c.file_name, c.received_at,
       (SELECT count(*) FROM submissions s WHERE s.round = p.round AND s.plan_code = p.plan_code
        AND s.return_kind = 'plan') - 1 AS resubmissions,
       (SELECT count(*) FROM explained_findings e WHERE e.submission_id = c.submission_id
        AND e.state IN ('awaiting a decision', 'reopened')) AS awaiting
FROM plans p JOIN current_submissions c USING (round, plan_code)
WHERE p.round = $round AND ($plan IS NULL OR p.plan_code = $plan)
ORDER BY p.plan_name;

-- query: findings
SELECT f.*, coalesce(f.location, f.sheet || '!' || f.cell) AS place, e.state, e.decision_reason, e.decided_by, e.decision_id
FROM findings f
LEFT JOIN explained_findings e ON e.submission_id = f.submission_id AND e.rule_id = f.rule_id
     AND e.location = coalesce(f.location, f.sheet || '!' || f.cell)
WHERE f.submission_id = $submission_id
ORDER BY f.sheet, f.cell;

-- query: has_table
SELECT count(*) FROM information_schema.tables WHERE table_name = $name;

-- query: stress
SELECT * FROM stress_test WHERE submission_id = $submission_id;

-- query: quarters
SELECT * FROM plan_vs_actual WHERE round = $round AND plan_code = $plan ORDER BY quarter_no;

-- query: log
SELECT d.decision_id, d.round, d.plan_code, d.rule_id, d.location, d.decision, d.reason, d.decided_by, d.decided_at,
       p.region_name, p.plan_name
FROM decisions d JOIN plans p USING (round, plan_code)
WHERE $round IS NULL OR d.round = $round
ORDER BY d.decision_id DESC;
