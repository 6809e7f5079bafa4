"""The bot's stores: what SQLite and PostgreSQL do alike (profiles, the log, feedback, /forget, stats); then SQLite's
own privacy, migrations and aiogram FSM storage."""

from __future__ import annotations

import inspect
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlite_utils import Database

from storage.base import Profile, UserStore
from storage.fsm import SqliteStorage
from storage.postgres import PostgresStore
from storage.sqlite import KNOWN_MIGRATIONS, NewerDatabaseError, Store

SECRET = "Тайный вопрос про колледж в Жезказгане 7Q3X"

# The schema exactly as version 1 (before sqlite-utils migrations) created it, with meta.schema_version '1'.
VERSION_1_SCHEMA = """
CREATE TABLE "users" ("user_id" INTEGER PRIMARY KEY, "lang" TEXT, "grade" INTEGER, "city" TEXT,
   "interests" TEXT, "grade_asked" INTEGER, "created" TEXT);
CREATE TABLE "messages" ("id" INTEGER PRIMARY KEY, "user_id" INTEGER, "day" TEXT, "question" TEXT, "lang" TEXT,
   "intent" TEXT, "answered" INTEGER, "details" TEXT, "at" REAL);
CREATE TABLE "feedback" ("id" INTEGER PRIMARY KEY, "user_id" INTEGER, "message_id" INTEGER, "vote" INTEGER,
   "comment" TEXT, "at" REAL);
CREATE TABLE "fsm" ("key" TEXT PRIMARY KEY, "state" TEXT, "data" TEXT);
CREATE TABLE "meta" ("key" TEXT PRIMARY KEY, "value" TEXT);
CREATE INDEX "idx_messages_user_id" ON "messages" ("user_id");
CREATE INDEX "idx_messages_day" ON "messages" ("day");
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO users VALUES (1, 'kk', 9, 'Астана', 'it,medicine', 1, '2025-09-01');
INSERT INTO users VALUES (2, 'ru', NULL, '', '', 0, '2025-09-02');
INSERT INTO messages VALUES (10, 1, '2025-09-01', 'хочу стать программистом', 'ru', 'suggest', 1,
   '{"specialities": ["software"]}', 1756684800.0);
INSERT INTO messages VALUES (11, 2, '2025-09-02', 'где учат на пилота', 'ru', 'suggest', 0, '{}', 1756771200.0);
INSERT INTO feedback VALUES (1, 1, 10, 1, 'спасибо', 1756684900.0);
INSERT INTO fsm VALUES ('42:1:1:default', 'Quiz:answering', '{"answers": ["yes", "no"]}');
INSERT INTO fsm VALUES ('42:-100500:2:default', 'Quiz:answering', '{"answers": ["maybe"]}');
INSERT INTO fsm VALUES ('not a version 1 key', 'Quiz:answering', '{}');
"""


def version_1_database(path: Path) -> Path:
    """A database file as version 1 of the bot left it, with two users' data."""
    conn = sqlite3.connect(path)
    conn.executescript(VERSION_1_SCHEMA)
    conn.close()
    return path


def memory_store() -> Store:
    return Store(Database(memory=True))


