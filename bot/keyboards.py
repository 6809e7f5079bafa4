"""Inline keyboards and their callback data (aiogram CallbackData: typed, validated, under 64 bytes)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from advisor.advisor import VAGUE_INTERESTS
from advisor.answer import Answer
from bot.texts import t
from knowledge.vocabulary import label


class MenuAction(CallbackData, prefix="m"):
    """A main-menu route."""

    route: str  # suggest, quiz, free, colleges, admission, lang


class SpecAction(CallbackData, prefix="s"):
    """A button under a suggested speciality."""

    action: str  # info, colleges, free
    spec: str


class MoreAction(CallbackData, prefix="more"):
    """More suggestions for the question of the answer the button sits under (its logged id)."""

    message_id: int


class Vote(CallbackData, prefix="v"):
    """👍 / 👎 on one answer (by the logged question id)."""

    message_id: int
    value: int


class InterestChoice(CallbackData, prefix="i"):
    """A quick interest under a vague message («не знаю куда поступать»)."""

    interest: str


class QuizAnswer(CallbackData, prefix="q"):
    """An answer to quiz question `step`, or `back`."""

    step: int
    answer: str  # yes, maybe, no, back


class GradeChoice(CallbackData, prefix="g"):
    grade: int


MENU_ROUTES = ("suggest", "quiz", "free", "colleges", "admission", "lang")
SPEC_ACTIONS = ("info", "colleges", "free")
QUIZ_ANSWERS = ("yes", "maybe", "no", "back")


def main_menu(lang: str) -> InlineKeyboardMarkup:
    """The buttons for the main routes."""
    builder = InlineKeyboardBuilder()
    for route in MENU_ROUTES:
        builder.button(text=t(f"btn_{route}", lang), callback_data=MenuAction(route=route))
    builder.adjust(2)
    return builder.as_markup()


def answer_keyboard(answer: Answer, message_id: int, lang: str) -> InlineKeyboardMarkup:
    """Buttons under an answer: details, colleges and free routes of the top speciality, more, and 👍/👎.

    Buttons that refer to the logged question are left out when it is not logged yet (id 0: the database is
    away), since they could not find it.
    """
    if answer.intent == "vague":
        return vague_keyboard(lang)
    builder = InlineKeyboardBuilder()
    rows: list[int] = []
    for suggestion in answer.specialities[:3]:
        builder.button(text=t("btn_details", lang, name=_short(suggestion.name(lang))),
                       callback_data=SpecAction(action="info", spec=suggestion.id))
        rows.append(1)
    if answer.specialities:
        top = answer.specialities[0].id
        builder.button(text=t("btn_spec_colleges", lang), callback_data=SpecAction(action="colleges", spec=top))
        builder.button(text=t("btn_spec_free", lang), callback_data=SpecAction(action="free", spec=top))
        rows.append(2)
        if answer.intent in ("suggest", "more") and len(answer.specialities) >= 3 and message_id:
            builder.button(text=t("btn_more", lang), callback_data=MoreAction(message_id=message_id))
            rows.append(1)
    if message_id:
        builder.button(text="👍", callback_data=Vote(message_id=message_id, value=1))
        builder.button(text="👎", callback_data=Vote(message_id=message_id, value=-1))
        rows.append(2)
    builder.adjust(*rows)
    return builder.as_markup()


def vague_keyboard(lang: str) -> InlineKeyboardMarkup:
    """The interest test and four quick interests, for someone who does not know where to start."""
    builder = InlineKeyboardBuilder()
    builder.button(text=t("btn_quiz", lang), callback_data=MenuAction(route="quiz"))
    for interest in VAGUE_INTERESTS:
        builder.button(text=label(interest, lang, interest=True).capitalize(),
                       callback_data=InterestChoice(interest=interest))
    builder.adjust(1, 2, 2)
    return builder.as_markup()


def quiz_keyboard(step: int, lang: str) -> InlineKeyboardMarkup:
    """Answer buttons of one quiz question, with a way back after the first."""
    builder = InlineKeyboardBuilder()
    for answer in ("yes", "maybe", "no"):
        builder.button(text=t(f"quiz_{answer}", lang), callback_data=QuizAnswer(step=step, answer=answer))
    if step > 0:
        builder.button(text=t("btn_back", lang), callback_data=QuizAnswer(step=step, answer="back"))
    builder.adjust(3, 1)
    return builder.as_markup()


def grade_keyboard(lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=t("btn_grade_9", lang), callback_data=GradeChoice(grade=9))
    builder.button(text=t("btn_grade_11", lang), callback_data=GradeChoice(grade=11))
    return builder.as_markup()


def _short(name: str, limit: int = 40) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
