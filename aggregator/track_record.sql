-- Plans scored as forecasts (reference section 10). A plan's four quarters of emergency admissions are a forecast;
-- once a complete year of quarterly returns is in (the `scored_quarters` view), each plan is scored against what
-- happened and against two naive baselines on the same quarters: the baseline year unchanged ("flat") and the
-- baseline year grown by the trend ($growth, "trend"). Error is the mean absolute error over the quarters; skill is
-- the plan's error over the baseline's, so above 1 the naive baseline did better. Regions and the nation are
-- scored on their summed quarters. Savings are avoided admissions (baseline minus plan, or minus actual) at the
-- round's unit cost ($unit_cost, £), in £000. Bias: 1 when admissions came in above plan (optimistic), -1 below.

-- query: rounds
SELECT DISTINCT round FROM scored_quarters ORDER BY round;

-- query: quarters
-- Every scored plan's quarters: plan, actual and both baselines, with the error and percentage error.
SELECT plan_code, plan_name, region_name, quarter_no, period, baseline, planned, actual,
       baseline * (1 + $growth) AS trend, actual - planned AS error,
       100 * (actual - planned) / nullif(planned, 0) AS pct_error
FROM scored_quarters WHERE round = $round ORDER BY plan_code, quarter_no;

-- query: plans
-- every scored plan of the round, or only $plan (when not null)
WITH q AS (SELECT *, baseline * (1 + $growth) AS trend FROM scored_quarters
           WHERE round = $round AND plan_code = coalesce($plan, plan_code)),
claims AS (          -- the plan's own claimed saving from fewer emergency admissions (Benefits sheet, £000)
    SELECT c.plan_code, sum(b.planned_saving) AS saving_claimed
    FROM accepted_returns c JOIN benefits b USING (submission_id)     -- the plan scored (views.sql)
    WHERE c.round = $round AND c.return_kind = 'plan' AND c.plan_code = coalesce($plan, c.plan_code)
      AND b.benefit_type = 'Fewer NEL admissions'
    GROUP BY c.plan_code
)
SELECT q.plan_code, any_value(q.plan_name) AS plan_name, any_value(q.region_name) AS region_name,
       count(*) AS quarters, sum(q.baseline) AS baseline, sum(q.planned) AS planned, sum(q.actual) AS actual,
       sum(q.actual) - sum(q.planned) AS error,
       100 * (sum(q.actual) - sum(q.planned)) / nullif(sum(q.planned), 0) AS pct_error,
       sign(sum(q.actual) - sum(q.planned)) AS bias,
       avg(abs(q.actual - q.planned)) AS mae_plan, avg(abs(q.actual - q.baseline)) AS mae_flat,
       avg(abs(q.actual - q.trend)) AS mae_trend,
       avg(abs(q.actual - q.planned)) / nullif(avg(abs(q.actual - q.baseline)), 0) AS skill_flat,
       avg(abs(q.actual - q.planned)) / nullif(avg(abs(q.actual - q.trend)), 0) AS skill_trend,
       (sum(q.baseline) - sum(q.planned)) * $unit_cost / 1000 AS saving_planned,
       (sum(q.baseline) - sum(q.actual)) * $unit_cost / 1000 AS saving_realised,
       any_value(cl.saving_claimed) AS saving_claimed
FROM q LEFT JOIN claims cl USING (plan_code)
GROUP BY q.plan_code ORDER BY q.plan_code;

-- query: regions_and_nation
-- each region's summed quarters scored, and the nation's (the row whose region_name is null)
WITH q AS (
    SELECT region_name, quarter_no, count(*) AS plans, sum(baseline) AS baseline, sum(planned) AS planned,
           sum(actual) AS actual, sum(baseline) * (1 + $growth) AS trend
    FROM scored_quarters WHERE round = $round GROUP BY GROUPING SETS ((region_name, quarter_no), (quarter_no))
)
SELECT region_name, max(plans) AS plans, sum(baseline) AS baseline, sum(planned) AS planned, sum(actual) AS actual,
       sum(actual) - sum(planned) AS error, 100 * (sum(actual) - sum(planned)) / nullif(sum(planned), 0) AS pct_error,
       sign(sum(actual) - sum(planned)) AS bias,
       avg(abs(actual - planned)) AS mae_plan, avg(abs(actual - baseline)) AS mae_flat, avg(abs(actual - trend)) AS mae_trend,
       avg(abs(actual - planned)) / nullif(avg(abs(actual - baseline)), 0) AS skill_flat,
       avg(abs(actual - planned)) / nullif(avg(abs(actual - trend)), 0) AS skill_trend,
       (sum(baseline) - sum(planned)) * $unit_cost / 1000 AS saving_planned,
       (sum(baseline) - sum(actual)) * $unit_cost / 1000 AS saving_realised
FROM q GROUP BY region_name ORDER BY region_name NULLS LAST;

