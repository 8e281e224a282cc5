"""The policy rules for official posts: our labelled cases, the NHS number check digit, the
allow-lists and the shape of a breach."""

from __future__ import annotations

from pathlib import Path

import pytest

from socmon.records import Media
from stream_processors.classify import pii
from stream_processors.classify.policy import RULES, PolicyRules, check_policy
from stream_processors.classify.training import rules_eval
from stream_processors.classify.training.rules_eval import (
    PolicyCase,
    load_policy_cases,
    policy_rules_fired,
)

CASE_RULES, CASES = load_policy_cases()


def _param(case: PolicyCase) -> object:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_each_labelled_case_fires_exactly_its_expected_rules(case: PolicyCase) -> None:
    assert policy_rules_fired(CASE_RULES, case) == case.expected


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_has_at_least_eight_cases_and_six_near_misses(rule: str) -> None:
    fire = [c for c in CASES if c.listed_under == rule and c.kind == "fire"]
    miss = [c for c in CASES if c.listed_under == rule and c.kind == "miss"]
    assert len(fire) >= 8
    assert len(miss) >= 6


def test_evidence_is_the_exact_substring_at_the_reported_offsets() -> None:
    for case in CASES:
        for breach in CASE_RULES.check(case.text, case.media):
            assert case.text[breach.start : breach.end] == breach.evidence, case.id
            assert breach.evidence


def test_breaches_carry_the_default_severity_of_their_rule() -> None:
    breaches = check_policy("NHS number 943 476 5919, the wifi password is Bluebell99")
    assert {(b.rule, b.severity) for b in breaches} == {
        ("nhs_number", "high"),
        ("credentials", "high"),
    }


def test_breaches_are_ordered_by_position_in_the_text() -> None:
    text = "Stop lying. Vote Labour. NHS no 943 476 5919"
    assert [b.rule for b in check_policy(text)] == [
        "criticising_service_users",
        "political",
        "nhs_number",
    ]


def test_a_clean_post_has_no_breaches() -> None:
    assert check_policy("Our new MRI scanner is up and running. Thank you to the team!") == []
    assert check_policy("") == []


def test_severities_can_be_overridden_per_rule() -> None:
    rules = PolicyRules(severities={"commercial": "medium"})
    [breach] = rules.check("Use code SAVE20 at checkout")
    assert breach.severity == "medium"


def test_an_unknown_rule_in_severities_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown policy rule"):
        PolicyRules(severities={"no_such_rule": "low"})


# ---------------------------------------------------------------- NHS numbers


@pytest.mark.parametrize(
    "number", ["9434765919", "943 476 5919", "943-476-5919", "4010232137", "6260181590"]
)
def test_is_valid_nhs_number_accepts_numbers_with_the_right_check_digit(number: str) -> None:
    assert pii.is_valid_nhs_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # check digit should be 9
        "9434765910",
        "1234567890",  # remainder gives 10: never issued
        "1111111111",  # passes the arithmetic, but a placeholder
        "0000000000",
        "943476591",  # nine digits
        "94347659190",  # eleven digits
        "94347659l9",  # a letter
        "９４３４７６５９１９",  # full-width digits are not ASCII digits
        "",
    ],
)
def test_is_valid_nhs_number_rejects_anything_else(number: str) -> None:
    assert not pii.is_valid_nhs_number(number)


def test_an_nhs_number_inside_a_longer_run_of_digits_is_not_reported() -> None:
    assert pii.find_nhs_numbers("card 49434765919 and 94347659190") == []


def test_a_ten_digit_uk_phone_number_is_not_taken_for_an_nhs_number() -> None:
    # 0800 100 018 is a ten-digit freephone number whose digits happen to pass modulus 11.
    text = "Freephone 0800100018 for advice"
    assert pii.is_valid_nhs_number("0800100018")
    assert pii.find_nhs_numbers(text) == []


def test_a_number_found_as_an_nhs_number_is_not_reported_again_as_a_phone_number() -> None:
    assert [b.rule for b in check_policy("Patient 943 476 5919")] == ["nhs_number"]


# ---------------------------------------------------------------- allow-lists


