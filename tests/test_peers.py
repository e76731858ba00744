"""Peer groups and a plan's standing among its peers: worked by hand on small cases, then on the sample round's
store (the percentile against a group recomputed from the raw tables), the official file dropped in, the
command, the letter's block and the national report's section."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from bcf import content, peer_groups, reference
from bcf.cli import main
from bcf.national.door import open_store
from bcf.national.peers import outliers, percentile, plan_peers, standing
from bcf.render import environment
from tests.support import AREAS, ROUND

FIVE = {"E06000017": "Rutland", "E06000001": "Hartlepool", "E06000005": "Darlington", "E10000016": "Kent",
        "E09000022": "Lambeth"}


def _two_indicators(k: int) -> peer_groups.Method:
    src = reference.POPULATION
    return peer_groups.Method("test", k, {}, (
        peer_groups.Indicator("size", "size", src, ("all_ages",), None, True, 1.0),
        peer_groups.Indicator("old", "old", src, ("age_65_plus",), "all_ages", False, 2.0)))


def test_a_peer_set_computed_by_hand() -> None:
    """Five councils, log population (weight 1) and share aged 65+ (weight 2), the 2 nearest: worked here
    from the raw file, independently of the module."""
    rows = reference.table()
    raw = {c: (math.log(int(rows[c]["all_ages"])), int(rows[c]["age_65_plus"]) / int(rows[c]["all_ages"])) for c in FIVE}
    z: dict[str, list[float]] = {c: [] for c in FIVE}
    for j in range(2):
        xs = [raw[c][j] for c in FIVE]
        mean = sum(xs) / 5
        sd = (sum((x - mean) ** 2 for x in xs) / 5) ** 0.5
        for c in FIVE:
            z[c].append((raw[c][j] - mean) / sd)

    def dist(a: str, b: str) -> float:
        return (1 * (z[a][0] - z[b][0]) ** 2 + 2 * (z[a][1] - z[b][1]) ** 2) ** 0.5

    by_hand = {c: tuple(sorted((o for o in FIVE if o != c), key=lambda o: (dist(c, o), o))[:2]) for c in FIVE}
    assert peer_groups.compute(list(FIVE), _two_indicators(2)).peers == by_hand
    named = {FIVE[c]: {FIVE[p] for p in ps} for c, ps in by_hand.items()}
    assert named["Hartlepool"] == {"Darlington", "Rutland"}  # the two other small unitaries


def test_the_default_groups_are_the_same_every_run_and_leave_out_the_smallest() -> None:
    codes = [a.ons_code for a in AREAS.all]
    first, again = peer_groups.compute(codes), peer_groups.compute(list(reversed(codes)))
    assert first.peers == again.peers and not first.official
    left_out = {"E06000053", "E09000001"}  # Isles of Scilly and City of London: too small to compare
    assert all(len(p) == 15 for c, p in first.peers.items() if c not in left_out)
    assert not left_out & {p for ps in first.peers.values() for p in ps}  # nobody's peer
    assert all(first.of(c) == () for c in left_out)  # and no group of their own
    london = {a.ons_code for a in AREAS.all if a.region_name == "London"}
    assert len(london & set(first.of("E09000022"))) >= 10  # Lambeth's peers are mostly London boroughs


def test_a_percentile_and_the_sentence_by_hand() -> None:
    assert percentile(3.0, [1.0, 2.0, 3.0, 4.0]) == 100 * (2 + 0.5) / 4  # two below, one tie counted half
    peers = [0.5, *([2.0] * 4), 2.5, 3.0, 3.1, 3.2, 3.5, 3.5, 4.0, 4.2, 5.0, 0.8]  # 15 peers, 13 above 0.8
    s = standing("planned_cut_pct", 0.8, peers, peers + [9.0])
    assert (s.peers_below, s.peers_above, s.peers_with_value) == (1, 13, 15)
    assert s.peer_percentile == pytest.approx(100 * 1.5 / 15)
    assert s.national_percentile == pytest.approx(100 * 1.5 / 16)
    assert s.sentence() == "Your planned cut in emergency admissions of 0.8% is lower than 13 of your 15 peers'."


def test_an_official_peer_file_is_used_as_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "content"
    for folder in content.FOLDERS:
        shutil.copytree(content.path(folder), root / folder, ignore=shutil.ignore_patterns("*.xlsx", "manifest.json"))
    (root / "reference" / "peers.csv").write_text(
        "ons_code,peer_ons_code,rank\nE08000024,E06000047,2\nE08000024,E08000037,1\n", encoding="utf-8")
    monkeypatch.setenv("BCF_CONTENT", str(root))
    groups = peer_groups.load({a.ons_code: a.hwb_name for a in AREAS.all})
    assert groups.official and groups.of("E08000024") == ("E08000037", "E06000047")  # Gateshead, then County Durham


def _cuts(db: Path) -> dict[str, float]:
    """Every valid plan's planned cut, straight from the raw tables."""
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute(
            "SELECT c.plan_code, 100 * (sum_b - sum_p) / sum_b FROM current_submissions c JOIN ("
            "SELECT submission_id, baseline_q1 + baseline_q2 + baseline_q3 + baseline_q4 AS sum_b, "
            "plan_q1 + plan_q2 + plan_q3 + plan_q4 AS sum_p FROM nel_plan) USING (submission_id) "
            "WHERE c.status = 'ready'").fetchall())


