-- National views, every one by round. History is kept: a resubmission for the same plan, round, return and
-- period becomes current and the older file stays in `submissions`. National figures use valid plans only
-- (current, no blocking findings), and every aggregate says how many HWB plans it covers (`hwbs`).

-- The current file is the one changed last; of files changed at the same moment, the one whose name sorts last
-- ("leeds v2" after "leeds v1"), then the larger content hash. It never depends on which file was checked or
-- stored first, so the same files always give the same current submission.
CREATE OR REPLACE VIEW current_returns AS            -- the current file of every plan, return and period
SELECT * EXCLUDE (newest) FROM (
    SELECT s.*, row_number() OVER (PARTITION BY round, return_kind, period, plan_code
                                   ORDER BY received_at DESC, file_name DESC, sha256 DESC) AS newest
    FROM submissions s
    WHERE plan_code IS NOT NULL
) WHERE newest = 1;

-- The file each plan and period is measured by, in monitoring and in the track record: the last one that passed
-- validation (ready), as NHS England's collections take the last file that passed; where none has yet, the
-- current one, unless unreadable. So a later file with blocking problems (a plan rewritten after the year, a
-- return typed wrongly) never replaces figures that passed.
CREATE OR REPLACE VIEW accepted_returns AS
SELECT * EXCLUDE (pick) FROM (
    SELECT s.*, row_number() OVER (PARTITION BY round, return_kind, period, plan_code
                                   ORDER BY status = 'ready' DESC, received_at DESC, file_name DESC, sha256 DESC) AS pick
    FROM submissions s
    WHERE plan_code IS NOT NULL AND status <> 'unreadable'
) WHERE pick = 1;

CREATE OR REPLACE VIEW current_submissions AS        -- the current plan of every HWB
SELECT * FROM current_returns WHERE return_kind = 'plan';

