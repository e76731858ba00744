-- Headline tables printed by `bcf national`. Each query is named by the
-- comment line above it; $round is the planning round. All read the views in views.sql.

-- table: Submission status
SELECT status, count(*) AS hwbs FROM submission_status WHERE round = $round GROUP BY 1
ORDER BY array_position(['ready', 'not ready', 'unreadable', 'missing'], status);

-- table: Pooled budget by region (£000)
SELECT region_name, hwbs, minimum_pooled_000, pooled_000 FROM pooled_by_region WHERE round = $round;

-- table: Funding by stream (£000)
SELECT stream, hwbs, amount_000 FROM funding_by_stream WHERE round = $round;

-- table: Spend by scheme type (£000)
SELECT scheme_type, hwbs, schemes, spend_000 FROM spend_by_scheme_type WHERE round = $round;

-- table: Spend by commissioner (£000)
SELECT commissioner, hwbs, spend_000 FROM spend_by_commissioner WHERE round = $round;

-- table: Emergency admissions and pay for performance (the valid plans together; a cut is % of their baseline)
SELECT hwbs, baseline, planned_reduction, reduction_pct AS cut_of_baseline_pct, p4p_000 FROM p4p_total WHERE round = $round;

-- table: Planned cut in emergency admissions
SELECT planned_cut, hwbs, admissions_avoided FROM nel_distribution WHERE round = $round;

-- table: Claimed savings by benefit type (£000)
SELECT benefit_type, hwbs, claimed_000 FROM savings_by_benefit_type WHERE round = $round;

-- table: Claimed savings by who they accrue to (£000)
SELECT accrues_to, hwbs, claimed_000 FROM savings_by_accrues_to WHERE round = $round;

-- table: Risk exposure by boundary (£000)
SELECT boundary, hwbs, risks, high_risks, exposure_000 FROM risk_by_boundary WHERE round = $round;

-- table: Risk exposure by who bears it (£000)
SELECT falls_on, hwbs, risks, exposure_000 FROM risk_by_falls_on WHERE round = $round;

-- table: National conditions not met
SELECT condition, meets, count(*) AS hwbs FROM conditions_not_met WHERE round = $round GROUP BY ALL ORDER BY hwbs DESC;
