"""/quiz: an interest test, one question a message, ending in ranked specialities. State survives restarts."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from advisor.advisor import Advisor
from advisor.quiz import QUESTIONS, interest_weights
from bot.keyboards import QUIZ_ANSWERS, MenuAction, QuizAnswer, quiz_keyboard
from bot.monitoring import Metrics
from bot.rendering import send_answer
from bot.texts import t
from storage.base import Profile, UserStore

router = Router(name=__name__)


class Quiz(StatesGroup):
    answering = State()


async def _ask(message: Message, step: int, lang: str) -> None:
    question = QUESTIONS[step]
    text = t("quiz_question", lang, n=step + 1, total=len(QUESTIONS), text=question.kk if lang == "kk" else question.ru)
    await message.answer(text, reply_markup=quiz_keyboard(step, lang))


@router.message(Command("quiz"))
async def start_quiz(message: Message, state: FSMContext, lang: str) -> None:
    await state.set_state(Quiz.answering)
    await state.set_data({"answers": []})
    await message.answer(t("quiz_intro", lang, n=len(QUESTIONS)))
    await _ask(message, 0, lang)


@router.callback_query(MenuAction.filter(F.route == "quiz"))
async def start_quiz_button(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    await callback.answer()
    await start_quiz(callback.message, state, lang)


@router.callback_query(QuizAnswer.filter())
async def quiz_answer(callback: CallbackQuery, callback_data: QuizAnswer, state: FSMContext, advisor: Advisor,
                      store: UserStore, profile: Profile, metrics: Metrics, lang: str) -> None:
    answers: list[str] = (await state.get_data()).get("answers", [])
    if (await state.get_state() != Quiz.answering.state or callback_data.step != len(answers)
            or callback_data.answer not in QUIZ_ANSWERS or (callback_data.answer == "back" and not answers)):
        await callback.answer(t("stale", lang), show_alert=True)  # an old message's button, or forged
        return
    await callback.answer()
    if callback_data.answer == "back":
        answers = answers[:-1]
    else:
        answers = [*answers, callback_data.answer]
    await state.update_data(answers=answers)
    if len(answers) < len(QUESTIONS):
        await _ask(callback.message, len(answers), lang)
        return
    await state.clear()
    weights = interest_weights(answers)
    strongest = [i for i, w in sorted(weights.items(), key=lambda item: -item[1]) if w > 0][:3]
    store.update_profile(callback.from_user.id, interests=",".join(strongest))  # refines later suggestions
    answer = await asyncio.to_thread(advisor.suggest_for_interests, weights, lang, profile.grade)
    answer.question = "/quiz"
    names = ", ".join(s.name(lang) for s in answer.specialities[:3])
    answer.answer = t("quiz_result", lang, top=names) + answer.answer
    await send_answer(callback.message, answer, store, callback.from_user.id, lang, metrics)
