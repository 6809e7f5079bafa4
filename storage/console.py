"""What the web console keeps: its accounts, sessions, the admins' action log, flagged answers and reviewed questions.

The SQLite tables live in the bot's own database file (migration m006 of storage.sqlite); PostgreSQL's are in
storage.postgres (migration m002). Both classes give the same calls and answers (ConsoleStore).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Protocol, runtime_checkable

from sqlite_utils import Database

from storage.base import QUESTION_CHARS_KEPT, StoreError

ROLES = ("counsellor", "admin")
ANSWER_CHARS_KEPT = 2000  # a flagged answer as the counsellor saw it; an answer fits one screen (1,200)
COMMENT_CHARS_KEPT = 1000
REVIEW_PAGE = 200  # the most unanswered questions one review page lists
STORED_INTEGERS = range(-(2 ** 63), 2 ** 63)  # what an id column holds; a forged form can send any integer


class AccountExists(StoreError):
    """An account of that name exists already."""

    def __init__(self, name: str):
        super().__init__(f"a console account named {name!r} exists already; choose another name")


@runtime_checkable
class ConsoleStore(Protocol):
    """The web console's data, on SQLite or PostgreSQL."""

    def add_account(self, name: str, role: str, password_hash: str) -> None:
        """Create an account; raises AccountExists when the name is taken."""
        ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace an account's password hash and end its sessions; False when there is no such account."""
        ...

    def account(self, name: str) -> dict[str, Any] | None:
        """The account's name, role and password hash; None when there is none."""
        ...

    def start_session(self, token_hash: str, name: str, csrf: str, expires: float) -> None:
        """Record a signed-in session under the hash of its cookie's token; expired ones are dropped then."""
        ...

    def session(self, token_hash: str) -> dict[str, Any] | None:
        """The unexpired session with its account's name, role and CSRF token; None otherwise."""
        ...

    def end_session(self, token_hash: str) -> None:
        """Forget one session (signing out); expired ones are dropped at the same time."""
        ...

    def log_action(self, name: str, action: str, detail: str = "") -> None:
        """Record that `name` did `action` now."""
        ...

    def actions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest actions, newest first."""
        ...

    def add_flag(self, name: str, question: str, answer: str, lang: str, intent: str, comment: str) -> int:
        """A counsellor marks an answer as wrong; returns the flag's id."""
        ...

    def open_flags(self) -> list[dict[str, Any]]:
        """Flags no admin has closed, newest first."""
        ...

    def close_flag(self, flag_id: int, name: str) -> bool:
        """Mark a flag handled; False when there is no such open flag."""
        ...

    def review_queue(self, limit: int = REVIEW_PAGE) -> list[dict[str, Any]]:
        """Unanswered questions no admin has reviewed yet, newest first (no user id)."""
        ...

    def mark_reviewed(self, message_id: int, name: str, outcome: str) -> bool:
        """Take an unanswered question off the review list; False when it is not one (or already reviewed)."""
        ...

    def overview(self, days: int = 14) -> dict[str, Any]:
        """Counts for the admins' charts: per day, answered, intents, languages, votes, users."""
        ...


