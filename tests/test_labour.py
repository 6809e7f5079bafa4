"""Demand, job prospects and wages: answered only from sourced labour facts, with their years, in both languages."""

from __future__ import annotations

import re

import pytest

from advisor.labour import labour_facts
from advisor.ranking import Relevance, rank_specialities
from advisor.reasons import reason
from embeddings.retriever import Hit
from knowledge.loader import load_knowledge

NUMBER = re.compile(r"\d[\d\s,]*")


def figures(text: str) -> set[str]:
    """The numbers a text states, written without spaces (142 тыс. → 142, 11 500 → 11500)."""
    return {re.sub(r"\s", "", n).strip(",") for n in NUMBER.findall(text)}


def known_figures(real_advisor) -> set[str]:
    """Every number the labour facts hold, in their texts and as wage tables round them."""
    facts = labour_facts(real_advisor.kb)
    found = set().union(*(figures(f.text_ru) | figures(f.text_kk) | figures(f.period) for f in facts))
    return found | {str(round(wage / 1000)) for f in facts for wage in f.wages.values()}


@pytest.mark.parametrize("question, place", [
    ("какие профессии востребованы в Шымкенте", "Шымкент"),
    ("Қарағандыда қандай мамандықтар сұранысқа ие", "Қарағанды"),
])
def test_demand_in_a_region_names_the_region_with_sourced_figures_and_their_year(real_advisor, question: str,
                                                                                  place: str) -> None:
    answer = real_advisor.ask(question)
    assert place in answer.answer.splitlines()[0]
    assert re.search(r"20\d\d", answer.answer) and answer.sources and answer.answered
    assert len(answer.answer) <= 1200


def test_no_figure_in_a_labour_answer_is_missing_from_the_sources(real_advisor) -> None:
    known = known_figures(real_advisor)
    for question in ("какие профессии востребованы в Шымкенте", "сколько зарабатывают сварщики",
                     "сколько выпускников колледжей находят работу", "kandai mamandyktar suranysta"):
        text = real_advisor.ask(question).answer.split("\n\n")[0]  # the sources line holds dates of pages
        invented = {n for n in figures(text) if len(n) > 1} - known
        assert not invented, (question, invented)


def test_a_wage_is_said_as_a_group_average_with_its_year_never_as_the_speciality_s_own(real_advisor) -> None:
    answer = real_advisor.ask("сколько зарабатывают сварщики")
    assert "тыс. ₸" in answer.answer and "2022" in answer.answer
    assert "группе профессий" in answer.answer or "группах занятий" in answer.answer


def test_a_speciality_without_sourced_demand_gets_an_honest_no_and_what_holds_for_all(real_advisor) -> None:
    answer = real_advisor.ask("на библиотекаря работу найду после колледжа?")
    assert "нет" in answer.answer.splitlines()[0] and "Библиотечное дело" in answer.answer
    assert "61" in answer.answer and "81" in answer.answer  # the employment range, both official figures


def test_conflicting_employment_figures_are_a_range_with_both_sources(real_advisor) -> None:
    answer = real_advisor.ask("сколько выпускников колледжей находят работу")
    assert "Как выпускники колледжей находят работу" in answer.answer.splitlines()[0]
    assert "81 %" in answer.answer and "61 %" in answer.answer
    assert "Министерства просвещения" in answer.answer and "Бюро национальной статистики" in answer.answer


def test_a_kazakh_question_about_jobs_is_not_read_as_a_speciality_by_a_typo(real_advisor) -> None:
    answer = real_advisor.ask("колледжден кейін жұмыс табам ба")
    assert answer.lang == "kk" and "«" not in answer.answer.splitlines()[0]
    assert "%" in answer.answer


def test_sourced_regional_demand_decides_between_equal_fits_and_is_named_as_the_reason(knowledge_dir) -> None:
    kb = load_knowledge(knowledge_dir)
    hits = [Hit("software", "speciality", 0.5), Hit("welding", "speciality", 0.5)]
    assert [r.spec.id for r in rank_specialities(kb, hits, (), 3)] == ["software", "welding"]
    ranked = rank_specialities(kb, hits, (), 3, region="Карагандинская область")
    assert [r.spec.id for r in ranked] == ["welding", "software"] and ranked[0].demand.id == "karaganda-welders"
    why = reason(ranked[0], Relevance.of("хочу работать руками"), ("crafts",), "ru")
    assert why.endswith("востребована в вашем регионе, данные 2025 г.")


def test_demand_never_lifts_a_weaker_fit_over_a_better_one(knowledge_dir) -> None:
    kb = load_knowledge(knowledge_dir)
    hits = [Hit("software", "speciality", 0.6), Hit("welding", "speciality", 0.5)]
    ranked = rank_specialities(kb, hits, (), 3, region="Карагандинская область")
    assert ranked[0].spec.id == "software"
