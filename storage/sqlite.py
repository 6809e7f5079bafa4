"""SQLite storage of the bot (sqlite-utils, WAL): profiles, conversation log, feedback, FSM state."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

SCHEMA_VERSION = 1
QUESTION_CHARS_KEPT = 500  # enough to read the question back, no more

TABLES: dict[str, dict[str, type]] = {
    "users": {"user_id": int, "lang": str, "grade": int, "city": str, "interests": str, "grade_asked": int,
              "created": str},
    "messages": {"id": int, "user_id": int, "day": str, "question": str, "lang": str, "intent": str,
                 "answered": int, "details": str, "at": float},
    "feedback": {"id": int, "user_id": int, "message_id": int, "vote": int, "comment": str, "at": float},
    "fsm": {"key": str, "state": str, "data": str},
    "meta": {"key": str, "value": str},
}
PRIMARY_KEYS = {"users": "user_id", "messages": "id", "feedback": "id", "fsm": "key", "meta": "key"}


@dataclass
class Profile:
    """What the bot remembers about a user, all optional: language, grade, city, interests."""

    lang: str = ""
    grade: int | None = None
    city: str = ""
    interests: str = ""


class Store:
    """All persistent data; every query goes through sqlite-utils, so values are always parameters."""

    def __init__(self, db: Database):
        self.db = db
        self._migrate()

    @classmethod
    def open(cls, path: Path) -> "Store":
        """The store in a file (created with its folder), in WAL mode so readers never block the writer."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.enable_wal()
        # With WAL, NORMAL keeps the database consistent after a crash and skips an fsync per write.
        db.execute("PRAGMA synchronous=NORMAL")
        return cls(db)

    def _migrate(self) -> None:
        """Create missing tables and add columns that later versions introduced; data is kept."""
        for name, columns in TABLES.items():
            table = self.db[name]
            if not table.exists():
                table.create(columns, pk=PRIMARY_KEYS[name])
                continue
            for column, kind in columns.items():
                if column not in table.columns_dict:
                    table.add_column(column, kind)
        self.db["meta"].upsert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key")
        self.db["messages"].create_index(["user_id"], if_not_exists=True)
        self.db["messages"].create_index(["day"], if_not_exists=True)

    # --- profiles -----------------------------------------------------------------------------
    def profile(self, user_id: int) -> Profile:
        """The user's profile; an empty one for a new user."""
        rows = list(self.db["users"].rows_where("user_id = ?", [user_id]))
        if not rows:
            return Profile()
        row = rows[0]
        return Profile(row["lang"] or "", row["grade"], row["city"] or "", row["interests"] or "")

    def update_profile(self, user_id: int, **fields: Any) -> Profile:
        """Set some profile fields, creating the user on first use."""
        allowed = {k: v for k, v in fields.items() if k in Profile.__dataclass_fields__}
        self.db["users"].upsert({"user_id": user_id, **allowed, "created": _today()}, pk="user_id",
                                alter=False)
        return self.profile(user_id)

    def asked_for_grade(self, user_id: int) -> bool:
        """True if the bot already asked this user's grade; marks it asked otherwise."""
        rows = list(self.db["users"].rows_where("user_id = ?", [user_id]))
        if rows and rows[0]["grade_asked"]:
            return True
        self.db["users"].upsert({"user_id": user_id, "grade_asked": 1, "created": _today()}, pk="user_id")
        return False

    # --- conversation log -------------------------------------------------------------------------
    def log_question(self, user_id: int, question: str, lang: str, intent: str, answered: bool,
                     details: dict[str, Any]) -> int:
        """Record one answered or unanswered question; returns its id for feedback and /why."""
        self.db["users"].upsert({"user_id": user_id, "created": _today()}, pk="user_id")
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

    def forget(self, user_id: int) -> None:
        """Delete everything stored about the user."""
        for table in ("users", "messages", "feedback"):
            self.db[table].delete_where("user_id = ?", [user_id])
        self.db["fsm"].delete_where("key like ?", [f"%:{user_id}:%"])

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
        counter = Counter(row["question"].strip().lower() for row in self.db["messages"].rows_where(where))
        return counter.most_common(top)

    def unanswered(self) -> list[dict[str, Any]]:
        """Questions the bot could not answer, newest first, for the admins' CSV."""
        return [{"day": r["day"], "lang": r["lang"], "intent": r["intent"], "question": r["question"]}
                for r in self.db["messages"].rows_where("answered = 0", order_by="id desc")]

    # --- FSM state (quiz progress), kept across restarts -----------------------------------------
    def fsm_get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        rows = list(self.db["fsm"].rows_where("key = ?", [key]))
        if not rows:
            return None, {}
        return rows[0]["state"], json.loads(rows[0]["data"] or "{}")

    def fsm_set_state(self, key: str, state: str | None) -> None:
        _, data = self.fsm_get(key)
        self.db["fsm"].upsert({"key": key, "state": state, "data": json.dumps(data)}, pk="key")

    def fsm_set_data(self, key: str, data: dict[str, Any]) -> None:
        state, _ = self.fsm_get(key)
        self.db["fsm"].upsert({"key": key, "state": state, "data": json.dumps(data, ensure_ascii=False)}, pk="key")


def _today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")
