"""The sample round: 151 consistent workbooks, a manifest that matches them, and 2014-style optimism."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bcf import samples
from bcf.read import read_submission
from tests.support import AREAS, PLAN, SEED

# reader problem kind -> the planted defect kinds that cause it
READER_SEES = {"sheet_renamed": {"sheet_renamed"}, "sheet_missing": {"sheet_missing"},
               "table_moved": {"rows_inserted_above_table"}, "header_changed": {"header_changed"},
               "wrong_type": {"text_in_number", "text_in_number_metric", "date_as_text"}}


def test_one_file_per_plan(sample_round: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = sample_round
    files = sorted(p.name for p in folder.glob("*.xlsx"))
    assert len(files) == 151 == len(AREAS.plans())
    assert sorted(f["file"] for f in manifest["files"]) == files
    assert "Isles of Scilly" not in {f["hwb"] for f in manifest["files"]}


def test_defects_cover_every_kind_three_times_in_about_40_percent(sample_round: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = sample_round
    defective = [f for f in manifest["files"] if f["defects"]]
    assert 0.35 <= len(defective) / 151 <= 0.45
    kinds = Counter(d["kind"] for f in defective for d in f["defects"])
    assert set(kinds) == set(samples.DEFECTS)
    assert min(kinds.values()) >= 3
    rules = {d["rule"] for f in defective for d in f["defects"]}
    assert {r.split("-")[1] for r in rules} == {"GATE", "STRUCT", "CELL", "ARITH", "POL", "CONS", "REF"}


def test_manifest_matches_what_the_reader_sees(sample_round: tuple[Path, dict[str, Any]]) -> None:
    folder, manifest = sample_round
    for entry in manifest["files"]:
        sub = read_submission(folder / entry["file"])
        planted = {(d["kind"], d["sheet"], d["cell"]) for d in entry["defects"]}
        for p in sub.problems:
            if p.kind in READER_SEES:
                cell = p.cell if p.kind not in ("sheet_renamed", "sheet_missing") else None
                assert any((k, p.sheet, cell) in planted for k in READER_SEES[p.kind]), (entry["file"], p)
        if any(d["kind"] == "no_cached_values" for d in entry["defects"]):
            assert any(p.kind == "no_cached_value" for p in sub.problems)
        else:
            assert not any(p.kind == "no_cached_value" for p in sub.problems), entry["file"]
        if any(d["kind"] == "superseded_version" for d in entry["defects"]):
            assert sub.version == "1.1"
        for d in entry["defects"]:
            if d["cell"] and d["kind"] not in ("header_changed", "rows_inserted_above_table"):
                assert d["sheet"] in sub.sheets_found, (entry["file"], d)


def test_same_seed_same_content_other_seed_other_content() -> None:
    first, again, other = (list(samples.plans(PLAN, seed))[:5] for seed in (11, 11, 12))
    assert [p.filled for p in first] == [p.filled for p in again]
    assert [p.defects for p in first] == [p.defects for p in again]
    assert [p.filled for p in first] != [p.filled for p in other]


def test_savings_are_optimistic_like_2014(sample_round: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = sample_round
    weight = {"High": 1.0, "Medium": 0.5, "Low": 0.0}
    claimed = credible = 0.0
    for f in folder.glob("*.xlsx"):
        b = read_submission(f).tables["benefits"]
        claimed += b["planned_saving"].sum()
        credible += sum(r.planned_saving * weight.get(r.confidence, 0) for r in b.itertuples() if r.evidence)
    assert 500_000 <= claimed <= 750_000  # £000
    assert 0.3 < credible / claimed < 0.6  # claims about twice what their evidence backs


def test_clean_plans_tie_and_meet_the_minimum() -> None:
    for p in list(samples.plans(PLAN, SEED))[:30]:
        if p.defects:
            continue
        funding = sum(r["amount_this_year"] for r in p.filled.tables["funding"] if r)
        schemes = sum(r["spend_this_year"] for r in p.filled.tables["schemes"] if r)
        assert funding == schemes >= p.area.minimum_pooled_000


def test_checks_find_every_planted_defect_and_nothing_else(sample_round: tuple[Path, dict[str, Any]]) -> None:
    """Golden test: recall 100% against manifest.json, and no blocking finding on a clean file."""
    from bcf.validate import check_file

    folder, manifest = sample_round
    missed, false_blocking, unplanted = [], [], []
    for entry in manifest["files"]:
        report = check_file(folder / entry["file"])
        got = {(f.rule_id, f.cell) for f in report.findings}
        missed += [(entry["file"], d["rule"], d["cell"]) for d in entry["defects"] if (d["rule"], d["cell"]) not in got]
        planted = {d["rule"] for d in entry["defects"]}
        unplanted += [(entry["file"], f.rule_id, f.cell) for f in report.findings if f.rule_id not in planted]
        if not entry["defects"]:
            false_blocking += [(entry["file"], f.rule_id) for f in report.findings if f.severity == "blocking"]
    assert missed == []
    assert false_blocking == []
    assert unplanted == []


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_samples_saved_by_libreoffice_give_the_same_findings(sample_round: tuple[Path, dict[str, Any]],
                                                             tmp_path: Path) -> None:
    from bcf.validate import check_file

    folder, manifest = sample_round
    picked = [e for e in manifest["files"] if e["defects"] and not any(
        d["kind"] in ("no_cached_values", "sheet_missing", "superseded_version") for d in e["defects"])][:4]
    picked.append(next(e for e in manifest["files"] if not e["defects"]))
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(tmp_path),
                    *[str(folder / e["file"]) for e in picked]], check=True, capture_output=True, timeout=300)
    for e in picked:
        original = {(f.rule_id, f.sheet, f.cell) for f in check_file(folder / e["file"]).findings}
        resaved = {(f.rule_id, f.sheet, f.cell) for f in check_file(tmp_path / e["file"]).findings}
        assert resaved == original, e["file"]


def test_the_category_mix_resembles_2014s(sample_round: tuple[Path, dict]) -> None:
    """About 5 plans approved outright, 91 with conditions, 50 with support and 5 not approved (reference section 9)."""
    from collections import Counter

    mix = Counter(f["expected_category"] for f in sample_round[1]["files"])
    assert 3 <= mix["Approved"] <= 10 and 80 <= mix["Approved subject to conditions"] <= 105
    assert 35 <= mix["Approved with support"] <= 60 and 3 <= mix["Not approved"] <= 8


def test_resubmissions_explain_each_finding_in_its_own_words_and_are_never_dated_ahead(tmp_path: Path) -> None:
    """Each explanation on a resubmitted sample answers the finding it names (an invalid email is not "explained"
    by a one-off item in the base year), and no file is stamped later than the moment it was written."""
    import time

    from bcf.samples.build import profile
    from bcf.validate import check_file

    reasons = profile()["resubmission"]["explanations"]
    manifest = samples.generate(tmp_path, PLAN.round.id, "plan", SEED, resubmit=True)
    assert manifest["files"]
    explained = Counter()
    for f in manifest["files"]:
        path = tmp_path / f["file"]
        assert path.stat().st_mtime <= time.time()
        report = check_file(path)
        assert "BCF-CONS-008" not in {x.rule_id for x in report.findings}  # every explanation names a finding
        for finding in report.findings:
            if finding.explanation:
                assert finding.explanation == reasons.get(finding.rule_id, reasons["other"]), (f["file"], finding)
                explained[finding.rule_id] += 1
    assert len(explained) >= 4, explained  # several rules, each explained in words that fit it