CREATE OR REPLACE VIEW round_files AS               -- what the round consists of now: current files, and files
SELECT * FROM current_returns                         -- that could not be tied to a plan (unreadable, unknown HWB,
UNION ALL BY NAME                                     -- another round's workbook)
SELECT * FROM submissions WHERE plan_code IS NULL;

CREATE OR REPLACE VIEW valid_submissions AS
SELECT * FROM current_submissions WHERE status = 'ready';

CREATE OR REPLACE VIEW submission_status AS          -- every plan in every round seen, including missing ones
SELECT r.round, p.plan_code, p.plan_name, p.region_name,
       coalesce(c.status, 'missing') AS status, c.file_name, c.received_at, c.blocking, c.advisory,
       (SELECT count(*) FROM submissions s WHERE s.round = r.round AND s.return_kind = 'plan'
        AND s.plan_code = p.plan_code) - (c.submission_id IS NOT NULL)::INT AS superseded
FROM (SELECT DISTINCT round FROM submissions WHERE return_kind = 'plan') r
JOIN plans p ON p.round = r.round
LEFT JOIN current_submissions c ON c.round = r.round AND c.plan_code = p.plan_code;

CREATE OR REPLACE VIEW pooled_by_hwb AS
SELECT v.round, p.plan_code, p.plan_name, p.region_name, p.minimum_pooled_000,
       sum(f.amount_this_year) AS pooled_000, sum(f.amount_this_year) - p.minimum_pooled_000 AS above_minimum_000
FROM valid_submissions v JOIN plans p USING (round, plan_code) JOIN funding f USING (submission_id)
GROUP BY v.round, p.plan_code, p.plan_name, p.region_name, p.minimum_pooled_000;

CREATE OR REPLACE VIEW pooled_by_region AS
SELECT round, region_name, count(*) AS hwbs, sum(minimum_pooled_000) AS minimum_pooled_000, sum(pooled_000) AS pooled_000
FROM pooled_by_hwb GROUP BY ALL ORDER BY region_name;

CREATE OR REPLACE VIEW funding_by_stream AS
SELECT v.round, f.stream, count(DISTINCT v.plan_code) AS hwbs, sum(f.amount_this_year) AS amount_000
FROM valid_submissions v JOIN funding f USING (submission_id) GROUP BY ALL ORDER BY amount_000 DESC;

CREATE OR REPLACE VIEW spend_by_scheme_type AS
SELECT v.round, s.scheme_type, count(DISTINCT v.plan_code) AS hwbs, count(*) AS schemes, sum(s.spend_this_year) AS spend_000
FROM valid_submissions v JOIN schemes s USING (submission_id) GROUP BY ALL ORDER BY spend_000 DESC;

CREATE OR REPLACE VIEW spend_by_commissioner AS
SELECT v.round, s.commissioner, count(DISTINCT v.plan_code) AS hwbs, sum(s.spend_this_year) AS spend_000
FROM valid_submissions v JOIN schemes s USING (submission_id) GROUP BY ALL ORDER BY spend_000 DESC;

CREATE OR REPLACE VIEW nel_totals AS                -- each plan's baseline and planned emergency admissions
SELECT submission_id, baseline_q1 + baseline_q2 + baseline_q3 + baseline_q4 AS baseline,
       plan_q1 + plan_q2 + plan_q3 + plan_q4 AS planned
FROM nel_plan;

CREATE OR REPLACE VIEW nel_by_hwb AS
SELECT v.round, v.plan_code, p.plan_name, p.region_name, q.baseline, q.planned,
       q.baseline - q.planned AS reduction,
       100 * (q.baseline - q.planned) / nullif(q.baseline, 0) AS reduction_pct,
       n.nel_unit_cost AS unit_cost,
       greatest(least((q.baseline - q.planned) * n.nel_unit_cost / 1000, fs.ringfenced_oohs), 0) AS p4p_000
FROM valid_submissions v JOIN plans p USING (round, plan_code) JOIN nel_totals q USING (submission_id)
JOIN nel_plan n USING (submission_id) JOIN funding_summary fs USING (submission_id);

CREATE OR REPLACE VIEW nel_distribution AS            -- how ambitious plans are, against the 3.5% expectation
SELECT round, CASE WHEN reduction_pct < 0 THEN 'a rise'
                   WHEN reduction_pct < 2 THEN 'under 2%'
                   WHEN reduction_pct < 3.5 THEN '2% to 3.5%'
                   WHEN reduction_pct < 5 THEN '3.5% to 5%'
                   ELSE '5% or more' END AS planned_cut,
       count(*) AS hwbs, sum(reduction) AS admissions_avoided
FROM nel_by_hwb GROUP BY ALL ORDER BY min(reduction_pct);

CREATE OR REPLACE VIEW p4p_total AS
SELECT round, count(*) AS hwbs, sum(baseline) AS baseline, sum(reduction) AS planned_reduction,
       100 * sum(reduction) / nullif(sum(baseline), 0) AS reduction_pct, sum(p4p_000) AS p4p_000
FROM nel_by_hwb GROUP BY round;

CREATE OR REPLACE VIEW savings_by_benefit_type AS
SELECT v.round, b.benefit_type, count(DISTINCT v.plan_code) AS hwbs, sum(b.planned_saving) AS claimed_000
FROM valid_submissions v JOIN benefits b USING (submission_id) GROUP BY ALL ORDER BY claimed_000 DESC;

CREATE OR REPLACE VIEW savings_by_accrues_to AS
SELECT v.round, b.accrues_to, count(DISTINCT v.plan_code) AS hwbs, sum(b.planned_saving) AS claimed_000
FROM valid_submissions v JOIN benefits b USING (submission_id) GROUP BY ALL ORDER BY claimed_000 DESC;

CREATE OR REPLACE VIEW risk_by_boundary AS
SELECT v.round, r.boundary, count(DISTINCT v.plan_code) AS hwbs, count(*) AS risks, sum(r.exposure) AS exposure_000,
       count(*) FILTER (WHERE r.likelihood * r.impact >= 12) AS high_risks
FROM valid_submissions v JOIN risks r USING (submission_id) GROUP BY ALL ORDER BY exposure_000 DESC;

CREATE OR REPLACE VIEW risk_by_falls_on AS
SELECT v.round, r.falls_on, count(DISTINCT v.plan_code) AS hwbs, count(*) AS risks, sum(r.exposure) AS exposure_000
FROM valid_submissions v JOIN risks r USING (submission_id) GROUP BY ALL ORDER BY exposure_000 DESC;

CREATE OR REPLACE VIEW conditions_not_met AS
SELECT v.round, v.plan_code, p.plan_name, c.condition, c.meets, c.explanation, c.date_expected
FROM valid_submissions v JOIN plans p USING (round, plan_code) JOIN conditions c USING (submission_id)
WHERE c.meets <> 'Yes' ORDER BY p.plan_name, c."row";

CREATE OR REPLACE VIEW findings_by_rule AS
SELECT r.round, r.return_kind, f.rule_id, f.family, f.severity, any_value(f.message) AS example, count(*) AS findings,
       count(DISTINCT r.submission_id) AS files
FROM round_files r JOIN findings f USING (submission_id) GROUP BY ALL ORDER BY findings DESC, rule_id;

CREATE OR REPLACE VIEW findings_by_family AS
SELECT r.round, r.return_kind, f.family, count(*) FILTER (WHERE f.severity = 'blocking') AS blocking,
       count(*) FILTER (WHERE f.severity = 'advisory') AS advisory, count(DISTINCT r.submission_id) AS files
FROM round_files r JOIN findings f USING (submission_id) GROUP BY r.round, r.return_kind, f.family
ORDER BY array_position(['gate', 'structure', 'cell', 'arithmetic', 'policy', 'consistency'], any_value(f.family));

-- Plan against actual: each plan's current quarterly returns beside the plan's own quarters.
CREATE OR REPLACE VIEW plan_quarters AS               -- each accepted plan's quarters: the one unpivot of them
SELECT c.round, c.plan_code, c.submission_id, pr.quarter_no, pr.period,
       [n.baseline_q1, n.baseline_q2, n.baseline_q3, n.baseline_q4][pr.quarter_no] AS baseline,
       [n.plan_q1, n.plan_q2, n.plan_q3, n.plan_q4][pr.quarter_no] AS planned
FROM accepted_returns c JOIN nel_plan n USING (submission_id)
JOIN periods pr ON pr.round = c.round AND pr.return_kind = 'quarterly'
WHERE c.return_kind = 'plan';

-- The accepted quarterly return of every plan and quarter. Actual admissions the check took for a typing slip
-- (BCF-CONS-009: several times or a fraction of the plan) are left out, as not reported, rather than summed.
CREATE OR REPLACE VIEW quarters_reported AS
SELECT c.round, c.plan_code, c.period, pr.quarter_no, c.submission_id, c.status, c.blocking,
       a.planned_admissions AS planned_reported,
       CASE WHEN NOT EXISTS (SELECT 1 FROM findings x WHERE x.submission_id = c.submission_id
                             AND x.rule_id = 'BCF-CONS-009') THEN a.actual_admissions END AS actual_admissions,
       p.p4p_planned, p.p4p_released,
       f.income_planned, f.income_actual, f.spend_planned, f.spend_actual, n.narrative
FROM accepted_returns c
JOIN periods pr ON pr.round = c.round AND pr.return_kind = c.return_kind AND pr.period = c.period
LEFT JOIN q_admissions a USING (submission_id) LEFT JOIN q_p4p p USING (submission_id)
LEFT JOIN q_finance f USING (submission_id) LEFT JOIN q_narrative n USING (submission_id)
WHERE c.return_kind = 'quarterly';

CREATE OR REPLACE VIEW plan_vs_actual AS              -- per plan and quarter: baseline, plan, actual, and the plan's cover
SELECT q.round, q.plan_code, pl.plan_name, pl.region_name, q.quarter_no, q.period, pq.baseline, pq.planned,
       q.actual_admissions AS actual, q.actual_admissions - pq.planned AS variance, q.planned_reported,
       q.p4p_planned, q.p4p_released, q.narrative, q.blocking AS quarter_blocking,
       nt.baseline AS baseline_year, nt.planned AS planned_year, n.nel_unit_cost,
       fs.ringfenced_oohs, g.share_ccg, g.share_la, g.contingency
FROM quarters_reported q
JOIN accepted_returns c ON c.round = q.round AND c.plan_code = q.plan_code AND c.return_kind = 'plan'
JOIN plans pl ON pl.round = q.round AND pl.plan_code = q.plan_code
JOIN plan_quarters pq ON pq.submission_id = c.submission_id AND pq.quarter_no = q.quarter_no
JOIN nel_plan n ON n.submission_id = c.submission_id
JOIN nel_totals nt ON nt.submission_id = c.submission_id
LEFT JOIN funding_summary fs ON fs.submission_id = c.submission_id
LEFT JOIN governance g ON g.submission_id = c.submission_id;

CREATE OR REPLACE VIEW national_by_quarter AS          -- the nation's planned and actual emergency admissions by quarter
SELECT round, quarter_no, any_value(period) AS period, count(*) AS hwbs, sum(baseline) AS baseline,
       sum(planned) AS planned, sum(actual) AS actual, sum(variance) AS variance,
       sum(p4p_planned) AS p4p_planned, sum(p4p_released) AS p4p_released
FROM plan_vs_actual GROUP BY round, quarter_no ORDER BY round, quarter_no;

CREATE OR REPLACE VIEW region_by_quarter AS
SELECT round, region_name, quarter_no, count(*) AS hwbs, sum(planned) AS planned, sum(actual) AS actual,
       sum(variance) AS variance
FROM plan_vs_actual GROUP BY ALL ORDER BY round, region_name, quarter_no;

-- Explanations and decisions: the latest decision on each explained finding, and whether it still holds.
CREATE OR REPLACE VIEW latest_decisions AS
SELECT * EXCLUDE (newest) FROM (
    SELECT d.*, row_number() OVER (PARTITION BY round, plan_code, rule_id, location
                                   ORDER BY decided_at DESC, decision_id DESC) AS newest
    FROM decisions d
) WHERE newest = 1;

CREATE OR REPLACE VIEW explained_findings AS          -- every explained finding of a current plan, and its state
SELECT c.round, c.plan_code, f.submission_id, f.rule_id, f.severity, f.sheet, f.cell,
       coalesce(f.location, f.sheet || '!' || f.cell) AS location, f.message, f.explanation,
       d.decision, d.reason AS decision_reason, d.decided_by, d.decided_at, d.decision_id,
       CASE WHEN d.decision IS NULL THEN 'awaiting a decision'
            WHEN d.fingerprint <> f.fingerprint THEN 'reopened'
            ELSE d.decision END AS state
FROM current_submissions c JOIN findings f USING (submission_id)
LEFT JOIN latest_decisions d ON d.round = c.round AND d.plan_code = c.plan_code AND d.rule_id = f.rule_id
     AND d.location = coalesce(f.location, f.sheet || '!' || f.cell)
WHERE f.explanation IS NOT NULL;

-- Track record: plans scored as forecasts. A plan is scored for a round when every quarter of the round's
-- quarterly return holds its actual admissions; its quarters then sit here beside the plan's own figures.
CREATE OR REPLACE VIEW scored_quarters AS
WITH quarters AS (SELECT round, count(*) AS n FROM periods WHERE return_kind = 'quarterly' GROUP BY round),
complete AS (
    SELECT v.round, v.plan_code FROM plan_vs_actual v JOIN quarters q USING (round)
    WHERE v.actual IS NOT NULL GROUP BY v.round, v.plan_code, q.n HAVING count(DISTINCT v.quarter_no) = q.n
)
SELECT v.round, v.plan_code, v.plan_name, v.region_name, v.quarter_no, v.period, v.baseline, v.planned, v.actual,
       v.baseline_year, v.planned_year
FROM plan_vs_actual v JOIN complete USING (round, plan_code) WHERE v.actual IS NOT NULL;
