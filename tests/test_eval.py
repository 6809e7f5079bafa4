"""The evaluation set on the offline default model: the quality bar per language."""

from __future__ import annotations

from advisor.evaluation import evaluate, format_report, load_cases
from conftest import ROOT

EVAL_FILE = ROOT / "tests" / "eval" / "questions.yaml"


def test_eval_set_is_balanced_and_large_enough() -> None:
    cases = load_cases(EVAL_FILE)
    assert len(cases) >= 200
    assert sum(c.lang == "ru" for c in cases) == sum(c.lang == "kk" for c in cases)


def test_expected_records_exist(real_advisor) -> None:
    known = set(real_advisor.kb.by_id)
    missing = {e for c in load_cases(EVAL_FILE) for e in c.expect} - known
    assert not missing


def test_hit_at_3_is_at_least_0_90_in_each_language(real_advisor) -> None:
    report = evaluate(real_advisor, load_cases(EVAL_FILE))
    print(format_report(report))
    for lang in ("ru", "kk"):
        assert report["groups"][f"lang:{lang}"]["hit@3"] >= 0.90, format_report(report)
        assert report["groups"][f"lang:{lang}"]["lang_acc"] >= 0.95
