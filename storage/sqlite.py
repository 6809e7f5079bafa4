"""SQLite storage of the bot (sqlite-utils, WAL): profiles, conversation log, feedback, FSM state."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

# Profile and the errors live in storage.base, shared with the PostgreSQL store; __all__ re-exports them, so
# `from storage.sqlite import Profile, StoreError` keeps working.
from storage.base import QUESTION_CHARS_KEPT, NewerDatabaseError, Profile, StoreError

__all__ = ["FSM_KEYS", "KNOWN_MIGRATIONS", "MIGRATIONS", "QUESTION_CHARS_KEPT", "SQLITE_INTEGERS", "NewerDatabaseError",
           "Profile", "Store", "StoreError"]

log = logging.getLogger(__name__)

SQLITE_INTEGERS = range(-(2 ** 63), 2 ** 63)  # what an INTEGER column can hold; Python ints can be larger

# The primary key of the `fsm` table. Migration m002 rewrote older keys into this format, so changing it
# needs a migration too. It includes thread_id (and business_connection_id) when aiogram sets them.
FSM_KEYS = DefaultKeyBuilder(with_bot_id=True, with_destiny=True, with_business_connection_id=True)


# --- schema migrations -------------------------------------------------------------------------------
# Each runs once, in a transaction, and is recorded in the `_sqlite_migrations` table. A migration never
# changes once released: a new schema is a new migration appended at the end.
MIGRATIONS = Migrations("kolledzh-bot")
KNOWN_MIGRATIONS: list[str] = []


def _migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register `fn` as the next migration, under its function name."""
    KNOWN_MIGRATIONS.append(fn.__name__)
    return MIGRATIONS()(fn)


@_migration
def m001_initial(db: Database) -> None:
    """The schema of version 1 (schema_version '1'); on a database it created, adds only what is missing."""
    # Frozen copy of version 1's tables: version 1 also added columns missing from even older databases.
    tables: dict[str, tuple[str, dict[str, type]]] = {
        "users": ("user_id", {"user_id": int, "lang": str, "grade": int, "city": str, "interests": str,
                              "grade_asked": int, "created": str}),
        "messages": ("id", {"id": int, "user_id": int, "day": str, "question": str, "lang": str, "intent": str,
                            "answered": int, "details": str, "at": float}),
        "feedback": ("id", {"id": int, "user_id": int, "message_id": int, "vote": int, "comment": str,
                            "at": float}),
        "fsm": ("key", {"key": str, "state": str, "data": str}),
        "meta": ("key", {"key": str, "value": str}),
    }
    for name, (pk, columns) in tables.items():
        table = db.table(name)
        if not table.exists():
            table.create(columns, pk=pk)
            continue
        for column, kind in columns.items():
            if column not in table.columns_dict:
                table.add_column(column, kind)
    db.table("messages").create_index(["user_id"], if_not_exists=True)
    db.table("messages").create_index(["day"], if_not_exists=True)


@_migration
def m002_fsm_keys_by_chat_user_thread(db: Database) -> None:
    """FSM rows get chat_id and user_id columns (so /forget finds them) and aiogram's key with thread_id."""
    fsm = db.table("fsm")
    fsm.add_column("chat_id", int)
    fsm.add_column("user_id", int)
    for row in list(fsm.rows):
        fsm.delete(row["key"])
        key = _version_1_fsm_key(row["key"])
        if key is None:
            continue  # not written by version 1: only quiz progress, and no user could ever /forget it
        fsm.insert({"key": FSM_KEYS.build(key), "state": row["state"], "data": row["data"],
                    "chat_id": key.chat_id, "user_id": key.user_id}, replace=True)
    fsm.create_index(["user_id"], if_not_exists=True)
    fsm.create_index(["chat_id"], if_not_exists=True)