def test_a_plans_standing_on_the_store_matches_the_raw_tables(national: Path) -> None:
    cuts = _cuts(national)
    code = sorted(cuts)[0]
    with open_store(national) as store:
        pp = plan_peers(store, ROUND, code)
    s = pp.standing("planned_cut_pct")
    mine = cuts[code]
    group = [cuts[p.plan_code] for p in pp.peers if p.plan_code in cuts]
    others = [v for c, v in cuts.items() if c != code]
    assert s.value == pytest.approx(mine) and s.peers_with_value == len(group)
    assert s.peers_above == sum(v > mine for v in group) and s.peers_below == sum(v < mine for v in group)
    assert s.national_percentile == pytest.approx(100 * (sum(v < mine for v in others) + 0.5 * sum(
        v == mine for v in others)) / len(others))
    assert [p.valid for p in pp.peers] == [p.plan_code in cuts for p in pp.peers]


def test_bcf_peers_prints_the_group_and_ratios(national: Path) -> None:
    done = CliRunner().invoke(main, ["peers", "--db", str(national), "--hwb", "Sunderland", "--format", "json"])
    assert done.exit_code == 0, done.output
    out: dict[str, Any] = json.loads(done.output)
    assert out["hwb"] == "Sunderland" and len(out["peers"]) == 15 and not out["official"]
    assert [r["ratio"] for r in out["ratios"]] == ["savings_share_pct", "planned_cut_pct", "unit_cost", "nel_per_1000",
                                                   "care_home_per_100k_65"]
    text = CliRunner().invoke(main, ["peers", "--db", str(national), "--hwb", "Sunderland"])
    assert "Rotherham" in text.output and "of your" in text.output
    assert CliRunner().invoke(main, ["peers", "--db", str(national), "--hwb", "Borsetshire"]).exit_code == 2


def test_an_area_too_small_to_compare_has_no_peer_group_but_its_national_standing(national: Path) -> None:
    done = CliRunner().invoke(main, ["peers", "--db", str(national), "--hwb", "City of London", "--format", "json"])
    out: dict[str, Any] = json.loads(done.output)
    assert done.exit_code == 0 and out["peers"] == []
    assert all(r["peers_with_value"] == 0 and r["peer_median"] is None for r in out["ratios"])
    assert any(r["national_percentile"] is not None for r in out["ratios"])
    text = CliRunner().invoke(main, ["peers", "--db", str(national), "--hwb", "City of London"]).output
    assert "has no peer group" in text and "of your" not in text and "could not be compared" not in text


def test_the_letter_block_and_the_report_section(national: Path) -> None:
    with open_store(national) as store:
        pp = plan_peers(store, ROUND, "E08000024")
        found = outliers(store, ROUND)
    html = environment().get_template("_peers.html.j2").render(peers=pp)
    assert all(s.sentence().replace("'", "&#39;") in html for s in pp.standings if s.value is not None)
    assert "Rotherham" in html
    for o in found.rows:  # beyond every peer, and in the national top or bottom tenth
        s = o.standing
        assert s.peers_with_value in (s.peers_below, s.peers_above)
        assert s.national_percentile is not None and min(s.national_percentile, 100 - s.national_percentile) <= 10
    section = environment().get_template("_peer_outliers.html.j2").render(peer_outliers=found)
    assert f"Outliers among similar areas ({len(found.rows)})" in section


