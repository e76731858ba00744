-- Plan against actual for one round ($round) up to a quarter ($upto). A plan counts once it has reported every
-- quarter up to $upto, so the headline, the tables and the notes are about the same plans.

-- query: quarters_held
SELECT DISTINCT pr.quarter_no, pr.period FROM quarters_reported q JOIN periods pr USING (round, period)
WHERE q.round = $round ORDER BY 1;

-- query: period
SELECT period FROM periods WHERE round = $round AND return_kind = 'quarterly' AND quarter_no = $upto;

-- query: complete_plans
-- per plan that reported every quarter to $upto: admissions planned, actual and at baseline so far, and its cover
SELECT plan_code, any_value(plan_name) AS plan_name, any_value(region_name) AS region_name, count(*) AS quarters,
       sum(actual) AS actual_to_date, sum(planned) AS planned_to_date, sum(baseline) AS baseline_to_date,
       sum(p4p_released) AS p4p_released, sum(p4p_planned) AS p4p_planned,
       any_value(baseline_year) AS baseline_year, any_value(planned_year) AS planned_year,
       any_value(ringfenced_oohs) AS ringfenced, any_value(share_ccg) AS share_ccg,
       any_value(contingency) AS contingency, arg_max(narrative, quarter_no) AS narrative,
       arg_max(variance, quarter_no) AS last_variance, arg_max(planned, quarter_no) AS last_planned
FROM plan_vs_actual WHERE round = $round AND quarter_no <= $upto AND actual IS NOT NULL
GROUP BY plan_code HAVING count(*) = $upto ORDER BY plan_code;

-- query: reporting
-- how many plans sent any quarterly return to $upto, and how many plans the round has
SELECT (SELECT count(DISTINCT plan_code) FROM plan_vs_actual WHERE round = $round AND quarter_no <= $upto) AS reporting,
       (SELECT count(*) FROM plans WHERE round = $round) AS plans;

-- query: by_quarter
-- the nation's planned and actual admissions by quarter, over the plans that reported every quarter to $upto
WITH complete AS (
    SELECT plan_code FROM plan_vs_actual WHERE round = $round AND quarter_no <= $upto AND actual IS NOT NULL
    GROUP BY plan_code HAVING count(*) = $upto
)
SELECT quarter_no, any_value(period) AS period, count(*) AS hwbs, sum(baseline) AS baseline,
       sum(planned) AS planned, sum(actual) AS actual, sum(variance) AS variance,
       sum(p4p_planned) AS p4p_planned, sum(p4p_released) AS p4p_released
FROM plan_vs_actual WHERE round = $round AND quarter_no <= $upto AND plan_code IN (SELECT plan_code FROM complete)
GROUP BY quarter_no ORDER BY quarter_no;

-- query: by_region
WITH complete AS (
    SELECT plan_code FROM plan_vs_actual WHERE round = $round AND quarter_no <= $upto AND actual IS NOT NULL
    GROUP BY plan_code HAVING count(*) = $upto
)
SELECT region_name, sum(planned) AS planned, sum(actual) AS actual FROM plan_vs_actual
WHERE round = $round AND quarter_no <= $upto AND plan_code IN (SELECT plan_code FROM complete) GROUP BY 1 ORDER BY 1;

-- query: planned_by_quarter
-- (plan code, period) -> the plan's planned admissions for that quarter, for every current plan of the round
SELECT plan_code, period, planned FROM plan_quarters WHERE round = $round;
