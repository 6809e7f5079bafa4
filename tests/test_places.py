"""Every place a college record names is recognised in questions, in Russian and Kazakh and in case forms."""

from __future__ import annotations

import pytest

from advisor.places import find_place
from conftest import ROOT
from knowledge.loader import load_knowledge


def test_every_college_city_is_recognised_by_its_russian_and_kazakh_name() -> None:
    kb = load_knowledge(ROOT / "knowledge" / "data")
    for city in sorted({c.city for c in kb.colleges if c.city}):
        place = find_place(city)
        assert place is not None and place.city == city, city
        assert find_place(place.name_kk) == place, place.name_kk


@pytest.mark.parametrize("question, city", [
    ("колледжи в Кандыагаше", "Кандыагаш"), ("Қандыағашта колледж бар ма", "Кандыагаш"),
    ("учёба в Эмбе после 9", "Эмба"), ("Ембіде оқу", "Эмба"), ("что есть в Алге", "Алга"),
    ("Шалқарда қандай колледж бар", "Шалкар"), ("колледж в Уральске", "Уральск"), ("Оралда оқимын", "Уральск"),
    ("в орале какие колледжи есть", "Уральск"),
    ("колледжи Хромтау", "Хромтау"), ("в Кобде есть колледж?", "Кобда"), ("Уилский колледж", "Уил"),
    ("в семее есть медицинский колледж", "Семей"), ("Семейде оқимын", "Семей"),
])
def test_small_towns_are_found_in_case_forms(question: str, city: str) -> None:
    place = find_place(question)
    assert place is not None and place.city == city


def test_words_that_only_start_like_a_town_are_not_places() -> None:
    assert find_place("хочу изучать алгебру") is None
    assert find_place("эмблема колледжа") is None


@pytest.mark.parametrize("text", ["семейный бизнес", "семейная медицина", "у нас многодетная семья"])
def test_family_words_are_not_the_city_of_semey(text: str) -> None:
    assert find_place(text) is None


@pytest.mark.parametrize("text, city", [("Қапалға жақын колледж бар ма", "Капал"), ("al Embada?", "Эмба"),
                                        ("Оралда", "Уральск"), ("в Шалкаре", "Шалкар")])
def test_short_place_names_are_found_with_their_case_endings(text: str, city: str) -> None:
    place = find_place(text)
    assert place is not None and place.city == city


@pytest.mark.parametrize("text, name", [
    ("Я живу в Жанакале, хочу переехать учиться в Уральск", "Уральск"),  # the place named last
    ("al atyrau jaqta, makatta she", "Макат"), ("Мақат, Атырау облысы", "Макат"),  # a town, not its region
    ("Ақтөбе облысында", "Актюбинская область"), ("Алматы облысы", "Алматинская область"),
    ("kakie kolledzhi est v uralske", "Уральск"), ("а в северном казахстане", "Северо-Казахстанская область"),
    ("mangystau oblysynda ne bar", "Мангистауская область"),  # Latin «ng» comes back as «ң», the name has «ңғ»
])
def test_the_place_meant_is_the_last_named_and_the_most_precise(text: str, name: str) -> None:
    place = find_place(text)
    assert place is not None and (place.city or place.region) == name
