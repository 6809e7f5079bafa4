"""Counsellor pages: ask a question or a whole dialogue and see the trace; answer a batch; flag a wrong answer."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from advisor.advisor import Advisor
from advisor.answer import Answer
from advisor.dialogue import Conversation
from advisor.render import spreadsheet_cell
from web.auth import requires
from web.pages import CONSOLE, account_of, back_to, lang_of, render, whole_number
from web.texts import t

routes = web.RouteTableDef()
MAX_TURNS = 30  # one dialogue a counsellor replays; a chat with the bot is rarely longer
GRADES = (9, 11)


@dataclass
class Turn:
    """One message of a replayed chat, the bot's answer, and how the answer was made."""

    message: str
    answer: Answer
    alternatives: list[tuple[str, float]]
    state: dict[str, Any]


def replay(advisor: Advisor, messages: list[str], grade: int | None) -> list[Turn]:
    """Hold the chat as the bot would, message by message, keeping the conversation between them."""
    turns, conversation = [], Conversation()
    for message in messages:
        answer, conversation = advisor.converse(message, conversation, grade=grade)
        ranked = advisor.predict(message).ranked if message.strip() else ()
        state = {k: v for k, v in conversation.to_json().items() if v not in ("", [], None, False, 0.0)}
        state.pop("updated", None)
        turns.append(Turn(message, answer, [(label, round(p, 3)) for label, p in ranked[1:4]], state))
    return turns


def lines_of(text: str) -> list[str]:
    """The non-empty lines of a text box or file."""
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


@routes.get("/ask")
@requires("counsellor")
async def ask_form(request: web.Request) -> web.Response:
    return render(request, "ask.html", turns=[], messages="", grade=None, warning="")


@routes.post("/ask")
@requires("counsellor")
async def ask(request: web.Request) -> web.Response:
    form = await request.post()
    text = str(form.get("messages", ""))
    messages, grade = lines_of(text), whole_number(form.get("grade"))
    grade = grade if grade in GRADES else None
    warning = t("too_many_lines", lang_of(request), limit=MAX_TURNS) if len(messages) > MAX_TURNS else ""
    if not messages:
        warning = t("empty_question", lang_of(request))
    turns = await asyncio.to_thread(replay, request.app[CONSOLE].advisor, messages[:MAX_TURNS], grade)
    return render(request, "ask.html", turns=turns, messages=text, grade=grade, warning=warning)


@routes.post("/flag")
@requires("counsellor")
async def flag(request: web.Request) -> web.Response:
    form, account = await request.post(), account_of(request)
    request.app[CONSOLE].store.add_flag(
        account.name, str(form.get("question", "")), str(form.get("answer", "")), str(form.get("lang", ""))[:5],
        str(form.get("intent", ""))[:40], str(form.get("comment", "")))
    raise back_to("/ask", "flagged")


@routes.get("/batch")
@requires("counsellor")
async def batch_form(request: web.Request) -> web.Response:
    return render(request, "batch.html", rows=[], questions="", warning="")


@routes.post("/batch")
@requires("counsellor")
async def batch(request: web.Request) -> web.Response:
    questions, warning = await _batch_questions(request)
    answers = await asyncio.to_thread(_answer_all, request.app[CONSOLE].advisor, questions)
    return render(request, "batch.html", rows=answers, questions="\n".join(questions), warning=warning)


@routes.post("/batch.csv")
@requires("counsellor")
async def batch_csv(request: web.Request) -> web.Response:
    questions, _ = await _batch_questions(request)
    answers = await asyncio.to_thread(_answer_all, request.app[CONSOLE].advisor, questions)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["question", "lang", "intent", "confidence", "answered", "specialities", "answer"])
    for a in answers:
        writer.writerow([spreadsheet_cell(v) for v in (
            a.question, a.lang, a.label or a.intent, "" if a.confidence is None else round(a.confidence, 3),
            int(a.answered), "; ".join(s.id for s in a.specialities), a.answer)])
    return web.Response(body=buffer.getvalue().encode("utf-8-sig"), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": 'attachment; filename="answers.csv"'})


async def _batch_questions(request: web.Request) -> tuple[list[str], str]:
    """The questions of the text box and the uploaded file, at most max_batch, with a warning when cut."""
    form, lang = await request.post(), lang_of(request)
    limit = request.app[CONSOLE].settings.max_batch
    questions = lines_of(str(form.get("questions", "")))
    upload = form.get("file")
    if isinstance(upload, web.FileField) and upload.filename:
        try:
            content = upload.file.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return [], t("bad_file", lang)
        if upload.filename.lower().endswith(".csv"):  # the first column; a header named «question» is skipped
            rows = [row[0].strip() for row in csv.reader(io.StringIO(content)) if row and row[0].strip()]
            questions += rows[1:] if rows and rows[0].lower() in ("question", "вопрос", "сұрақ") else rows
        else:
            questions += lines_of(content)
    warning = t("too_many_lines", lang, limit=limit) if len(questions) > limit else ""
    return questions[:limit], warning or ("" if questions else t("empty_question", lang))


def _answer_all(advisor: Advisor, questions: list[str]) -> list[Answer]:
    """Each question on its own, as a first message."""
    return [advisor.ask(question) for question in questions]
