-- Each plan's key ratios, to set it among its peers and among every plan (bcf.national.peers). Every current plan
-- gives its own figures as submitted; only valid plans (no blocking findings: `valid`) make the groups it is
-- compared with, as every national figure. Ratios are the plan's own figures:
--   savings_share_pct       claimed savings (every benefit) as a % of the pooled budget
--   planned_cut_pct         planned reduction in emergency admissions, % of the baseline year
--   unit_cost               the unit cost (£) used for avoided emergency admissions, weighted by the admissions
--   nel_per_1000            baseline emergency admissions per 1,000 people (the plan's real population)
--   care_home_per_100k_65   permanent admissions 65+ to care homes per 100,000 people aged 65+, as the plan states it

-- query: ratios
WITH pooled AS (
    SELECT submission_id, sum(amount_this_year) AS pooled_000 FROM funding GROUP BY submission_id
), claimed AS (
    SELECT submission_id, sum(planned_saving) AS claimed_000,
           sum(unit_cost * abs(planned_change)) FILTER (WHERE benefit_type = 'Fewer NEL admissions')
             / nullif(sum(abs(planned_change)) FILTER (WHERE benefit_type = 'Fewer NEL admissions'), 0) AS unit_cost
    FROM benefits GROUP BY submission_id
), care AS (
    SELECT submission_id, 100000 * num_baseline / nullif(den_baseline, 0) AS rate
    FROM metrics WHERE metric = $care_home_metric
)
SELECT v.plan_code, p.plan_name, v.status = 'ready' AS valid,
       100 * c.claimed_000 / nullif(pl.pooled_000, 0) AS savings_share_pct,
       100 * (n.baseline - n.planned) / nullif(n.baseline, 0) AS planned_cut_pct,
       c.unit_cost,
       1000 * n.baseline / nullif(p.population, 0) AS nel_per_1000,
       care.rate AS care_home_per_100k_65
FROM current_submissions v
JOIN plans p USING (round, plan_code)
LEFT JOIN pooled pl USING (submission_id)
LEFT JOIN claimed c USING (submission_id)
LEFT JOIN nel_totals n USING (submission_id)
LEFT JOIN care USING (submission_id)
WHERE v.round = $round
ORDER BY v.plan_code;

-- query: plans
SELECT plan_code, plan_name FROM plans WHERE round = $round ORDER BY plan_code;