def test_the_organisations_own_number_is_allowed_in_any_format() -> None:
    rules = PolicyRules(allowed_phone_numbers=["+44 113 496 0000"])
    for text in ("Call 0113 496 0000", "Call (0113) 4960000", "Call +441134960000"):
        assert rules.check(text) == [], text
    assert [b.rule for b in check_policy("Call 0113 496 0000")] == ["phone_number"]


def test_an_allow_listed_phone_number_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        PolicyRules(allowed_phone_numbers=["switchboard"])


def test_freephone_and_03_numbers_are_not_personal() -> None:
    assert check_policy("Call 0800 123 4567 or 0300 123 4567") == []


def test_subdomains_of_an_allowed_email_domain_are_allowed() -> None:
    assert check_policy("Email pals@northbrook.nhs.uk or team@nhs.net") == []
    rules = PolicyRules(allowed_email_domains=["northbrook.example"])
    assert [b.rule for b in rules.check("Email pals@northbrook.nhs.uk")] == ["email_address"]


def test_an_email_address_ending_a_sentence_excludes_the_full_stop() -> None:
    [breach] = check_policy("Write to jane@gmail.com.")
    assert breach.evidence == "jane@gmail.com"


def test_the_organisations_own_postcode_is_allowed() -> None:
    text = "Visit us at 1 Queen Victoria Road, Newcastle NE1 4LP"
    assert [b.rule for b in check_policy(text)] == ["postal_address"]
    assert PolicyRules(allowed_postcodes=["ne14lp"]).check(text) == []


# ---------------------------------------------------------------- media consent


def test_children_beside_a_photo_need_consent() -> None:
    text = "The children loved meeting our therapy dog"
    assert [b.rule for b in check_policy(text, [Media(type="photo")])] == ["media_consent"]
    assert check_policy(text) == []
    assert check_policy(text + " (shared with consent)", [Media(type="photo")]) == []


def test_consent_that_was_refused_does_not_count_as_consent() -> None:
    text = "The children loved meeting our therapy dog, we did not get consent"
    assert [b.rule for b in check_policy(text, [Media(type="video")])] == ["media_consent"]


def test_an_attachment_that_cannot_show_a_person_needs_no_consent() -> None:
    assert check_policy("Leaflet for parents of newborns", [Media(type="other")]) == []


# ---------------------------------------------------------------- the evaluation command


def test_the_evaluation_prints_a_markdown_row_per_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_eval.main(["--markdown"]) == 0
    out = capsys.readouterr().out
    assert "| rule | must fire | near misses | TP | FP | FN | precision | recall |" in out
    for rule in RULES:
        assert f"| {rule} |" in out


def test_a_missing_case_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(rules_eval.CaseFileError, match="case file not found"):
        load_policy_cases(missing)
    assert rules_eval.main(["--policy-cases", str(missing)]) == 2
    assert "case file not found" in capsys.readouterr().err


def test_a_case_under_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cases.yaml"
    path.write_text("rules:\n  no_such_rule:\n    fire:\n      - text: hello\n")
    with pytest.raises(rules_eval.CaseFileError, match="unknown rule 'no_such_rule'"):
        load_policy_cases(path)


# ---------------------------------------------------------------- helpers


def test_case_folding_keeps_every_offset_where_it_was() -> None:
    text = "İSTANBUL Ärzte NHS ÉCOLE ×"
    folded = pii.fold_case(text)
    assert len(folded) == len(text)
    assert folded.startswith("İstanbul ärzte nhs école")


def test_a_folded_pattern_with_a_capital_letter_is_refused() -> None:
    with pytest.raises(ValueError, match="must be lower case"):
        pii.folded_pattern(r"\bNHS\b")
    assert pii.folded_pattern(r"(?P<word>\S+)\s\d").match("nhs 1")


def test_a_link_with_an_affiliate_tag_is_commercial() -> None:
    text = "Love these https://shop.example.com/scrubs?colour=navy&tag=nursejane-21 so comfy"
    [breach] = check_policy(text)
    assert breach.rule == "commercial"
    assert breach.evidence.startswith("https://shop.example.com/scrubs?")