@pytest.fixture
def lacking_blackburn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Content whose population file has no row for Blackburn with Darwen, as a newer vintage after a boundary
    change might."""
    root = tmp_path / "content"
    for folder in content.FOLDERS:
        shutil.copytree(content.path(folder), root / folder, ignore=shutil.ignore_patterns("*.xlsx", "manifest.json"))
    population = root / "reference" / "ons_population_mid2018_councils.csv"
    lines = population.read_text(encoding="utf-8").splitlines(keepends=True)
    population.write_text("".join(x for x in lines if not x.startswith("E06000008,")), encoding="utf-8")
    monkeypatch.setenv("BCF_CONTENT", str(root))
    return root


def test_a_council_the_population_file_lacks_is_left_out_like_one_too_small(lacking_blackburn: Path) -> None:
    groups = peer_groups.load({a.ons_code: a.hwb_name for a in AREAS.all})
    assert groups.of("E06000008") == ()  # no group of its own
    assert "E06000008" not in {p for ps in groups.peers.values() for p in ps}  # and nobody's peer
    assert all(len(p) == 15 for c, p in groups.peers.items() if c not in {"E06000008", "E06000053", "E09000001"})
    assert groups.why_none["E06000008"] == ("reference/ons_population_mid2018_councils.csv (Office for National "
                                            "Statistics, mid-2018) has no figures for it")
    assert groups.why_none["E09000001"] == "it is too small to compare"
    assert "Blackburn with Darwen has no peer group, as reference/ons_population_mid2018_councils.csv" in groups.method


def test_every_output_says_a_council_without_population_figures_has_no_peer_group(
        lacking_blackburn: Path, national: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    why = "reference/ons_population_mid2018_councils.csv (Office for National Statistics, mid-2018) has no figures"
    done = CliRunner().invoke(main, ["peers", "--db", str(db), "--hwb", "Blackburn with Darwen", "--format", "json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["peers"] == [] and out["no_peer_group"].startswith(why)
    assert any(r["national_percentile"] is not None for r in out["ratios"])
    text = CliRunner(env={"COLUMNS": "400"}).invoke(main, ["peers", "--db", str(db), "--hwb", "E06000008"]).output
    assert f"has no peer group, as {why} for it: its ratios are set against every valid plan only" in text
    other = CliRunner().invoke(main, ["peers", "--db", str(db), "--hwb", "Sunderland", "--format", "json"])
    assert other.exit_code == 0 and len(json.loads(other.output)["peers"]) == 15
    letters = CliRunner().invoke(main, ["letters", "--db", str(db), "-o", str(tmp_path / "l"), "--no-pdf"])
    assert letters.exit_code == 0, letters.output
    letter = (tmp_path / "l" / ROUND / "letter-E06000008.html").read_text(encoding="utf-8")
    assert f"it has no peer group, as {why} for it." in " ".join(letter.split())
    report = CliRunner().invoke(main, ["report", "national", "--db", str(db), "-o", str(tmp_path / "r"), "--no-pdf"])
    assert report.exit_code == 0, report.output
    page = " ".join((tmp_path / "r" / f"national-assurance-report-{ROUND}.html").read_text(encoding="utf-8").split())
    assert f"Blackburn with Darwen has no peer group, as {why} for it" in page


def test_a_peer_left_out_of_the_group_is_said_to_be_so_for_its_reason(national: Path, tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    shutil.copy(national, db)
    with duckdb.connect(str(db)) as con:  # two of Sunderland's peers: one never sent, one not ready
        peers = [p["plan_code"] for p in json.loads(CliRunner().invoke(
            main, ["peers", "--db", str(national), "--hwb", "Sunderland", "--format", "json"]).output)["peers"]]
        gone, unready = peers[0], peers[1]
        con.execute("DELETE FROM submissions WHERE plan_code = ?", [gone])
        con.execute("UPDATE submissions SET status = 'not ready', blocking = 1 WHERE plan_code = ?", [unready])
    out = json.loads(CliRunner().invoke(main, ["peers", "--db", str(db), "--hwb", "Sunderland", "--format",
                                               "json"]).output)
    said = {p["plan_code"]: (p["valid"], p["sent"]) for p in out["peers"]}
    assert said[gone] == (False, False) and said[unready] == (False, True)
    text = " ".join(CliRunner(env={"COLUMNS": "400"}).invoke(main, ["peers", "--db", str(db), "--hwb",
                                                                    "Sunderland"]).output.split())
    names = {a.plan_code: a.plan_name for a in AREAS.plans()}
    assert f"{names[gone]} (no plan yet)" in text and f"{names[unready]} (its plan is not ready)" in text
    assert "not valid" not in text
