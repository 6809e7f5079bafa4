"""Conversation state and follow-ups: the chat continues instead of starting from zero each message."""

from __future__ import annotations

import time

import pytest

from advisor.dialogue import EXPIRES_SECONDS, Conversation, conversation_language, read_follow_up
from advisor.evaluation import evaluate_conversations, load_conversation_cases
from conftest import ROOT

AFTER_SUGGESTIONS = Conversation(lang="ru", suggested=["cooking", "bakery", "hotel"], focus="cooking",
                                 topic="suggest", question="хочу быть поваром", updated=time.time())


@pytest.mark.parametrize("text, kind, speciality", [
    ("а в Шымкенте?", "place", "cooking"), ("Алматыда ше?", "place", "cooking"), ("а бесплатно?", "free", "cooking"),
    ("второй вариант", "option", "bakery"), ("екінші нұсқа", "option", "bakery"), ("ещё варианты", "more", "cooking"),
    ("а колледжи?", "colleges", "cooking"), ("сколько учиться?", "length", "cooking"),
    ("а после 11?", "grade", "cooking"), ("подробнее про третий", "details", "hotel"), ("рахмет", "thanks", ""),
    ("а там есть общага?", "dormitory", "cooking"),
])
def test_short_follow_ups_are_read_against_the_conversation(text: str, kind: str, speciality: str) -> None:
    follow = read_follow_up(text, AFTER_SUGGESTIONS)
    assert follow is not None and follow.kind == kind and follow.speciality == speciality


def test_a_follow_up_with_nothing_to_follow_asks_back_and_a_new_question_is_not_a_follow_up() -> None:
    assert read_follow_up("а там?", Conversation()).kind == "unclear"
    assert read_follow_up("хочу стать сварщиком после 9 класса в Астане", AFTER_SUGGESTIONS) is None


def test_a_short_message_keeps_the_conversation_language_unless_clearly_the_other() -> None:
    assert conversation_language("а в Шымкенте?", AFTER_SUGGESTIONS, detected="kk") == "ru"
    assert conversation_language("Шымкентте ше?", AFTER_SUGGESTIONS, detected="kk") == "kk"


def test_state_expires_after_a_day_and_survives_a_round_trip_through_storage() -> None:
    old = Conversation(lang="kk", focus="welding", updated=time.time() - EXPIRES_SECONDS - 1)
    assert old.expired() and not AFTER_SUGGESTIONS.expired()
    assert Conversation.from_json(AFTER_SUGGESTIONS.to_json()) == AFTER_SUGGESTIONS
    assert Conversation.from_json({"focus": "x", "unknown": 1, "grade": "not a grade"}).focus == "x"


def test_follow_ups_resolve_in_a_real_chat(real_advisor) -> None:
    answer, chat = real_advisor.converse("хочу быть поваром")
    assert answer.specialities and chat.focus == answer.specialities[0].id
    answer, chat = real_advisor.converse("а где в Шымкенте?", chat)
    assert answer.intent == "colleges" and "Шымкент" in answer.answer and "Организация питания" in answer.answer
    answer, chat = real_advisor.converse("рахмет", chat)
    assert answer.intent == "thanks" and not answer.specialities and answer.lang == "ru"


def test_the_free_tuition_hint_is_said_once_per_conversation(real_advisor) -> None:
    first, chat = real_advisor.converse("хочу стать сварщиком")
    second, chat = real_advisor.converse("хочу стать медсестрой", chat)
    hint = "Первая рабочая квалификация бесплатна"
    assert hint in first.answer and hint not in second.answer


def test_conversation_eval_passes_nine_in_ten_in_each_language(real_advisor) -> None:
    """Answer content over 248 questions and 49 dialogues written as teenagers write."""
    report = evaluate_conversations(real_advisor, load_conversation_cases(ROOT / "tests" / "eval" /
                                                                          "conversations.yaml"))
    assert report["groups"]["lang:ru"]["pass"] >= 0.90 and report["groups"]["lang:kk"]["pass"] >= 0.90
    assert report["groups"]["type:crisis"]["pass"] == 1.0 and report["groups"]["type:illegal"]["pass"] >= 0.9