def _version_1_fsm_key(text: str) -> StorageKey | None:
    """Parse version 1's f"{bot_id}:{chat_id}:{user_id}:{destiny}" key (it had no forum thread)."""
    parts = str(text).split(":", 3)
    try:
        return StorageKey(bot_id=int(parts[0]), chat_id=int(parts[1]), user_id=int(parts[2]), destiny=parts[3])
    except (ValueError, IndexError):
        return None


@_migration
def m003_schema_version_in_migrations_table(db: Database) -> None:
    """The applied migrations now say which schema the database has; meta only held schema_version."""
    db.table("meta").drop(ignore=True)


@_migration
def m004_conversations(db: Database) -> None:
    """Conversation state per chat, so a follow-up such as «а в Шымкенте?» survives a restart."""
    db.table("conversations").create({"chat_id": int, "data": str, "updated": float}, pk="chat_id",
                                      if_not_exists=True)


@_migration
def m005_conversations_in_fsm_storage(db: Database) -> None:
    """Conversations moved to the FSM storage (destiny 'conversation'), which Redis can share between workers.

    A conversation expires after a day of silence anyway, so the old rows are dropped rather than copied.
    """
    db.table("conversations").drop(ignore=True)


@_migration
def m006_console(db: Database) -> None:
    """The web console's accounts, sessions, action log, flagged answers and reviewed questions."""
    db.table("console_accounts").create({"name": str, "role": str, "password_hash": str, "created": float},
                                         pk="name", if_not_exists=True)
    db.table("console_sessions").create({"token_hash": str, "name": str, "csrf": str, "expires": float},
                                         pk="token_hash", if_not_exists=True)
    db.table("console_actions").create({"id": int, "at": float, "name": str, "action": str, "detail": str},
                                        pk="id", if_not_exists=True)
    db.table("console_flags").create({"id": int, "at": float, "name": str, "question": str, "answer": str,
                                      "lang": str, "intent": str, "comment": str, "closed_by": str},
                                     pk="id", if_not_exists=True)
    db.table("console_reviewed").create({"message_id": int, "name": str, "outcome": str, "at": float},
                                        pk="message_id", if_not_exists=True)


def _refuse_newer(db: Database) -> None:
    """Raise NewerDatabaseError when the database has schema changes this version does not know."""
    applied = [m.name for m in MIGRATIONS.applied(db)]
    unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
    if not applied and db.table("meta").exists():
        # A database from before migrations were recorded: version 1 wrote schema_version '1'.
        version = next(db.table("meta").rows_where("key = ?", ["schema_version"]), {}).get("value")
        if version not in (None, "1"):
            unknown = [f"schema_version {version}"]
    if unknown:
        raise NewerDatabaseError(_where(db), unknown)


def _where(db: Database) -> str:
    """The database's file name, for messages to the admin."""
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return row[2] or "in memory"
    return "in memory"


