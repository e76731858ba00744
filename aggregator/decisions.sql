-- Decisions on explanations, as the national store sees them. The decisions themselves live in the state store
-- (bcf.national.decisions); each connection to the national store sees them as the relation `decisions`.

-- query: legacy_table
SELECT count(*) FROM information_schema.tables
WHERE table_schema = 'main' AND table_name = 'decisions' AND table_type = 'BASE TABLE';

-- query: legacy
SELECT round, plan_code, submission_id, rule_id, location, fingerprint, decision, reason, decided_by, decided_at
FROM main.decisions ORDER BY decision_id;

-- query: drop_legacy
DROP TABLE IF EXISTS main.decisions;

-- query: drop_legacy_ids
DROP SEQUENCE IF EXISTS decision_ids;

-- query: explained
SELECT e.round, e.plan_code, e.submission_id, e.rule_id, e.location, e.sheet, e.cell, e.severity, e.message,
       e.explanation, e.state, e.decision, e.decision_reason, e.decided_by, e.decided_at
FROM explained_findings e
WHERE ($round IS NULL OR e.round = $round) AND ($plan IS NULL OR e.plan_code = $plan)
ORDER BY e.round, e.plan_code, e.rule_id, e.location;

-- query: decidable
SELECT c.round, c.plan_code, f.submission_id, f.rule_id, coalesce(f.location, f.sheet || '!' || f.cell) AS location,
       f.sheet, f.cell, f.found, f.expected, f.fingerprint
FROM current_submissions c JOIN findings f USING (submission_id)
WHERE f.explanation IS NOT NULL AND c.round = $round AND f.rule_id = $rule AND ($plan IS NULL OR c.plan_code = $plan)
ORDER BY c.plan_code, location;

-- query: has_current
SELECT count(*) FROM information_schema.tables WHERE table_name = 'current_submissions';

-- query: current
-- every plan's current submission, for the state store (decisions.publish)
SELECT round, plan_code, submission_id FROM current_submissions ORDER BY round, plan_code;
