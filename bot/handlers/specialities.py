"""Buttons under a suggestion: details, colleges, free routes, more suggestions."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.types import CallbackQuery

from advisor.advisor import VAGUE_INTERESTS, Advisor
from bot.keyboards import SPEC_ACTIONS, InterestChoice, MoreAction, SpecAction
from bot.monitoring import Metrics
from bot.rendering import send_answer
from bot.texts import t
from storage.base import Profile, UserStore

router = Router(name=__name__)


@router.callback_query(SpecAction.filter())
async def speciality_button(callback: CallbackQuery, callback_data: SpecAction, advisor: Advisor, store: UserStore,
                            profile: Profile, metrics: Metrics, lang: str) -> None:
    answer = None
    if callback_data.action in SPEC_ACTIONS:
        answer = await asyncio.to_thread(advisor.about_speciality, callback_data.spec, callback_data.action, lang,
                                         profile.grade, profile.city or None)
    if answer is None:  # an id the knowledge base no longer has, or forged data
        await callback.answer(t("stale", lang), show_alert=True)
        return
    await callback.answer()
    await send_answer(callback.message, answer, store, callback.from_user.id, lang, metrics)


@router.callback_query(MoreAction.filter())
async def more_suggestions(callback: CallbackQuery, callback_data: MoreAction, advisor: Advisor, store: UserStore,
                           profile: Profile, metrics: Metrics, lang: str) -> None:
    logged = store.question(callback.from_user.id, callback_data.message_id)
    if not logged or not logged["question"]:  # someone else's answer, a deleted one, or forged data
        await callback.answer(t("stale", lang), show_alert=True)
        return
    shown = logged["details"].get("shown") or [s["id"] for s in logged["details"].get("specialities", [])]
    answer = await asyncio.to_thread(advisor.more_suggestions, logged["question"], shown, logged["lang"] or lang,
                                     profile.grade, profile.city or None)
    await callback.answer()
    answer.question = logged["question"]  # so the next «more» continues the same question
    await send_answer(callback.message, answer, store, callback.from_user.id, lang, metrics,
                      shown=[*shown, *(s.id for s in answer.specialities)])


@router.callback_query(InterestChoice.filter(F.interest.in_(VAGUE_INTERESTS)))
async def interest_button(callback: CallbackQuery, callback_data: InterestChoice, advisor: Advisor, store: UserStore,
                          profile: Profile, metrics: Metrics, lang: str) -> None:
    answer = await asyncio.to_thread(advisor.suggest_for_interests, {callback_data.interest: 1.0}, lang,
                                     profile.grade)
    await callback.answer()
    await send_answer(callback.message, answer, store, callback.from_user.id, lang, metrics)
