"""/free, /colleges, /admission, /profile, /feedback, /forget, and the 👍/👎 and grade buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from advisor.advisor import Advisor
from advisor.places import find_place
from bot.keyboards import GradeChoice, MenuAction, Vote
from bot.monitoring import Metrics
from bot.rendering import ask_advisor, conversation_of, send_answer
from bot.texts import t
from knowledge.vocabulary import label
from storage.base import Profile, UserStore

router = Router(name=__name__)

# What each command asks the advisor, in the user's language.
COMMAND_QUESTIONS = {
    "free": {"ru": "как учиться бесплатно: грант, квоты, стипендия", "kk": "тегін оқу: грант, квота, шәкіртақы"},
    "admission": {"ru": "какие документы нужны и сроки приёма", "kk": "қандай құжаттар керек және қабылдау мерзімі"},
}


@router.message(Command("free", "admission"))
async def topic_command(message: Message, command: CommandObject, advisor: Advisor, store: UserStore,
                        profile: Profile, metrics: Metrics, lang: str) -> None:
    question = COMMAND_QUESTIONS[command.command][lang]
    answer = await ask_advisor(advisor, f"{question} {command.args or ''}".strip(), profile)
    await send_answer(message, answer, store, message.from_user.id, lang, metrics)


@router.callback_query(MenuAction.filter(F.route.in_({"free", "admission"})))
async def topic_button(callback: CallbackQuery, callback_data: MenuAction, advisor: Advisor, store: UserStore,
                       profile: Profile, metrics: Metrics, lang: str) -> None:
    await callback.answer()
    answer = await ask_advisor(advisor, COMMAND_QUESTIONS[callback_data.route][lang], profile)
    await send_answer(callback.message, answer, store, callback.from_user.id, lang, metrics)


@router.message(Command("colleges"))
async def colleges(message: Message, command: CommandObject, advisor: Advisor, store: UserStore, profile: Profile,
                   metrics: Metrics, lang: str) -> None:
    place = command.args or profile.city
    if not place:
        await message.answer(t("colleges_prompt", lang))
        return
    answer = await ask_advisor(advisor, f"колледжи {place}", profile)
    await send_answer(message, answer, store, message.from_user.id, lang, metrics)


@router.message(Command("profile"))
async def profile_command(message: Message, command: CommandObject, store: UserStore, profile: Profile,
                          lang: str) -> None:
    args = (command.args or "").strip()
    if args in ("9", "11"):
        profile = store.update_profile(message.from_user.id, grade=int(args))
    elif args and (place := find_place(args)):
        profile = store.update_profile(message.from_user.id, city=place.city or place.region)
    interests = ", ".join(label(i, lang, interest=True) for i in profile.interests.split(",") if i)
    await message.answer(t("profile", lang, grade=profile.grade or t("unset", lang),
                           city=profile.city or t("unset", lang), interests=interests or t("unset", lang)))


@router.callback_query(GradeChoice.filter(F.grade.in_({9, 11})))
async def grade_button(callback: CallbackQuery, callback_data: GradeChoice, store: UserStore, lang: str) -> None:
    store.update_profile(callback.from_user.id, grade=callback_data.grade)
    await callback.answer(t("profile_saved", lang))


@router.callback_query(Vote.filter(F.value.in_({1, -1})))
async def vote(callback: CallbackQuery, callback_data: Vote, store: UserStore, lang: str) -> None:
    saved = store.add_feedback(callback.from_user.id, callback_data.message_id, callback_data.value)
    await callback.answer(t("thanks" if saved else "stale", lang))


@router.message(Command("feedback"))
async def feedback(message: Message, command: CommandObject, store: UserStore, lang: str) -> None:
    if not command.args:
        await message.answer(t("feedback_prompt", lang))
        return
    store.add_comment(message.from_user.id, command.args)
    await message.answer(t("feedback_saved", lang))


@router.message(Command("forget"))
async def forget(message: Message, store: UserStore, state: FSMContext, lang: str) -> None:
    await state.clear()
    await conversation_of(state).clear()
    store.forget(message.from_user.id)
    await message.answer(t("forgotten", lang))
