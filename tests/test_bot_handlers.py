"""Handlers with aiogram's mocked-session pattern: updates fed to the real Dispatcher, requests recorded."""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import time
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, Chat, Message, PhotoSize, Update, User
from sqlite_utils import Database

from advisor.advisor import Advisor
from app.config import load_settings
from bot.app import build_dispatcher
from bot.monitoring import Metrics
from bot.rendering import split_message, to_html
from bot.texts import build_i18n
from conftest import FakeEmbeddings, write_knowledge
from embeddings.documents import build_documents
from embeddings.index import reindex
from embeddings.retriever import HybridRetriever
from knowledge.loader import load_knowledge
from storage.fsm import SqliteStorage
from storage.limits import LocalRateLimiter
from storage.sqlite import Store

COUNSELLOR, ADMIN, USER = 7, 8, 9
_ids = itertools.count(1)


class RecordingSession(BaseSession):
    """Answers every Bot API call locally and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.requests.append(method)
        name = type(method).__name__
        if name in ("SendMessage", "EditMessageText", "SendDocument"):
            return Message(message_id=next(_ids), date=datetime.datetime.now(),
                           chat=Chat(id=getattr(method, "chat_id", 0) or 0, type="private"),
                           text=getattr(method, "text", None))
        return True

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any):  # pragma: no cover - never downloads
        yield b""

    def texts(self) -> list[str]:
        return [str(getattr(r, "text", "") or "") for r in self.requests]


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory, intent_model):
    """One Dispatcher per test module: aiogram attaches each router to one parent only."""
    folder = write_knowledge(tmp_path_factory.mktemp("kb"))
    kb = load_knowledge(folder)
    index, _ = reindex(tmp_path_factory.mktemp("index"), build_documents(kb), FakeEmbeddings())
    advisor = Advisor(kb, HybridRetriever(build_documents(kb), index), intent_model)
    settings = load_settings(access={"admins": [ADMIN], "counsellors": [COUNSELLOR]},
                             throttle={"messages": 3, "per_seconds": 60})
    store = Store(Database(memory=True))
    i18n = build_i18n(tmp_path_factory.mktemp("locales"))
    dispatcher = build_dispatcher(advisor=advisor, store=store, fsm_storage=SqliteStorage(store),
                                  limiter=LocalRateLimiter(settings.throttle.messages, settings.throttle.per_seconds),
                                  i18n=i18n, access=settings.access, reloader=lambda progress: "reloaded",
                                  metrics=Metrics())
    return dispatcher, advisor, store


@pytest.fixture
def bot() -> Bot:
    return Bot("42:TEST", session=RecordingSession())


def message_update(user_id: int, text: str, language_code: str = "ru") -> Update:
    user = User(id=user_id, is_bot=False, first_name="U", language_code=language_code)
    return Update(update_id=next(_ids), message=Message(message_id=next(_ids), date=datetime.datetime.now(),
                                                        chat=Chat(id=user_id, type="private"), from_user=user,
                                                        text=text))


def callback_update(user_id: int, data: str) -> Update:
    user = User(id=user_id, is_bot=False, first_name="U", language_code="ru")
    message = Message(message_id=next(_ids), date=datetime.datetime.now(), chat=Chat(id=user_id, type="private"),
                      text="…")
    return Update(update_id=next(_ids), callback_query=CallbackQuery(id=str(next(_ids)), from_user=user,
                                                                     chat_instance="c", message=message, data=data))


async def test_throttling_says_once_that_the_extra_messages_were_not_taken(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    for _ in range(5):
        await dispatcher.feed_update(bot, message_update(101, "хочу стать сварщиком"))
    texts = bot.session.texts()
    assert sum("Сварочное дело" in text for text in texts) == 3
    notices = [text for text in texts if "Слишком много сообщений" in text]
    assert len(notices) == 1 and "не принял" in notices[0] and "и я отвечу" not in notices[0]


async def test_a_throttled_button_press_is_still_answered(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    for _ in range(3):
        await dispatcher.feed_update(bot, message_update(130, "хочу стать сварщиком"))
    await dispatcher.feed_update(bot, callback_update(130, "s:info:welding"))
    answer = bot.session.requests[-1]
    assert type(answer).__name__ == "AnswerCallbackQuery" and "Слишком много" in answer.text


def test_throttle_forgets_users_after_their_period() -> None:
    from bot.middlewares import ThrottlingMiddleware

    limiter = LocalRateLimiter(limit=3, period=0.05)
    throttle = ThrottlingMiddleware(limiter)
    event = message_update(1, "x").message

    async def handler(event, data):
        return "ok"

    async def burst() -> None:
        for user_id in range(2000):
            data = {"event_from_user": User(id=user_id, is_bot=False, first_name="U")}
            await throttle(handler, event, data)

    import asyncio
    asyncio.run(burst())
    assert len(limiter) > 0
    time.sleep(0.1)
    assert len(limiter) == 0


async def test_profile_grade_refines_answers(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(102, "/profile 11"))
    assert "класс: 11" in bot.session.texts()[-1]
    await dispatcher.feed_update(bot, message_update(102, "хочу стать сварщиком"))
    assert store.last_question(102)["details"]["grade"] == 11


async def test_why_is_for_counsellors_only(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    await dispatcher.feed_update(bot, message_update(COUNSELLOR, "мейірбике болғым келеді"))
    await dispatcher.feed_update(bot, message_update(COUNSELLOR, "/why"))
    why = bot.session.texts()[-1]
    assert "lang: kk, intent: suggest" in why and "nursing" in why and "sources:" in why
    await dispatcher.feed_update(bot, message_update(USER, "/why"))
    assert "только консультантам" in bot.session.texts()[-1]


async def test_unanswered_questions_come_as_csv_for_admins(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    await dispatcher.feed_update(bot, message_update(103, "какая погода завтра"))
    await dispatcher.feed_update(bot, message_update(103, '=HYPERLINK("http://evil","погода")'))
    await dispatcher.feed_update(bot, message_update(ADMIN, "/unanswered"))
    document = bot.session.requests[-1]
    assert type(document).__name__ == "SendDocument"
    rows = list(csv.DictReader(io.StringIO(document.document.data.decode("utf-8"))))
    questions = [row["question"] for row in rows]
    assert "какая погода завтра" in questions
    # A spreadsheet would run a cell starting with "=" as a formula; the CSV keeps it as text.
    assert not any(q.startswith(("=", "+", "-", "@")) for q in questions)
    assert "'=HYPERLINK(\"http://evil\",\"погода\")" in questions
    await dispatcher.feed_update(bot, message_update(USER, "/unanswered"))
    assert "только администраторам" in bot.session.texts()[-1]


async def test_errors_get_an_apology_and_the_bot_keeps_going(wired, bot: Bot, monkeypatch) -> None:
    dispatcher, advisor, _ = wired

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(advisor, "ask", broken)
    await dispatcher.feed_update(bot, message_update(104, "хочу стать сварщиком"))
    assert "что-то пошло не так" in bot.session.texts()[-1]
    monkeypatch.undo()
    await dispatcher.feed_update(bot, message_update(104, "хочу стать сварщиком"))
    assert any("Сварочное дело" in text for text in bot.session.texts()[-2:])


async def test_admin_command_in_a_photo_caption_is_refused_politely(wired, bot: Bot, caplog) -> None:
    dispatcher, _, _ = wired
    photo = message_update(USER, "x").message.model_copy(update={
        "text": None, "caption": "/reload", "photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]})
    with caplog.at_level("WARNING"):
        await dispatcher.feed_update(bot, Update(update_id=next(_ids), message=photo))
    assert "только администраторам" in bot.session.texts()[-1]
    assert "refused /reload for user" in caplog.text and "Traceback" not in caplog.text


async def test_a_vote_id_beyond_sqlite_integers_is_stale_not_a_crash(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    await dispatcher.feed_update(bot, callback_update(131, f"v:{2 ** 70}:1"))
    answer = bot.session.requests[-1]
    assert type(answer).__name__ == "AnswerCallbackQuery" and "устарела" in answer.text


async def test_a_button_press_without_its_message_gets_an_answer(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    user = User(id=132, is_bot=False, first_name="U", language_code="ru")
    press = CallbackQuery(id="x", from_user=user, chat_instance="c", inline_message_id="inline-1", data="m:free")
    await dispatcher.feed_update(bot, Update(update_id=next(_ids), callback_query=press))
    answer = bot.session.requests[-1]
    assert type(answer).__name__ == "AnswerCallbackQuery" and "устарела" in answer.text


async def test_vote_for_someone_elses_answer_is_refused(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(105, "хочу стать сварщиком"))
    own = store.last_question(105)["id"]
    await dispatcher.feed_update(bot, callback_update(106, f"v:{own}:1"))
    assert "устарела" in bot.session.requests[-1].text
    await dispatcher.feed_update(bot, callback_update(105, f"v:{own}:1"))
    assert "Спасибо" in bot.session.requests[-1].text


async def test_forget_deletes_the_user(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(107, "/profile 9"))
    await dispatcher.feed_update(bot, message_update(107, "хочу стать сварщиком"))
    await dispatcher.feed_update(bot, message_update(107, "/forget"))
    assert store.profile(107).grade is None and store.last_question(107) is None
    assert store.db["users"].count_where("user_id = ?", [107]) == 0


async def test_feedback_written_as_a_message_is_kept_for_the_admins(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(109, "бот ты ерунду отвечаешь, добавьте колледжи Тараза"))
    assert "Спасибо за отзыв" in bot.session.texts()[-1]
    assert store.db["feedback"].count_where("user_id = ? and comment like '%Тараза%'", [109]) == 1


def test_html_is_escaped_and_long_answers_split_under_the_limit() -> None:
    from advisor.answer import Answer

    answer = Answer(question="q", lang="ru", intent="suggest",
                    answer=("<script>alert(1)</script> & текст\n" * 400) + "\n\nИсточники:\n· x")
    html_text = to_html(answer)
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text and "<i>Источники" in html_text
    pieces = split_message(html_text)
    assert len(pieces) > 1 and all(len(p) <= 4096 for p in pieces)
    assert "".join(pieces).count("<i>") == "".join(pieces).count("</i>")
    assert split_message("x" * 10_000)[0] == "x" * 4096


async def test_city_named_in_a_question_is_remembered_in_the_profile(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(108, "где учат на медсестру в Караганде"))
    assert store.profile(108).city == "Караганда"
    await dispatcher.feed_update(bot, message_update(108, "/profile"))
    assert "город: Караганда" in bot.session.texts()[-1]


@pytest.mark.parametrize("user, command, expected", [
    (120, "/free", "бесплатно"), (121, "/admission", "075-У"),
    (122, "/colleges Караганда", "Карагандинский медицинский колледж"), (123, "/colleges", "В каком городе"),
    (124, "/help", "/quiz"), (125, "/start", "Подобрать специальность"),
])
async def test_commands_answer_from_the_knowledge_base(wired, bot: Bot, user: int, command: str,
                                                       expected: str) -> None:
    dispatcher, _, _ = wired
    await dispatcher.feed_update(bot, message_update(user, command))
    sent = bot.session.requests[-1]
    markup = getattr(sent, "reply_markup", None)
    buttons = " ".join(b.text for row in markup.inline_keyboard for b in row) if markup else ""
    assert expected.lower() in (sent.text + buttons).lower()


async def test_more_button_continues_the_answer_it_sits_under_not_the_latest_question(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    first = "хочу стать сварщиком или медсестрой или программистом"
    await dispatcher.feed_update(bot, message_update(111, first))
    under = store.last_question(111)
    await dispatcher.feed_update(bot, message_update(111, "какие документы нужны"))  # a newer question
    await dispatcher.feed_update(bot, callback_update(111, f"more:{under['id']}"))
    more = store.last_question(111)
    assert more["question"] == first  # it continued the answer under which the button was pressed
    new_ids = {s["id"] for s in more["details"]["specialities"]}
    assert not new_ids & {s["id"] for s in under["details"]["specialities"]}  # only options not shown yet
    await dispatcher.feed_update(bot, callback_update(112, f"more:{under['id']}"))  # another user's answer
    assert "устарела" in bot.session.requests[-1].text
    await dispatcher.feed_update(bot, callback_update(114, f"more:{2 ** 70}"))
    assert "устарела" in bot.session.requests[-1].text


async def test_a_follow_up_continues_the_conversation_and_start_begins_anew(wired, bot: Bot) -> None:
    dispatcher, _, store = wired
    await dispatcher.feed_update(bot, message_update(113, "хочу стать медсестрой"))
    await dispatcher.feed_update(bot, message_update(113, "а в Караганде?"))
    assert "Карагандинский медицинский колледж" in bot.session.texts()[-1]
    memory = StorageKey(bot.id, 113, 113, destiny="conversation")
    assert (await dispatcher.storage.get_data(memory))["focus"] == "nursing"
    await dispatcher.feed_update(bot, message_update(113, "/start"))
    assert await dispatcher.storage.get_data(memory) == {}
    other = StorageKey(bot.id, 116, 116, destiny="conversation")  # a fresh user: 113 is near the throttle
    await dispatcher.feed_update(bot, message_update(116, "хочу стать медсестрой"))
    assert await dispatcher.storage.get_data(other) != {}
    await dispatcher.feed_update(bot, message_update(116, "/forget"))
    assert await dispatcher.storage.get_data(other) == {}


async def test_a_vague_message_gets_the_quiz_and_quick_interests_not_a_random_list(wired, bot: Bot) -> None:
    dispatcher, _, _ = wired
    await dispatcher.feed_update(bot, message_update(115, "не знаю куда поступать"))
    sent = bot.session.requests[-1]
    data = [b.callback_data for row in sent.reply_markup.inline_keyboard for b in row]
    assert "m:quiz" in data and "i:computers" in data and not any(d.startswith("s:") for d in data)
    await dispatcher.feed_update(bot, callback_update(115, "i:computers"))
    assert "Программное обеспечение" in bot.session.texts()[-1]
    await dispatcher.feed_update(bot, callback_update(116, "i:hacking"))  # forged
    assert "устарела" in bot.session.requests[-1].text
