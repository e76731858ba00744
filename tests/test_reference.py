"""The reference content: each shipped file is the one its YAML describes, the rounds' populations come from it,
and the figures a return quotes are checked against it (found exactly, quiet on clean plans, never passed when
the file is missing)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bcf import allocations, content, reference, rounds
from bcf.samples import Plan
from bcf.validate import check_file
from tests.support import AREAS, findings_table, write_plan

REF = Path(__file__).parents[1] / "reference"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.mark.parametrize("meta", sorted(p.name for p in REF.glob("*.yaml") if (REF / p.name).read_text().count("sha256:")))
def test_each_reference_file_has_its_checksum_source_licence_and_vintage(meta: str) -> None:
    src = reference.source(meta.removesuffix(".yaml"))
    assert hashlib.sha256(src.path.read_bytes()).hexdigest() == src.sha256
    assert src.publisher and src.licence.startswith("Open Government Licence") and src.vintage


def test_the_councils_add_up_to_england() -> None:
    rows = _rows(REF / "ons_population_mid2018_councils.csv")
    england, councils = rows[0], rows[1:]
    assert england["ons_code"] == reference.ENGLAND and len(councils) == 152
    assert sum(int(r["all_ages"]) for r in councils) == int(england["all_ages"]) == 55_977_178
    assert sum(int(r["age_65_plus"]) for r in councils) == int(england["age_65_plus"])
    assert {r["ons_code"] for r in councils} == {a.ons_code for a in AREAS.all}


@pytest.mark.parametrize("round_id", list(rounds.all_rounds()))
def test_allocations_take_the_real_population_and_share_the_minimum_exactly(round_id: str) -> None:
    folder = content.path("bcf_templates", round_id)
    assert (folder / "allocations.csv").read_text(encoding="utf-8") == allocations.reshare(folder)
    plans = _rows(folder / "allocations.csv")
    pop = {r["ons_code"]: int(r["all_ages"]) for r in _rows(REF / "ons_population_mid2018_councils.csv")}
    cornwall = next(r for r in plans if r["plan_name"] == "Cornwall")
    assert int(cornwall["population"]) == pop["E06000052"] + pop["E06000053"]  # with the Isles of Scilly
    assert sum(int(r["population"]) for r in plans) == 55_977_178
    minimum = sum(int(r["minimum_pooled_000"]) for r in plans)
    assert minimum == {"2015-16": 3_800_000, "2016-17": 3_900_000}[round_id]
    for r in plans:  # each share is the population's, to the £1k that largest remainders may add
        assert abs(int(r["minimum_pooled_000"]) - minimum * int(r["population"]) / 55_977_178) < 1


def test_shares_add_up_exactly_by_largest_remainders() -> None:
    assert allocations.shares(10, [1, 1, 1]) == [4, 3, 3]
    assert allocations.shares(100, [2, 5, 3]) == [20, 50, 30]


def test_sample_plans_state_the_real_population_and_65_plus(clean_plan: Plan) -> None:
    leeds = AREAS.find("Leeds")
    assert leeds is not None and (leeds.population, leeds.population_65_plus) == (789_194, 122_414)
    assert clean_plan.filled.fields["population"] == 789_194
    assert clean_plan.filled.tables["metrics"][0]["den_baseline"] == 122_414  # type: ignore[index]


def test_a_quoted_figure_far_from_the_reference_is_found_with_both_numbers(tmp_path: Path, clean_plan: Plan) -> None:
    clean_plan.filled.fields["population"] = 700_000  # 11.3% below 789,194: beyond the 10% allowed
    clean_plan.filled.tables["metrics"][0]["den_baseline"] = 130_000  # type: ignore[index]  # 6.2%: within it
    report = check_file(write_plan(clean_plan, tmp_path / "p.xlsx"))
    assert findings_table(report, "rule_id", "sheet", "cell") == [("BCF-REF-001", "NEL & P4P", "C10")]
    message = report.findings[0].message
    assert "700,000" in message and "789,194" in message and "Office for National Statistics" in message
    assert "mid-2018" in message and "11%" in message


def _check(env: dict[str, str], path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bcf", "check", str(path), "--format", "json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


def test_a_missing_reference_file_is_not_checked_never_passed(tmp_path: Path, clean_plan: Plan) -> None:
    root = tmp_path / "content"
    for folder in content.FOLDERS:
        shutil.copytree(content.path(folder), root / folder, ignore=shutil.ignore_patterns("*.xlsx", "manifest.json"))
    (root / "reference" / "ons_population_mid2018_councils.csv").unlink()
    clean_plan.filled.fields["population"] = 1_000_000
    path = write_plan(clean_plan, tmp_path / "p.xlsx")
    found = _check({**os.environ, "BCF_CONTENT": str(root)}, path)["findings"]
    assert [(f["rule_id"], f["cell"]) for f in found] == [("BCF-REF-003", "C10"), ("BCF-REF-003", "F5")]
    assert "not checked" in found[0]["message"] and "ons_population_mid2018_councils.csv" in found[0]["message"]
    assert [f["rule_id"] for f in _check(dict(os.environ), path)["findings"]] == ["BCF-REF-001"]


def test_a_reference_file_without_the_plans_area_says_so_never_that_it_is_not_installed(
        tmp_path: Path, clean_plan: Plan) -> None:
    root = tmp_path / "content"
    for folder in content.FOLDERS:
        shutil.copytree(content.path(folder), root / folder, ignore=shutil.ignore_patterns("*.xlsx", "manifest.json"))
    population = root / "reference" / "ons_population_mid2018_councils.csv"
    code = clean_plan.area.ons_code
    lines = population.read_text(encoding="utf-8").splitlines(keepends=True)
    population.write_text("".join(x for x in lines if not x.startswith(f"{code},")), encoding="utf-8")
    found = _check({**os.environ, "BCF_CONTENT": str(root)}, write_plan(clean_plan, tmp_path / "p.xlsx"))["findings"]
    assert [(f["rule_id"], f["cell"]) for f in found] == [("BCF-REF-003", "C10"), ("BCF-REF-003", "F5")]
    assert (f'the reference file "ons_population_mid2018_councils.csv" has no figures for '
            f"{clean_plan.area.hwb_name}.") in found[0]["message"]
    assert "not installed" not in found[0]["message"]


def test_the_sample_round_plants_reference_discrepancies_and_the_check_finds_exactly_them(
        sample_round: tuple[Path, dict[str, Any]]) -> None:
    """The planted files and as many clean ones (the golden test in test_samples covers every file)."""
    folder, manifest = sample_round
    planted = {(f["file"], d["rule"], d["cell"]) for f in manifest["files"] for d in f["defects"]
               if d["rule"].startswith("BCF-REF-")}
    assert Counter(rule for _, rule, _ in planted) == {"BCF-REF-001": 3, "BCF-REF-002": 3}
    clean = [f["file"] for f in manifest["files"] if not f["defects"]][:6]
    found = {(name, x.rule_id, x.cell) for name in {n for n, _, _ in planted} | set(clean)
             for x in check_file(folder / name).findings if x.rule_id.startswith("BCF-REF-")}
    assert found == planted
