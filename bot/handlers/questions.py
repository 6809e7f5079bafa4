"""Free text: any question, at any moment, answered by the advisor."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from advisor.advisor import Advisor
from bot.keyboards import grade_keyboard
from bot.monitoring import Metrics
from bot.rendering import conversation_of, converse, send_answer
from bot.texts import t
from storage.base import Profile, UserStore

router = Router(name=__name__)


@router.message(F.text)
async def answer_question(message: Message, advisor: Advisor, store: UserStore, profile: Profile, metrics: Metrics,
                          state: FSMContext, lang: str) -> None:
    answer = await converse(advisor, conversation_of(state), message.text, profile)
    await send_answer(message, answer, store, message.from_user.id, lang, metrics)
    if answer.intent == "feedback":  # written as feedback: kept as a comment for the admins, as /feedback does
        store.add_comment(message.from_user.id, message.text)
    if answer.city and not profile.city:  # a city the user named: remembered for later answers (/profile)
        store.update_profile(message.from_user.id, city=answer.city)
    if answer.intent == "suggest" and profile.grade is None and answer.grade is None \
            and not store.asked_for_grade(message.from_user.id):
        # Asked lightly, once: a grade refines suggestions but is never required.
        await message.answer(t("ask_grade", answer.lang), reply_markup=grade_keyboard(answer.lang))
