"""The bot's SQLite store and its aiogram FSM storage: privacy, profiles, feedback, migrations, FSM keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TypedDict

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from sqlite_utils import Database

from storage.fsm import SqliteStorage
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


# --- profiles and feedback -----------------------------------------------------------------------------
def test_user_creation_day_is_kept_when_the_user_comes_back() -> None:
    store = memory_store()
    store.db["users"].insert({"user_id": 1, "lang": "ru", "created": "2025-09-01"})  # joined last autumn
    store.update_profile(1, grade=9)
    store.asked_for_grade(1)
    store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert store.db["users"].get(1)["created"] == "2025-09-01"
    assert store.profile(1).grade == 9 and store.profile(1).lang == "ru"


def test_a_new_user_gets_a_creation_day() -> None:
    store = memory_store()
    store.log_question(3, "хочу стать поваром", "ru", "suggest", True, {})
    assert store.db["users"].get(3)["created"]


@pytest.mark.parametrize("message_id", [2 ** 63, -(2 ** 63) - 1, 10 ** 30])
def test_a_vote_for_an_impossible_answer_id_is_not_stored(message_id: int) -> None:
    store = memory_store()
    store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert store.add_feedback(1, message_id, 1) is False
    assert store.stats()["feedback"] == {"up": 0, "down": 0, "comments": 0}


def test_a_vote_is_stored_for_the_users_own_answer_only() -> None:
    store = memory_store()
    mine = store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    assert store.add_feedback(1, mine, 1) is True and store.add_feedback(2, mine, -1) is False
    assert store.stats()["feedback"]["up"] == 1 and store.stats()["feedback"]["down"] == 0


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
