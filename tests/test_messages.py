"""Every catalogue message and fix, rendered with the realistic values the checks pass, reads as a sentence.

Each rule gets the values its check really gives (a label, a figure in £000, a date, a sheet name), so a
message assembled badly ("The a sheet called … sheet", "Enter Of the pooled budget", "£-0k", "£1062k")
shows here. A few are checked word for word.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from bcf.findings import finding, money, rules

FUNDING_LABEL = "Of the pooled budget, protecting social care services (£000)"
# rule -> the keyword values its check passes to finding()
REALISTIC: dict[str, dict[str, Any]] = {
    "BCF-GATE-001": {},
    "BCF-GATE-002": {"found": "a CSV or text file"},
    "BCF-GATE-003": {"found": "6.2 MB", "expected": "5 MB"},
    "BCF-GATE-004": {"found": "it is not a complete zip archive"},
    "BCF-GATE-005": {},
    "BCF-GATE-006": {"found": None, "expected": "2015/16 Better Care Fund planning template (part 2), version 1.2"},
    "BCF-GATE-007": {"found": "1.1", "expected": "1.2"},
    "BCF-GATE-008": {"found": "Kent County", "expected": "Kent", "likely": 'The nearest name in the list is "Kent".'},
    "BCF-GATE-009": {},
    "BCF-GATE-010": {"found": "entity declarations in its XML"},
    "BCF-GATE-011": {"found": "it took longer than 30 seconds"},
    "BCF-GATE-012": {"found": "2016/17 Better Care Fund planning template (2016-17 plan return)",
                     "expected": "2015/16 Better Care Fund planning template (part 2) (2015-16 plan return)"},
    "BCF-GATE-013": {"found": "a PDF document"},
    "BCF-STRUCT-001": {"expected": "Provider impact"},
    "BCF-STRUCT-002": {"found": "Governance (final)", "expected": "Governance"},
    "BCF-STRUCT-003": {"expected": "Benefits"},
    "BCF-STRUCT-004": {"found": "Schemes", "expected": "row 4"},
    "BCF-STRUCT-005": {"found": "Lead officer", "expected": "Owner"},
    "BCF-STRUCT-006": {"found": 214, "expected": "Cover, Funding"},
    "BCF-STRUCT-007": {"found": "hidden"},
    "BCF-STRUCT-008": {"found": 33, "expected": "at most 30 rows"},
    "BCF-STRUCT-009": {"found": 500.0, "expected": "a new row of the Contributions table, inserted above its Total row"},
    "BCF-STRUCT-010": {"found": "check with finance", "expected": "the yellow input cell it belongs to"},
    "BCF-STRUCT-011": {"expected": "Unit cost (£)"},
    "BCF-STRUCT-014": {"found": "Reablement/intermediate care", "expected": "C5:E5", "also": "as is 1 more cell of it"},
    "BCF-STRUCT-013": {"found": "its 14 filled cells (A1 to C9)"},
    "BCF-STRUCT-012": {"found": 37, "expected": "every calculated cell was saved as 0"},
    "BCF-CELL-001": {"label": FUNDING_LABEL, "expected": "an amount in £000, for example 1250"},
    "BCF-CELL-002": {"found": "£2,635,000", "expected": "2635", "wanted": "a number", "label": "2015/16 (£000)",
                     "example": "1250", "likely": 'This looks like pounds and the cell is in £000 (thousands of pounds): '
                                                  'enter "2635".'},
    "BCF-CELL-003": {"found": -250.0, "expected": "0 to 100,000,000", "label": "2014/15 (£000)"},
    "BCF-CELL-004": {"found": "Y", "expected": "Yes, No", "label": "Signed off (Yes/No)"},
    "BCF-CELL-005": {"found": "R01", "expected": "R07"},
    "BCF-CELL-006": {"found": "finance team at the council", "expected": "an address such as name@council.gov.uk",
                     "likely": "It has no @."},
    "BCF-CELL-007": {"found": date(2014, 9, 25), "expected": date(2014, 9, 18)},
    "BCF-CELL-008": {"found": date(2014, 9, 26), "expected": date(2014, 9, 19)},
    "BCF-CELL-009": {"found": date(2104, 9, 15), "expected": "01/01/2013 to 31/12/2016", "label": "Date submitted"},
    "BCF-CELL-010": {"found": "1,048,576 characters", "expected": "32,767 characters", "label": "Justification"},
    "BCF-CELL-011": {"found": "TBC", "expected": "an answer", "label": "Arrangements for an overspend"},
    "BCF-CELL-012": {"found": "yes", "expected": "Yes", "label": "Signed off (Yes/No)"},
    "BCF-CELL-013": {"found": "27512", "expected": "a number", "label": "2015/16 (£000)"},
    "BCF-CELL-014": {"found": 955000.0, "expected": "about 1,000 times what its change in volume × unit cost gives",
                     "label": "Planned saving (£000)"},
    "BCF-CELL-015": {"label": "Benefits"},
    "BCF-CELL-016": {"found": "#DIV/0!", "expected": "a value", "label": "Contingency fund (£000)"},
    "BCF-ARITH-001": {"found": 53086.0, "expected": 53336.0},
    "BCF-ARITH-002": {"found": 53336.0, "expected": 53086.0},
    "BCF-ARITH-003": {"found": 512.0, "expected": 498.3},
    "BCF-ARITH-004": {"found": 6.0, "expected": 16.0},
    "BCF-ARITH-005": {"found": 110.0, "expected": 100},
    "BCF-ARITH-006": {"found": 382.0, "expected": 955},
    "BCF-ARITH-007": {"found": 99999.0, "expected": 2028.0, "shown": "99,999", "gives": "2,028"},
    "BCF-ARITH-008": {"found": 812.0, "expected": 785.23},
    "BCF-CONS-006": {"found": "Leeds"},
    "BCF-CONS-007": {"found": 8812.0, "expected": 8650.0},
    "BCF-CONS-009": {"found": 35580, "expected": 3308, "times": "10.8 times"},
    "BCF-CONS-008": {"found": "BCF-POL-099 at Risks C40", "expected": "BCF-POL-010 at Risks C40; BCF-CELL-006 at Cover C12"},
    "BCF-ARITH-011": {"found": "=SUM($K$5:$K$64)", "expected": "=SUM(K5:K65)", "rows": "row 65"},
    "BCF-ARITH-009": {"found": 53336.0, "expected": 53086.0},
    "BCF-ARITH-010": {"found": '"Total pooled budget 2015/16 (£000)" (Cover C9); the Total row of "2015/16 (£000)" '
                               "(Funding F42)", "expected": "Funding F13"},
    "BCF-POL-001": {"found": -0.0, "expected": 46682.0},
    "BCF-POL-002": {"found": 0.0, "expected": "an amount above £0"},
    "BCF-POL-003": {"found": 6341.0, "expected": 12682.0},
    "BCF-POL-004": {"found": 2.0, "expected": 3.5},
    "BCF-POL-005": {"found": "Health and Wellbeing Board chair", "expected": "Yes"},
    "BCF-POL-006": {"found": "Joint assessment and an accountable lead professional", "deadline": date(2015, 4, 1),
                    "expected": "how it will be met"},
    "BCF-POL-007": {"expected": 'a risk whose description names the target: "non-elective", "emergency admission"'},
    "BCF-POL-008": {"found": None, "expected": "how the risk will be reduced or managed", "risk": "R02", "score": "16"},
    "BCF-POL-009": {"found": "No", "expected": "Yes", "label": "Exit arrangements agreed"},
    "BCF-POL-010": {"found": "Council–council",
                    "expected": "a risk at the Council–council boundary on the Risks sheet, or a reason here"},
    "BCF-POL-011": {"found": "Better data sharing based on the NHS number", "expected": date(2015, 9, 30),
                    "deadline": date(2015, 4, 1)},
    "BCF-POL-012": {"found": 7.4},
    "BCF-POL-013": {"found": 31250.0, "expected": 30100.0},
    "BCF-CONS-001": {"found": 4112.0, "expected": 2028.0},
    "BCF-CONS-002": {"found": 6732, "expected": 3064},
    "BCF-CONS-003": {"found": 3618.0, "expected": 2010.0},
    "BCF-CONS-004": {"found": 0.0, "expected": 3063.0},
    "BCF-CONS-005": {"found": "S99", "expected": "S01, S02, S03"},
    "BCF-REF-001": {"found": 986243.0, "expected": 789194, "source": "Office for National Statistics",
                    "vintage": "mid-2018", "area": "Leeds", "gap": "25% more", "tolerance": "10%"},
    "BCF-REF-002": {"found": 789194.0, "expected": 122414, "source": "Office for National Statistics",
                    "vintage": "mid-2018", "area": "Leeds", "gap": "6.4 times as much", "tolerance": "10%"},
    "BCF-REF-003": {"found": "ons_population_mid2018_councils.csv", "label": "The population covered",
                    "why": "has no figures for Blackburn with Darwen"},
}
BAD = {
    "a fragment": re.compile(r"\ba sheet called\b|\bthe the\b|\ba an?\b"),
    "a capital in mid-sentence after Enter": re.compile(r"\bEnter [A-Z][a-z]"),
    "£ before a minus sign or a figure without separators": re.compile(r"£-|£\d{4,}"),
    "an unfilled placeholder": re.compile(r"[{}]"),
    "a figure of thousands without a separator": re.compile(r"(?<![\d/.,-])\d{4,}(?![\d/-]|\.\d)"),
    "doubled punctuation or spaces": re.compile(r"\.\.|  | \.|,,"),
}
ALLOWED_FIGURES = {"1250"}  # the example figure officers are shown how to type
QUOTED = re.compile(r'"[^"]*"')  # what the officer typed, shown as typed


def test_every_rule_has_realistic_values() -> None:
    assert set(REALISTIC) == set(rules())


@pytest.mark.parametrize("rule_id", list(rules()))
def test_message_and_fix_read_as_sentences(rule_id: str) -> None:
    f = finding(rule_id, "Funding", "F13", **REALISTIC[rule_id])
    for text in (f.message, f.fix):
        assert text[0].isupper() or text[0] in "\"£", text
        assert text.endswith((".", '."')), text
        for what, pattern in BAD.items():
            hits = [m.group(0) for m in pattern.finditer(QUOTED.sub('""', text)) if m.group(0) not in ALLOWED_FIGURES]
            assert not hits, f"{what} in: {text}"


@pytest.mark.parametrize("rule_id, message", [
    ("BCF-STRUCT-001", "The Provider impact sheet is missing, so it was not read and the checks that use it were not run."),
    ("BCF-CELL-001", f'"{FUNDING_LABEL}" is blank.'),
    ("BCF-POL-001", "The total pooled budget, £0, is below your minimum of £46,682k."),
    ("BCF-ARITH-002", "The total pooled budget shows £53,336k but the Funding sheet adds up to £53,086k."),
    ("BCF-CELL-014", '"Planned saving (£000)" is £955,000k, about 1,000 times what its change in volume × unit cost '
                     "gives: this looks like pounds, not thousands."),
    ("BCF-CELL-012", '"yes" was read as "Yes", the option in the list.'),
    ("BCF-CELL-015", "The Benefits table has no rows: at least one is needed."),
    ("BCF-CELL-016", '"Contingency fund (£000)" shows the error #DIV/0! instead of a value.'),
    ("BCF-GATE-013", "This file is a PDF document, not the Excel workbook made from the template."),
    ("BCF-CELL-002", 'You entered "£2,635,000" where a number is needed. This looks like pounds and the cell is in £000 '
                     '(thousands of pounds): enter "2635".'),
    ("BCF-CELL-006", '"finance team at the council" is not a valid email address. It has no @.'),
    ("BCF-GATE-008", '"Kent County" is not a Health and Wellbeing Board in the list. The nearest name in the list is "Kent".'),
    ("BCF-STRUCT-012", "Calculated cells saved with values their formulas do not give from your figures: 37 (every "
                       "calculated cell was saved as 0). They were checked by working them out from your figures, as "
                       "the template's formulas do."),
    ("BCF-ARITH-010", 'Not checked: "Total pooled budget 2015/16 (£000)" (Cover C9); the Total row of "2015/16 (£000)" '
                      "(Funding F42). A value that could not be read (Funding F13) is left out of these totals, so "
                      "nothing was judged against them."),
])
def test_messages_word_for_word(rule_id: str, message: str) -> None:
    assert finding(rule_id, "Cover", "C9", **REALISTIC[rule_id]).message == message


@pytest.mark.parametrize("value, words", [(1062.0, "£1,062k"), (1062, "£1,062k"), (-0.3, "-£0.3k"), (-0.04, "-£40"), (0, "£0"),
                                          (0.02, "£20"),
                                          (-250.0, "-£250k"), (0.4, "£0.4k"), (3021.72, "£3,022k"), (None, "")])
def test_money_in_words(value: Any, words: str) -> None:
    assert money(value) == words


@pytest.mark.parametrize("typed, why", [
    ("finance team at the council", "It has no @."),
    ("MAILTO:sam.patel@council.gov.uk", 'It starts with "mailto:", which belongs to a link: enter the address alone.'),
    ("sam:patel@council.gov.uk", "The part before the @ has a colon in it."),
    ("sam patel@council.gov.uk", "It has a space in it."),
    ("sam@@council.gov.uk", "It has more than one @."),
    ("sam@council", "The part after the @ is not a domain such as council.gov.uk."),
])
def test_a_mistyped_email_address_is_refused_and_the_reason_said(typed: str, why: str) -> None:
    from bcf.validate.cells import EMAIL, email_problem

    assert re.match(EMAIL, typed) is None and email_problem(typed) == why
    assert re.match(EMAIL, "sam.patel@council.gov.uk")
