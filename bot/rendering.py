"""Turning advisor answers into Telegram messages: escaped HTML, split under the 4096-character limit."""

from __future__ import annotations

import asyncio
import html
from dataclasses import replace

from aiogram.fsm.context import FSMContext
from aiogram.types import MaybeInaccessibleMessageUnion, Message

from advisor.advisor import Advisor
from advisor.answer import Answer
from advisor.dialogue import Conversation
from bot.keyboards import answer_keyboard
from bot.monitoring import Metrics
from storage.base import Profile, UserStore

TELEGRAM_LIMIT = 4096
CONVERSATION = "conversation"  # the FSM destiny the conversation memory is kept under


def to_html(answer: Answer) -> str:
    """The answer as Telegram HTML: everything escaped, the sources line in italics."""
    text = html.escape(answer.answer)
    head, sep, sources = text.rpartition("\n\n")
    if sep and sources.startswith(("Источники", "Дереккөздер")):
        return f"{head}\n\n<i>{sources}</i>"
    return text


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible and never inside a tag."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single huge line: cut it hard
            pieces.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return _close_tags(pieces)


def _close_tags(pieces: list[str]) -> list[str]:
    """Keep <i>…</i> balanced in every piece, reopening it in the next one."""
    fixed, carry = [], False
    for piece in pieces:
        piece = ("<i>" if carry else "") + piece
        carry = piece.count("<i>") > piece.count("</i>")
        fixed.append(piece + ("</i>" if carry else ""))
    return fixed


def conversation_of(state: FSMContext) -> FSMContext:
    """The chat's conversation memory: kept by the same FSM storage as the quiz (SQLite or Redis), apart from it."""
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=CONVERSATION))


async def converse(advisor: Advisor, memory: FSMContext, text: str, profile: Profile | None) -> Answer:
    """Answer in the chat's conversation (persisted, so a follow-up survives a restart or reaches another worker)."""
    conversation = Conversation.from_json(await memory.get_data())
    grade, city, interests = _profile_hints(profile)
    answer, conversation = await asyncio.to_thread(advisor.converse, text, conversation, grade, city, interests)
    if answer.intent != "crisis":  # nothing of a crisis message is kept
        await memory.set_data(conversation.to_json())
    return answer


async def ask_advisor(advisor: Advisor, text: str, profile: Profile | None, top_k: int | None = None) -> Answer:
    """Ask in a worker thread so the bot keeps serving others; the profile fills in grade and city."""
    grade, city, interests = _profile_hints(profile)
    return await asyncio.to_thread(advisor.ask, text, None, grade, city, top_k, interests)


def _profile_hints(profile: Profile | None) -> tuple[int | None, str | None, tuple[str, ...]]:
    """Grade, city and quiz interests a profile gives the advisor; None and () where it gives none."""
    if profile is None:
        return None, None, ()
    return profile.grade, profile.city or None, tuple(i for i in profile.interests.split(",") if i)


async def send_answer(message: Message | MaybeInaccessibleMessageUnion, answer: Answer, store: UserStore, user_id: int,
                      lang: str, metrics: Metrics, shown: list[str] | None = None) -> int:
    """Log and count the question, then send the answer with its buttons under the last piece."""
    metrics.questions.labels("yes" if answer.answered else "no").inc()
    # What a teenager in crisis wrote is not kept: the intent is enough for the statistics.
    question = "" if answer.intent == "crisis" else answer.question or ""
    logged = store.log_question(user_id, question, answer.lang, answer.intent, answer.answered, {
        "lang": answer.lang, "intent": answer.intent, "label": answer.label, "confidence": answer.confidence,
        "grade": answer.grade, "city": answer.city,
        "specialities": [{"id": s.id, "score": s.score, "why": s.why} for s in answer.specialities],
        "sources": [{"id": s.id, "kind": s.kind, "score": s.score} for s in answer.sources],
        "shown": shown if shown is not None else [s.id for s in answer.specialities]})
    pieces = split_message(to_html(answer))
    for piece in pieces[:-1]:
        await message.answer(piece)
    keyboard = None if answer.intent == "crisis" else answer_keyboard(answer, logged, answer.lang or lang)
    await message.answer(pieces[-1], reply_markup=keyboard)
    return logged