def raw_bytes(path: Path) -> bytes:
    """The database file and its WAL, as anyone who copies them would read them."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def without_secure_delete(path: Path) -> Database:
    """A WAL database whose connection starts with secure_delete off, as SQLite builds without it give."""
    db = Database(path)
    db.execute("PRAGMA secure_delete=OFF")
    db.enable_wal()
    return db


# --- privacy: /forget, secure_delete, close ------------------------------------------------------------
@pytest.mark.parametrize("opener", [Store.open, lambda path: Store(without_secure_delete(path))],
                         ids=["store-open", "sqlite-built-without-secure-delete"])
def test_forget_leaves_no_trace_of_the_question_in_the_files(tmp_path: Path, opener) -> None:
    path = tmp_path / "bot.sqlite3"
    store = opener(path)
    store.update_profile(5, city="Сатпаев", lang="ru")
    store.log_question(5, SECRET, "ru", "suggest", True, {"specialities": ["software"]})
    store.log_question(6, "другой пользователь спрашивает про сварку", "ru", "suggest", True, {})
    assert SECRET.encode() in raw_bytes(path)  # the test can see the text when it is there
    store.forget(5)
    assert SECRET.encode() not in raw_bytes(path)
    assert "Сатпаев".encode() not in raw_bytes(path)
    assert store.last_question(6)["question"] == "другой пользователь спрашивает про сварку"
    store.close()


@pytest.mark.parametrize("opener", [Store.open, lambda path: Store(without_secure_delete(path))],
                         ids=["store-open", "sqlite-built-without-secure-delete"])
def test_every_store_connection_overwrites_deleted_data(tmp_path: Path, opener) -> None:
    store = opener(tmp_path / "bot.sqlite3")
    assert store.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert memory_store().db.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_close_writes_everything_into_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = Store.open(path)
    store.log_question(5, "хочу стать поваром", "ru", "suggest", True, {})
    store.close()
    store.close()  # closing again (aiogram's shutdown, then the bot's) is harmless
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert Store.open(path).last_question(5)["question"] == "хочу стать поваром"


async def test_dispatcher_shutdown_closes_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "bot.sqlite3")
    await SqliteStorage(store).close()
    with pytest.raises(sqlite3.ProgrammingError):
        store.profile(1)


# --- what every UserStore does alike (SQLite and PostgreSQL) --------------------------------------------
def insert_user(store: UserStore, user_id: int, lang: str, created: str) -> None:
    """Write a users row directly, as an older run of the bot left it."""
    if isinstance(store, Store):
        store.db["users"].insert({"user_id": user_id, "lang": lang, "created": created})
        return
    with store.pool.connection() as conn:
        conn.execute("insert into users (user_id, lang, created) values (%s, %s, %s)", [user_id, lang, created])


def created_day(store: UserStore, user_id: int) -> str:
    """The day the store says the user was first seen, as YYYY-MM-DD."""
    if isinstance(store, Store):
        return store.db["users"].get(user_id)["created"]
    with store.pool.connection() as conn:
        return conn.execute("select to_char(created, 'YYYY-MM-DD') as day from users where user_id = %s",
                            [user_id]).fetchone()["day"]


def backdate_question(store: UserStore, message_id: int, day: str) -> None:
    """Move a logged question to another day of the log."""
    if isinstance(store, Store):
        store.db["messages"].update(message_id, {"day": day})
        return
    with store.pool.connection() as conn:
        conn.execute("update messages set day = %s where id = %s", [day, message_id])


def utc_today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_both_backends_are_user_stores_with_the_protocols_signatures() -> None:
    for backend in (Store, PostgresStore):
        for name in ("profile", "update_profile", "asked_for_grade", "log_question", "last_question",
                     "add_feedback", "add_comment", "question", "forget", "stats", "unanswered", "close"):
            assert inspect.signature(getattr(backend, name)) == inspect.signature(getattr(UserStore, name)), name


def test_each_backend_is_a_user_store(user_store: UserStore) -> None:
    assert isinstance(user_store, UserStore)


def test_user_creation_day_is_kept_when_the_user_comes_back(user_store: UserStore) -> None:
    insert_user(user_store, 1, "ru", "2025-09-01")  # joined last autumn
    user_store.update_profile(1, grade=9)
    user_store.asked_for_grade(1)
    user_store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert created_day(user_store, 1) == "2025-09-01"
    assert user_store.profile(1).grade == 9 and user_store.profile(1).lang == "ru"


def test_a_new_user_gets_a_creation_day(user_store: UserStore) -> None:
    before = utc_today()
    user_store.log_question(3, "хочу стать поваром", "ru", "suggest", True, {})
    user_store.update_profile(4, city="Астана")
    assert created_day(user_store, 3) in (before, utc_today()) and created_day(user_store, 4) in (before, utc_today())


def test_a_profile_keeps_only_the_fields_it_knows(user_store: UserStore) -> None:
    assert user_store.profile(1) == Profile()
    assert user_store.update_profile(1, lang="kk", favourite_colour="red") == Profile(lang="kk")
    assert user_store.update_profile(1) == Profile(lang="kk")  # nothing to set: the profile as it is
    assert user_store.update_profile(1, grade=11, city="Шымкент", interests="it,medicine") == Profile(
        "kk", 11, "Шымкент", "it,medicine")
    assert user_store.update_profile(1, grade=None, city=None) == Profile(lang="kk", interests="it,medicine")
    assert user_store.profile(1) == Profile(lang="kk", interests="it,medicine")
    assert user_store.profile(2) == Profile()


def test_the_grade_is_asked_once_per_user(user_store: UserStore) -> None:
    user_store.update_profile(1, lang="ru")
    assert [user_store.asked_for_grade(1), user_store.asked_for_grade(1), user_store.asked_for_grade(2)] == [
        False, True, False]
    assert user_store.profile(1) == Profile(lang="ru") and user_store.asked_for_grade(2) is True


def test_a_logged_question_reads_back_the_same(user_store: UserStore) -> None:
    details = {"specialities": ["welding", "software"], "reason": "сварка", "score": 0.5, "city": None}
    first = user_store.log_question(1, "хочу стать сварщиком " + "я" * 600, "ru", "suggest", True, details)
    second = user_store.log_question(1, "а в Шымкенте?", "ru", "colleges", False, {})
    assert second > first
    row = user_store.question(1, first)
    assert list(row) == ["id", "user_id", "day", "question", "lang", "intent", "answered", "details", "at"]
    assert row["question"] == ("хочу стать сварщиком " + "я" * 600)[:500]
    assert (row["id"], row["user_id"], row["day"], row["lang"], row["intent"]) == (first, 1, utc_today(), "ru",
                                                                                  "suggest")
    assert row["answered"] == 1 and type(row["answered"]) is int and isinstance(row["at"], float)
    assert row["details"] == details and list(row["details"]) == list(details)  # key order kept
    assert user_store.last_question(1)["question"] == "а в Шымкенте?" and user_store.last_question(1)["answered"] == 0
    assert user_store.last_question(2) is None


@pytest.mark.parametrize("message_id", [2 ** 63, -(2 ** 63) - 1, 10 ** 30])
def test_a_vote_for_an_impossible_answer_id_is_not_stored(user_store: UserStore, message_id: int) -> None:
    user_store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert user_store.add_feedback(1, message_id, 1) is False
    assert user_store.question(1, message_id) is None
    assert user_store.stats()["feedback"] == {"up": 0, "down": 0, "comments": 0}


def test_a_vote_is_stored_for_the_users_own_answer_only(user_store: UserStore) -> None:
    mine = user_store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert user_store.add_feedback(1, mine, 1) is True and user_store.add_feedback(2, mine, -1) is False
    assert user_store.add_feedback(1, mine + 1, -1) is False
    assert user_store.stats()["feedback"]["up"] == 1 and user_store.stats()["feedback"]["down"] == 0
    assert user_store.question(2, mine) is None and user_store.question(1, mine)["id"] == mine


def test_a_comment_goes_with_the_latest_vote_or_stands_alone(user_store: UserStore) -> None:
    user_store.add_comment(1, "без голоса")  # no vote yet: a comment of its own
    answer = user_store.log_question(1, "хочу стать поваром", "ru", "suggest", True, {})
    user_store.add_feedback(1, answer, -1)
    user_store.add_comment(1, "не то " + "!" * 600)  # attached to the 👎
    user_store.add_comment(1, "и ещё")  # that vote has a comment already: a new one
    assert user_store.stats()["feedback"] == {"up": 0, "down": 1, "comments": 3}
    user_store.add_feedback(1, answer, 1)
    user_store.add_comment(1, "передумал")
    assert user_store.stats()["feedback"] == {"up": 1, "down": 1, "comments": 4}


def test_forget_removes_the_user_and_nobody_else(user_store: UserStore) -> None:
    for user in (5, 6):
        user_store.update_profile(user, lang="ru", city="Сатпаев", grade=9)
        user_store.asked_for_grade(user)
        answer = user_store.log_question(user, SECRET, "ru", "suggest", True, {"specialities": ["software"]})
        user_store.log_question(user, "где учат на пилота", "ru", "suggest", False, {})
        user_store.add_feedback(user, answer, 1)
        user_store.add_comment(user, "спасибо")
        user_store.add_comment(user, "ещё комментарий")
    user_store.forget(5)
    assert user_store.profile(5) == Profile() and user_store.last_question(5) is None
    assert user_store.question(5, 1) is None and user_store.asked_for_grade(5) is False
    assert user_store.profile(6) == Profile("ru", 9, "Сатпаев") and user_store.last_question(6)["user_id"] == 6
    stats = user_store.stats()
    assert (stats["users"], stats["questions"], stats["feedback"]) == (2, 2, {"up": 1, "down": 0, "comments": 2})
    assert [row["question"] for row in user_store.unanswered()] == ["где учат на пилота"]


def test_stats_count_days_answers_and_the_most_asked(user_store: UserStore) -> None:
    assert user_store.stats() == {"users": 0, "questions": 0, "per_day": {}, "answered_share": 0.0, "top": [],
                                  "top_unanswered": [], "feedback": {"up": 0, "down": 0, "comments": 0}}
    asked = [("где учат на пилота", False), ("Хочу стать поваром ", True), ("кем стать", True),
             ("хочу стать поваром", True), ("ГДЕ УЧАТ НА ПИЛОТА", False), ("хочу стать сварщиком", True),
             ("мейірбике болғым келеді", True), ("МЕЙІРБИКЕ болғым келеді", True)]
    ids = [user_store.log_question(i % 3, q, "ru", "suggest", answered, {}) for i, (q, answered) in enumerate(asked)]
    for n, message_id in enumerate(ids):
        backdate_question(user_store, message_id, f"2026-01-{n + 1:02d}")
    stats = user_store.stats(top=3)
    assert stats["users"] == 3 and stats["questions"] == 8 and stats["answered_share"] == 0.75
    assert list(stats["per_day"].items()) == [(f"2026-01-{n:02d}", 1) for n in range(8, 1, -1)]  # newest 7 days
    # Case and surrounding spaces fold (Kazakh letters too); ties keep the order of first asking.
    assert stats["top"] == [("хочу стать поваром", 2), ("мейірбике болғым келеді", 2), ("кем стать", 1)]
    assert stats["top_unanswered"] == [("где учат на пилота", 2)]
    assert user_store.unanswered() == [
        {"day": "2026-01-05", "lang": "ru", "intent": "suggest", "question": "ГДЕ УЧАТ НА ПИЛОТА"},
        {"day": "2026-01-01", "lang": "ru", "intent": "suggest", "question": "где учат на пилота"}]


def test_closing_twice_is_harmless(user_store: UserStore) -> None:
    user_store.log_question(1, "хочу стать поваром", "ru", "suggest", True, {})
    user_store.close()
    user_store.close()


def test_both_backends_answer_alike(sqlite_store: Store, postgres_store: PostgresStore) -> None:
    def session(store: UserStore) -> list[Any]:
        """A short life of the bot: every call, with what it returned ("at" is a time, so only its type)."""
        seen: list[Any] = [store.profile(7), store.update_profile(7, lang="kk"), store.asked_for_grade(7),
                           store.asked_for_grade(7)]
        first = store.log_question(7, "мен бағдарламашы болғым келеді", "kk", "suggest", True, {"top": ["software"]})
        second = store.log_question(8, "где учат на пилота", "ru", "suggest", False, {})
        seen += [first, second, store.add_feedback(7, first, 1), store.add_feedback(7, second, 1)]
        store.add_comment(7, "рахмет")
        seen += [store.question(7, first), store.question(7, second), store.last_question(8), store.stats(),
                 store.unanswered()]
        store.forget(7)
        seen += [store.profile(7), store.last_question(7), store.stats()]
        return [{**s, "at": type(s["at"])} if isinstance(s, dict) and "at" in s else s for s in seen]

    assert session(sqlite_store) == session(postgres_store)


# --- migrations ----------------------------------------------------------------------------------------
def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = version_1_database(tmp_path / "bot.sqlite3")
    store = Store.open(path)
    assert store.profile(1).lang == "kk" and store.profile(1).city == "Астана" and store.profile(1).grade == 9
    assert store.profile(1).interests == "it,medicine" and store.asked_for_grade(1) is True
    assert store.db["users"].get(1)["created"] == "2025-09-01"
    assert store.last_question(1)["details"] == {"specialities": ["software"]}
    assert store.unanswered()[0]["question"] == "где учат на пилота"
    assert store.stats()["feedback"] == {"up": 1, "down": 0, "comments": 1}
    assert {"chat_id", "user_id"} <= set(store.db["fsm"].columns_dict)
    assert [m["name"] for m in store.db["_sqlite_migrations"].rows] == KNOWN_MIGRATIONS
    assert not store.db["meta"].exists()  # schema_version now lives in the migrations table


async def test_a_quiz_in_progress_survives_the_migration(tmp_path: Path) -> None:
    storage = SqliteStorage(Store.open(version_1_database(tmp_path / "bot.sqlite3")))
    private, group = StorageKey(bot_id=42, chat_id=1, user_id=1), StorageKey(bot_id=42, chat_id=-100500, user_id=2)
    assert await storage.get_state(private) == "Quiz:answering"
    assert await storage.get_data(private) == {"answers": ["yes", "no"]}
    assert await storage.get_data(group) == {"answers": ["maybe"]}
    assert storage.store.db["fsm"].count_where("user_id is null") == 0  # no row /forget could miss
    storage.store.forget(2)  # the migrated row knows its user, so /forget finds it in a group chat too
    assert await storage.get_state(group) is None and await storage.get_state(private) == "Quiz:answering"


def test_a_database_from_before_version_1_gets_its_missing_columns() -> None:
    db = Database(memory=True)
    db["users"].insert({"user_id": 1, "lang": "kk", "grade": 9, "city": "Астана", "created": "2026-01-01"},
                       pk="user_id")  # a users table from before grade_asked and interests existed
    store = Store(db)
    assert {"grade_asked", "interests"} <= set(db["users"].columns_dict)
    assert store.profile(1).lang == "kk" and store.profile(1).grade == 9
    assert store.asked_for_grade(1) is False and store.asked_for_grade(1) is True


def test_reopening_applies_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    Store.open(path).db.close()
    store = Store.open(path)
    assert [m["name"] for m in store.db["_sqlite_migrations"].rows] == KNOWN_MIGRATIONS


def test_a_database_written_by_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    store = Store.open(path)
    store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    store.db["_sqlite_migrations"].insert({"migration_set": "kolledzh-bot", "name": "m099_from_the_future",
                                           "applied_at": "2030-01-01 00:00:00+00:00"})
    store.db.close()
    with pytest.raises(NewerDatabaseError, match="newer version of the bot.*m099_from_the_future.*backup"):
        Store.open(path)
    assert Database(path)["messages"].count == 1  # left as it was


def test_a_version_1_file_claiming_a_later_schema_version_is_refused(tmp_path: Path) -> None:
    path = version_1_database(tmp_path / "bot.sqlite3")
    Database(path)["meta"].update("schema_version", {"value": "2"})
    with pytest.raises(NewerDatabaseError, match="schema_version 2"):
        Store.open(path)


# --- FSM storage: a port of aiogram's tests/test_fsm/storage/test_storages.py --------------------------
@pytest.fixture
async def storage():
    storage = SqliteStorage(memory_store())
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture
def storage_key() -> StorageKey:
    return StorageKey(chat_id=-42, user_id=42, bot_id=42)


async def test_set_state(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_state(key=storage_key) is None

    await storage.set_state(key=storage_key, state="state")
    assert await storage.get_state(key=storage_key) == "state"
    await storage.set_state(key=storage_key, state=None)
    assert await storage.get_state(key=storage_key) is None


async def test_set_data(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_data(key=storage_key) == {}
    assert await storage.get_value(storage_key=storage_key, dict_key="foo") is None
    assert await storage.get_value(storage_key=storage_key, dict_key="foo", default="baz") == "baz"

    await storage.set_data(key=storage_key, data={"foo": "bar"})
    assert await storage.get_data(key=storage_key) == {"foo": "bar"}
    assert await storage.get_value(storage_key=storage_key, dict_key="foo") == "bar"
    assert await storage.get_value(storage_key=storage_key, dict_key="foo", default="baz") == "bar"

    await storage.set_data(key=storage_key, data={})
    assert await storage.get_data(key=storage_key) == {}
    assert await storage.get_value(storage_key=storage_key, dict_key="foo") is None
    assert await storage.get_value(storage_key=storage_key, dict_key="foo", default="baz") == "baz"

    class CustomTypedDict(TypedDict, total=False):
        foo: str
        bar: str

    await storage.set_data(key=storage_key, data=CustomTypedDict(foo="bar", bar="baz"))
    assert await storage.get_data(key=storage_key) == {"foo": "bar", "bar": "baz"}
    assert await storage.get_value(storage_key=storage_key, dict_key="foo") == "bar"
    assert await storage.get_value(storage_key=storage_key, dict_key="foo", default="baz") == "bar"

    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(key=storage_key, data=())


async def test_update_data(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_data(key=storage_key) == {}
    assert await storage.update_data(key=storage_key, data={"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(key=storage_key, data={}) == {"foo": "bar"}
    assert await storage.get_data(key=storage_key) == {"foo": "bar"}
    assert await storage.update_data(key=storage_key, data={"baz": "spam"}) == {"foo": "bar", "baz": "spam"}
    assert await storage.get_data(key=storage_key) == {"foo": "bar", "baz": "spam"}
    assert await storage.update_data(key=storage_key, data={"baz": "test"}) == {"foo": "bar", "baz": "test"}
    assert await storage.get_data(key=storage_key) == {"foo": "bar", "baz": "test"}


# --- FSM storage: keys, restarts, /forget ---------------------------------------------------------------
class Quiz(StatesGroup):
    answering = State()


async def test_a_forum_threads_quiz_does_not_overwrite_the_chats(storage: SqliteStorage) -> None:
    chat = StorageKey(bot_id=1, chat_id=-100, user_id=5)
    thread = StorageKey(bot_id=1, chat_id=-100, user_id=5, thread_id=77)
    await storage.set_state(chat, Quiz.answering)
    await storage.set_data(chat, {"step": 3})
    await storage.set_state(thread, "Quiz:finished")
    await storage.set_data(thread, {"step": 16})
    assert await storage.get_state(chat) == "Quiz:answering" and await storage.get_data(chat) == {"step": 3}
    assert await storage.get_state(thread) == "Quiz:finished" and await storage.get_data(thread) == {"step": 16}


@pytest.mark.parametrize("other", [
    StorageKey(bot_id=1, chat_id=-100, user_id=5, destiny="other"),
    StorageKey(bot_id=1, chat_id=-100, user_id=5, business_connection_id="biz"),
    StorageKey(bot_id=2, chat_id=-100, user_id=5),
    StorageKey(bot_id=1, chat_id=-100, user_id=6),
], ids=["destiny", "business-connection", "bot", "user"])
async def test_keys_that_differ_in_one_part_do_not_collide(storage: SqliteStorage, other: StorageKey) -> None:
    key = StorageKey(bot_id=1, chat_id=-100, user_id=5)
    await storage.set_state(key, "mine")
    await storage.set_state(other, "theirs")
    assert await storage.get_state(key) == "mine" and await storage.get_state(other) == "theirs"


async def test_quiz_state_survives_a_restart(tmp_path: Path) -> None:
    key = StorageKey(bot_id=1, chat_id=5, user_id=5, thread_id=9)
    first = SqliteStorage(Store.open(tmp_path / "bot.sqlite3"))
    await first.set_state(key, "Quiz:answering")
    await first.set_data(key, {"answers": ["yes", "no"], "город": "Шымкент"})
    await first.close()
    second = SqliteStorage(Store.open(tmp_path / "bot.sqlite3"))  # a new process opens the same file
    assert await second.get_state(key) == "Quiz:answering"
    assert await second.get_data(key) == {"answers": ["yes", "no"], "город": "Шымкент"}


async def test_forget_removes_the_users_quiz_everywhere_and_nobody_elses(storage: SqliteStorage) -> None:
    mine = [StorageKey(bot_id=1, chat_id=5, user_id=5), StorageKey(bot_id=1, chat_id=-100, user_id=5, thread_id=3)]
    # user 7 writes in thread 5 of the same group: a key pattern like '%:5:%' would wrongly match it
    theirs = [StorageKey(bot_id=1, chat_id=-100, user_id=7, thread_id=5), StorageKey(bot_id=5, chat_id=7, user_id=7)]
    for key in mine + theirs:
        await storage.set_state(key, "Quiz:answering")
        await storage.set_data(key, {"answers": ["yes"]})
    storage.store.forget(5)
    assert [await storage.get_state(k) for k in mine] == [None, None]
    assert [await storage.get_data(k) for k in mine] == [{}, {}]
    assert [await storage.get_state(k) for k in theirs] == ["Quiz:answering", "Quiz:answering"]


async def test_a_cleared_quiz_leaves_no_row(storage: SqliteStorage, storage_key: StorageKey) -> None:
    await storage.set_state(storage_key, "Quiz:answering")
    await storage.update_data(storage_key, {"answers": ["yes"]})
    await storage.set_state(storage_key, None)
    await storage.set_data(storage_key, {})
    assert storage.store.db["fsm"].count == 0
