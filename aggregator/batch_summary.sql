-- The end-of-batch summary of one round and return ($kind): coverage, status, findings by family and severity,
-- the ten commonest rules, the plans not ready with their first blocking finding, and every file of the round
-- that is unreadable or tied to no plan, by name.

-- table: files
-- files: every file the round consists of now; current: those that are a plan's current file (for each period);
-- hwbs: the plans they cover; not_tied: files tied to no plan (unreadable, an unknown board, another round's)
SELECT count(*) AS files, count(DISTINCT plan_code) AS hwbs, count(plan_code) AS current,
       count(*) - count(plan_code) AS not_tied
FROM round_files WHERE round = $round AND return_kind = $kind;

-- table: status
SELECT status, count(*) AS files FROM (
    SELECT status FROM submission_status WHERE round = $round AND $kind = 'plan'
    UNION ALL
    SELECT status FROM current_returns WHERE round = $round AND return_kind = $kind AND $kind <> 'plan'
) GROUP BY 1 ORDER BY array_position(['ready', 'not ready', 'unreadable', 'missing'], status);

-- table: missing
SELECT plan_name FROM submission_status WHERE round = $round AND status = 'missing' AND $kind = 'plan' ORDER BY 1;

-- table: not_ready
SELECT p.plan_name, c.period, c.blocking, arg_min(f.message, f.rowid) AS first_problem
FROM current_returns c JOIN plans p USING (round, plan_code)
LEFT JOIN findings f ON f.submission_id = c.submission_id AND f.severity = 'blocking'
WHERE c.round = $round AND c.return_kind = $kind AND c.status = 'not ready'
GROUP BY ALL ORDER BY p.plan_name, c.period;

-- table: families
SELECT family, blocking, advisory, files FROM findings_by_family WHERE round = $round AND return_kind = $kind;

-- table: rules
SELECT rule_id, severity, findings, files, example FROM findings_by_rule
WHERE round = $round AND return_kind = $kind LIMIT 10;

-- table: unreadable
SELECT r.file_name, p.plan_name, r.period, r.status, arg_min(f.message, f.rowid) AS first_problem
FROM round_files r LEFT JOIN plans p USING (round, plan_code)
LEFT JOIN findings f ON f.submission_id = r.submission_id AND f.severity = 'blocking'
WHERE r.round = $round AND r.return_kind = $kind AND (r.status = 'unreadable' OR r.plan_code IS NULL)
GROUP BY r.submission_id, r.file_name, p.plan_name, r.period, r.status
ORDER BY p.plan_name NULLS LAST, r.file_name, r.period;