-- query: national_quarters
SELECT quarter_no, any_value(period) AS period, count(*) AS plans, sum(baseline) AS baseline,
       sum(planned) AS planned, sum(actual) AS actual, sum(baseline) * (1 + $growth) AS trend,
       sum(actual) - sum(planned) AS error, 100 * (sum(actual) - sum(planned)) / nullif(sum(planned), 0) AS pct_error
FROM scored_quarters WHERE round = $round GROUP BY quarter_no ORDER BY quarter_no;

-- query: no_weights
-- No plan of the round is weighted (no round before it, or the weighting is off): aggregator/stress.sql makes
-- the table again, empty.
DROP TABLE IF EXISTS track_weights;

-- query: feed_stress
-- The weight each current plan of round $round gives its claimed admissions saving, from its board's record in
-- round $prior. The stress test counts w x R + (1 - w) x (what the trend implies): see aggregator/stress.sql.
-- A board's own weight is the mix of its plan and the trend that would have hit its outturn for the year:
-- e_trend / (e_trend - e_plan), the errors being actual minus plan and actual minus the baseline grown by the trend.
-- When the outturn fell between the two forecasts this is 1 / (1 + skill), skill being the plan's error over the
-- trend's on the year; beyond the trend it is below 0, beyond the plan above 1. It is bounded to [$w_min, $w_max],
-- then counts for $credibility against the nation's weight (the same mix on the nation's summed year), since one
-- year is one draw; a board with no scored year takes the nation's weight. No rows when $prior has no complete year
-- of quarterly returns: then no plan is moved.
CREATE OR REPLACE TEMP TABLE track_weights AS
WITH scored AS (
    SELECT plan_code, sum(baseline) AS baseline, sum(planned) AS planned, sum(actual) AS actual,
           sum(actual) - sum(planned) AS e_plan, sum(actual) - sum(baseline) * (1 + $growth) AS e_trend
    FROM scored_quarters WHERE round = $prior GROUP BY plan_code
),
mixes AS (
    SELECT plan_code, baseline, planned, actual, abs(e_plan) / nullif(abs(e_trend), 0) AS skill,
           least(greatest(CASE WHEN e_trend = e_plan THEN 1 ELSE e_trend / (e_trend - e_plan) END, $w_min), $w_max) AS own
    FROM scored
),
nation AS (
    SELECT count(*) AS plans, abs(sum(e_plan)) / nullif(abs(sum(e_trend)), 0) AS skill,
           least(greatest(CASE WHEN sum(e_trend) = sum(e_plan) THEN 1
                               ELSE sum(e_trend) / (sum(e_trend) - sum(e_plan)) END, $w_min), $w_max) AS own
    FROM scored
)
SELECT c.plan_code, CAST($prior AS VARCHAR) AS prior_round, m.skill, n.skill AS national_skill,
       CASE WHEN m.own IS NULL THEN 'national' ELSE 'board' END AS source, m.own AS own_weight, n.own AS national_weight,
       CASE WHEN m.own IS NULL THEN n.own ELSE $credibility * m.own + (1 - $credibility) * n.own END AS weight,
       m.baseline AS prior_baseline, m.planned AS prior_planned, m.actual AS prior_actual
FROM current_submissions c CROSS JOIN nation n LEFT JOIN mixes m USING (plan_code)
WHERE c.round = $round AND n.plans > 0;

-- query: weights
SELECT * FROM track_weights ORDER BY plan_code;

-- query: discount
-- How much of round $round's claims the track record discounts: admissions and credible savings (£000), before
-- and after the weighting, over the plans it moved; read from the stress test's rows.
SELECT count(*) FILTER (WHERE track_weight IS NOT NULL) AS weighted,
       count(*) FILTER (WHERE credible_untracked - credible > 0.05) AS moved,
       count(*) FILTER (WHERE track_source = 'national') AS national_weight,
       sum(r) AS planned_reduction, sum(r_track) AS expected_reduction,
       sum(credible_untracked) AS credible_untracked, sum(credible) AS credible,
       sum(credible_untracked) - sum(credible) AS discounted, avg(track_weight) AS mean_weight,
       any_value(prior_round) AS prior_round
FROM stress_test WHERE round = $round;

-- query: moved
-- The plans whose credible saving the track record reduced, most first.
SELECT plan_code, plan_name, region_name, track_weight, track_source, track_skill, prior_planned, prior_actual,
       prior_baseline, r, r_track, credible_untracked, credible, credible_untracked - credible AS discounted
FROM stress_test WHERE round = $round AND credible_untracked - credible > 0.05
ORDER BY discounted DESC, plan_code;

-- query: categories_moved
-- The plans whose category the track record changed (decided again on the figures without it).
SELECT a.plan_code, s.plan_name, s.region_name, a.category_untracked, a.category
FROM assurance a JOIN stress_test s USING (submission_id)
WHERE a.round = $round AND a.category_untracked IS NOT NULL AND a.category_untracked <> a.category
ORDER BY a.plan_code;

-- query: plan_weight
SELECT track_weight, track_source, prior_round, prior_baseline, prior_planned, prior_actual
FROM stress_test WHERE round = $round AND plan_code = $plan_code;