# --- the store -----------------------------------------------------------------------------------------
class Store:
    """All persistent data; every query goes through sqlite-utils, so values are always parameters.

    It is a UserStore (storage.base) and also keeps FSM state (quiz and conversations), for the single-process bot.
    """

    def __init__(self, db: Database):
        self.db = db
        self._closed = False
        # Deleted rows are overwritten with zeros, so /forget leaves no readable text in free pages.
        # Some SQLite builds have it on by default, others not: set it on this connection regardless.
        self.db.execute("PRAGMA secure_delete=ON")
        _refuse_newer(self.db)
        MIGRATIONS.apply(self.db)

    @classmethod
    def open(cls, path: Path) -> "Store":
        """The store in a file (created with its folder), in WAL mode so readers never block the writer."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        try:
            db.enable_wal()
            # With WAL, NORMAL keeps the database consistent after a crash and skips an fsync per write.
            db.execute("PRAGMA synchronous=NORMAL")
            return cls(db)
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        """Write the WAL back into the database file and close it; closing twice does nothing."""
        if self._closed:
            return
        self._checkpoint()
        self.db.close()
        self._closed = True

    def _checkpoint(self) -> None:
        """Move the WAL into the database file and empty the WAL, so no old page versions remain in it."""
        busy, _, _ = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("WAL checkpoint incomplete: another connection is reading %s", _where(self.db))

    # --- profiles -----------------------------------------------------------------------------
    def profile(self, user_id: int) -> Profile:
        """The user's profile; an empty one for a new user."""
        rows = list(self.db["users"].rows_where("user_id = ?", [user_id]))
        if not rows:
            return Profile()
        row = rows[0]
        return Profile(row["lang"] or "", row["grade"], row["city"] or "", row["interests"] or "")

    def _ensure_user(self, user_id: int) -> None:
        """Create the user's row on first use; `created` is that day and never changes afterwards."""
        self.db["users"].insert({"user_id": user_id, "created": _today()}, pk="user_id", ignore=True)

    def update_profile(self, user_id: int, **fields: Any) -> Profile:
        """Set some profile fields, creating the user on first use."""
        allowed = {k: v for k, v in fields.items() if k in Profile.__dataclass_fields__}
        with self.db.atomic():
            self._ensure_user(user_id)
            if allowed:
                self.db["users"].update(user_id, allowed)
        return self.profile(user_id)

    def asked_for_grade(self, user_id: int) -> bool:
        """True if the bot already asked this user's grade; marks it asked otherwise."""
        rows = list(self.db["users"].rows_where("user_id = ?", [user_id]))
        if rows and rows[0]["grade_asked"]:
            return True
        with self.db.atomic():
            self._ensure_user(user_id)
            self.db["users"].update(user_id, {"grade_asked": 1})
        return False

    # --- conversation log -------------------------------------------------------------------------
    def log_question(self, user_id: int, question: str, lang: str, intent: str, answered: bool,
                     details: dict[str, Any]) -> int:
        """Record one answered or unanswered question; returns its id for feedback and /why."""
        with self.db.atomic():
            self._ensure_user(user_id)
            table = self.db["messages"].insert({
                "user_id": user_id, "day": _today(), "question": question[:QUESTION_CHARS_KEPT], "lang": lang,
                "intent": intent, "answered": int(answered), "details": json.dumps(details, ensure_ascii=False),
                "at": time.time()})
        return int(table.last_pk)

    def last_question(self, user_id: int) -> dict[str, Any] | None:
        """The user's most recent question with the details of its answer."""
        rows = list(self.db["messages"].rows_where("user_id = ?", [user_id], order_by="id desc", limit=1))
        if not rows:
            return None
        return {**rows[0], "details": json.loads(rows[0]["details"] or "{}")}

    def add_feedback(self, user_id: int, message_id: int, vote: int) -> bool:
        """Store a 👍 (1) or 👎 (-1) for one of the user's own answers; False for any other id."""
        # Callback data can carry any integer; SQLite cannot even compare one outside its range.
        if message_id not in SQLITE_INTEGERS:
            return False
        if not self.db["messages"].count_where("id = ? and user_id = ?", [message_id, user_id]):
            return False
        self.db["feedback"].insert({"user_id": user_id, "message_id": message_id, "vote": vote, "comment": "",
                                    "at": time.time()})
        return True

    def add_comment(self, user_id: int, comment: str) -> None:
        """Attach a comment to the user's latest feedback, or store it on its own."""
        rows = list(self.db["feedback"].rows_where("user_id = ?", [user_id], order_by="id desc", limit=1))
        if rows and not rows[0]["comment"]:
            self.db["feedback"].update(rows[0]["id"], {"comment": comment[:QUESTION_CHARS_KEPT]})
        else:
            self.db["feedback"].insert({"user_id": user_id, "message_id": 0, "vote": 0,
                                        "comment": comment[:QUESTION_CHARS_KEPT], "at": time.time()})

    def question(self, user_id: int, message_id: int) -> dict[str, Any] | None:
        """One of the user's own logged questions with its answer's details; None for anyone else's or a bad id."""
        if message_id not in SQLITE_INTEGERS:
            return None
        rows = list(self.db["messages"].rows_where("id = ? and user_id = ?", [message_id, user_id]))
        return {**rows[0], "details": json.loads(rows[0]["details"] or "{}")} if rows else None

    def forget(self, user_id: int) -> None:
        """Delete everything stored about the user, leaving no copy in the database file or its WAL."""
        with self.db.atomic():
            for table in ("users", "messages", "feedback"):
                self.db[table].delete_where("user_id = ?", [user_id])
            # A private chat's id is the user's id: rows keyed by that chat are the user's too.
            # That covers the conversation too: it is FSM data under the destiny 'conversation'.
            self.db["fsm"].delete_where("user_id = ? or chat_id = ?", [user_id, user_id])
        # The WAL still holds the pages as they were before the delete; write them back and empty it.
        self._checkpoint()

    # --- admin statistics ---------------------------------------------------------------------------
    def stats(self, top: int = 5) -> dict[str, Any]:
        """Users, questions per day, share answered, top and unanswered questions, feedback counts."""
        messages = self.db["messages"]
        per_day = {row["day"]: row["n"] for row in self.db.query(
            "select day, count(*) as n from messages group by day order by day desc limit 7")}
        total = messages.count
        answered = next(self.db.query("select count(*) as n from messages where answered = 1"))["n"]
        votes = {row["vote"]: row["n"] for row in self.db.query(
            "select vote, count(*) as n from feedback where vote != 0 group by vote")}
        return {
            "users": self.db["users"].count,
            "questions": total,
            "per_day": per_day,
            "answered_share": round(answered / total, 3) if total else 0.0,
            "top": self._top_questions("answered = 1", top),
            "top_unanswered": self._top_questions("answered = 0", top),
            "feedback": {"up": votes.get(1, 0), "down": votes.get(-1, 0),
                         "comments": self.db["feedback"].count_where("comment != ''")},
        }

    def _top_questions(self, where: str, top: int) -> list[tuple[str, int]]:
        """The most frequent questions among those matching a fixed `where` clause (never user input)."""
        counter = Counter(row["question"].strip().lower() for row in self.db["messages"].rows_where(where))
        return counter.most_common(top)

    def unanswered(self) -> list[dict[str, Any]]:
        """Questions the bot could not answer, newest first, for the admins' CSV."""
        return [{"day": r["day"], "lang": r["lang"], "intent": r["intent"], "question": r["question"]}
                for r in self.db["messages"].rows_where("answered = 0", order_by="id desc")]

    # --- FSM state (quiz progress), kept across restarts -----------------------------------------
    def fsm_get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        """The state and data stored under an FSM key; (None, {}) when there are none."""
        rows = list(self.db["fsm"].rows_where("key = ?", [key]))
        if not rows:
            return None, {}
        return rows[0]["state"], json.loads(rows[0]["data"] or "{}")

    def fsm_set_state(self, key: str, state: str | None, *, chat_id: int, user_id: int) -> None:
        """Set the FSM state under `key`, keeping its data."""
        self._fsm_write(key, chat_id, user_id, {"state": state})

    def fsm_set_data(self, key: str, data: dict[str, Any], *, chat_id: int, user_id: int) -> None:
        """Replace the FSM data under `key`, keeping its state."""
        self._fsm_write(key, chat_id, user_id, {"data": json.dumps(data, ensure_ascii=False)})

    def _fsm_write(self, key: str, chat_id: int, user_id: int, values: dict[str, Any]) -> None:
        """Upsert some columns of an FSM row; a row left with no state and no data is deleted."""
        with self.db.atomic():
            self.db["fsm"].upsert({"key": key, "chat_id": chat_id, "user_id": user_id, **values}, pk="key")
            self.db["fsm"].delete_where("key = ? and state is null and coalesce(data, '{}') = '{}'", [key])


def _today() -> str:
    """Today's date in UTC, as the day of the conversation log."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")