class SqliteConsoleStore:
    """The console's tables in the bot's SQLite file; every value goes in as a parameter."""

    def __init__(self, db: Database):
        self.db = db

    def add_account(self, name: str, role: str, password_hash: str) -> None:
        check_role(role)
        if self.db["console_accounts"].count_where("name = ?", [name]):
            raise AccountExists(name)
        self.db["console_accounts"].insert({"name": name, "role": role, "password_hash": password_hash,
                                            "created": time.time()})

    def set_password(self, name: str, password_hash: str) -> bool:
        if not self.db["console_accounts"].count_where("name = ?", [name]):
            return False
        with self.db.atomic():
            self.db["console_accounts"].update(name, {"password_hash": password_hash})
            self.db["console_sessions"].delete_where("name = ?", [name])
        return True

    def account(self, name: str) -> dict[str, Any] | None:
        return next(self.db["console_accounts"].rows_where("name = ?", [name]), None)

    def start_session(self, token_hash: str, name: str, csrf: str, expires: float) -> None:
        with self.db.atomic():
            self.db["console_sessions"].delete_where("expires <= ?", [time.time()])  # nobody signs out of every one
            self.db["console_sessions"].insert({"token_hash": token_hash, "name": name, "csrf": csrf,
                                                "expires": expires})

    def session(self, token_hash: str) -> dict[str, Any] | None:
        rows = self.db.query(
            "select s.name, s.csrf, s.expires, a.role from console_sessions s join console_accounts a "
            "on a.name = s.name where s.token_hash = ? and s.expires > ?", [token_hash, time.time()])
        return next(rows, None)

    def end_session(self, token_hash: str) -> None:
        self.db["console_sessions"].delete_where("token_hash = ? or expires <= ?", [token_hash, time.time()])

    def log_action(self, name: str, action: str, detail: str = "") -> None:
        self.db["console_actions"].insert({"at": time.time(), "name": name, "action": action,
                                           "detail": detail[:COMMENT_CHARS_KEPT]})

    def actions(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.db["console_actions"].rows_where(order_by="id desc", limit=limit))

    def add_flag(self, name: str, question: str, answer: str, lang: str, intent: str, comment: str) -> int:
        table = self.db["console_flags"].insert({
            "at": time.time(), "name": name, "question": question[:QUESTION_CHARS_KEPT],
            "answer": answer[:ANSWER_CHARS_KEPT], "lang": lang, "intent": intent,
            "comment": comment[:COMMENT_CHARS_KEPT], "closed_by": ""})
        return int(table.last_pk)

    def open_flags(self) -> list[dict[str, Any]]:
        return list(self.db["console_flags"].rows_where("closed_by = ''", order_by="id desc"))

    def close_flag(self, flag_id: int, name: str) -> bool:
        if flag_id not in STORED_INTEGERS or not self.db["console_flags"].count_where("id = ? and closed_by = ''", [flag_id]):
            return False
        self.db["console_flags"].update(flag_id, {"closed_by": name})
        return True

    def review_queue(self, limit: int = REVIEW_PAGE) -> list[dict[str, Any]]:
        return list(self.db.query(
            "select id, day, lang, intent, question from messages where answered = 0 and id not in "
            "(select message_id from console_reviewed) order by id desc limit ?", [limit]))

    def mark_reviewed(self, message_id: int, name: str, outcome: str) -> bool:
        if message_id not in STORED_INTEGERS or not self.db["messages"].count_where("id = ? and answered = 0", [message_id]):
            return False
        if self.db["console_reviewed"].count_where("message_id = ?", [message_id]):
            return False
        self.db["console_reviewed"].insert({"message_id": message_id, "name": name, "outcome": outcome,
                                            "at": time.time()})
        return True

    def overview(self, days: int = 14) -> dict[str, Any]:
        per_day = list(self.db.query(
            "select day, count(*) as questions, sum(answered) as answered from messages "
            "group by day order by day desc limit ?", [days]))
        votes = {row["vote"]: row["n"] for row in self.db.query(
            "select vote, count(*) as n from feedback where vote != 0 group by vote")}
        return overview_of(
            per_day=[(r["day"], r["questions"], r["answered"] or 0) for r in reversed(per_day)],
            intents=Counter({r["intent"]: r["n"] for r in self.db.query(
                "select intent, count(*) as n from messages group by intent")}),
            langs=Counter({r["lang"]: r["n"] for r in self.db.query(
                "select lang, count(*) as n from messages group by lang")}),
            unanswered=Counter({r["intent"]: r["n"] for r in self.db.query(
                "select intent, count(*) as n from messages where answered = 0 group by intent")}),
            votes=(votes.get(1, 0), votes.get(-1, 0)),
            users=self.db["users"].count, comments=self.db["feedback"].count_where("comment != ''"))


def check_role(role: str) -> None:
    """Refuse a role the console does not know (the CLI offers only these)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")


def overview_of(per_day: list[tuple[str, int, int]], intents: Counter[str], langs: Counter[str],
                unanswered: Counter[str], votes: tuple[int, int], users: int, comments: int) -> dict[str, Any]:
    """The overview both stores return, from their counts."""
    questions = sum(intents.values())
    answered = sum(a for _, _, a in per_day)
    return {
        "per_day": [{"day": day, "questions": n, "answered": a, "share": round(a / n, 3) if n else 0.0}
                    for day, n, a in per_day],
        "questions": questions,
        "answered_share": round(answered / sum(n for _, n, _ in per_day), 3) if per_day else 0.0,
        "intents": intents.most_common(10),
        "langs": langs.most_common(),
        "unanswered": unanswered.most_common(10),
        "votes": {"up": votes[0], "down": votes[1], "comments": comments},
        "users": users,
    }
