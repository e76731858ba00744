-- The resubmission cycle: each plan's last two submissions, and what the store holds on them to compare.

-- query: last_two
-- each plan's current and previous readable plan submission in a round (n = 1 the current)
SELECT s.plan_code, p.plan_name, s.submission_id, s.file_name, s.template_id, s.template_version,
       row_number() OVER (PARTITION BY s.plan_code ORDER BY s.received_at DESC, s.submission_id DESC) AS n
FROM submissions s JOIN plans p USING (round, plan_code)
WHERE s.round = $round AND s.return_kind = 'plan' AND s.status <> 'unreadable'
  AND ($plan_code IS NULL OR s.plan_code = $plan_code)
QUALIFY n <= 2 ORDER BY p.plan_name, n;

-- query: table_rows
-- one store table's rows for some submissions, in the order stored
SELECT * FROM query_table($table) WHERE submission_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY submission_id;

-- query: findings
SELECT submission_id, rule_id, severity, family, sheet, cell, found, expected, message, fix
FROM findings WHERE submission_id IN (SELECT unnest($ids::BIGINT[])) ORDER BY rowid;
