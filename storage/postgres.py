"""PostgreSQL storage of users, profiles, the question log and feedback, shared by the bot's webhook workers.

The same calls and answers as the SQLite Store (storage.base.UserStore). Conversations and FSM state are not here:
in workers mode they live in Redis. Every call is one statement (stats: one pipelined round trip), because the bot
makes them synchronously from its event loop.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Json
from psycopg_pool import ConnectionPool, PoolTimeout

from storage.base import QUESTION_CHARS_KEPT, NewerDatabaseError, Profile, StoreError
from storage.console import (ANSWER_CHARS_KEPT, COMMENT_CHARS_KEPT, REVIEW_PAGE, STORED_INTEGERS, AccountExists,
                             check_role, overview_of)

log = logging.getLogger(__name__)

BIGINTS = range(-(2 ** 63), 2 ** 63)  # what a bigint column can hold; Python ints (callback data) can be larger
MIGRATIONS_TABLE = "kolledzh_migrations"
# Key of the transaction-level advisory lock taken while migrating, so that workers starting together do not
# migrate at once; any fixed 64-bit number unlikely to be used by another application on the same database.
MIGRATION_LOCK = 0x6B6F6C6C65646A68  # b"kolledjh"
PROFILE_FIELDS = tuple(Profile.__dataclass_fields__)  # the only columns update_profile writes
# Rows of `messages` as SQLite's Store returns them: the day as text, answered as 0/1, the time as epoch seconds.
MESSAGE_COLUMNS = ("id, user_id, to_char(day, 'YYYY-MM-DD') as day, question, lang, intent, "
                   "answered::int as answered, details, extract(epoch from at)::float8 as at")
# The day of the conversation log is the UTC day, as in the SQLite store, whatever the server's time zone.
UTC_TODAY = "(now() at time zone 'UTC')::date"


class DatabaseUrlError(StoreError):
    """DATABASE_URL cannot be parsed; its text is never shown, since it may hold a password."""

    def __init__(self) -> None:
        super().__init__("DATABASE_URL is not a valid PostgreSQL connection string (its text is not shown: it may "
                         "hold a password). Write it as postgresql://user:password@host:5432/database.")


class DatabaseUnavailableError(StoreError):
    """The PostgreSQL server cannot be reached or refuses the connection."""

    def __init__(self, reason: str):
        super().__init__(f"Cannot use the PostgreSQL database at DATABASE_URL: {reason}. Check that the server runs "
                         "and that DATABASE_URL names the right host, port, database, user and password.")


# --- schema migrations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Migration:
    """One schema change: statements run once, in the transaction that records `name` as applied."""

    name: str
    statements: tuple[str, ...]


# A migration never changes once released: a new schema is a new migration appended at the end.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("m001_users_messages_feedback", (
        f"""create table users (
            user_id bigint primary key,
            lang text,
            grade integer,
            city text,
            interests text,
            grade_asked boolean not null default false,
            created date not null default {UTC_TODAY})""",
        f"""create table messages (
            id bigint generated always as identity primary key,
            user_id bigint not null,
            day date not null default {UTC_TODAY},
            question text not null,
            lang text not null,
            intent text not null,
            answered boolean not null,
            details json not null default '{{}}',
            at timestamptz not null default now())""",
        "create index messages_user_id on messages (user_id, id)",
        "create index messages_day on messages (day)",
        """create table feedback (
            id bigint generated always as identity primary key,
            user_id bigint not null,
            message_id bigint not null,
            vote smallint not null,
            comment text not null default '',
            at timestamptz not null default now())""",
        "create index feedback_user_id on feedback (user_id, id)",
    )),
    Migration("m002_console", (
        """create table console_accounts (
            name text primary key,
            role text not null,
            password_hash text not null,
            created timestamptz not null default now())""",
        """create table console_sessions (
            token_hash text primary key,
            name text not null references console_accounts (name) on delete cascade,
            csrf text not null,
            expires double precision not null)""",
        """create table console_actions (
            id bigint generated always as identity primary key,
            at double precision not null,
            name text not null,
            action text not null,
            detail text not null default '')""",
        """create table console_flags (
            id bigint generated always as identity primary key,
            at double precision not null,
            name text not null,
            question text not null,
            answer text not null,
            lang text not null,
            intent text not null,
            comment text not null,
            closed_by text not null default '')""",
        """create table console_reviewed (
            message_id bigint primary key,
            name text not null,
            outcome text not null,
            at double precision not null)""",
    )),
)
KNOWN_MIGRATIONS = [m.name for m in MIGRATIONS]


def migrate(conn: psycopg.Connection[Any]) -> None:
    """Apply the migrations this database lacks, or raise NewerDatabaseError leaving it untouched."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        conn.execute(f"create table if not exists {MIGRATIONS_TABLE} "
                     "(name text primary key, applied_at timestamptz not null default now())")
        applied = [row[0] for row in conn.execute(f"select name from {MIGRATIONS_TABLE} order by applied_at, name")]
        unknown = [name for name in applied if name not in KNOWN_MIGRATIONS]
        if unknown:
            raise NewerDatabaseError(_where(conn), unknown)  # rolls the transaction back: nothing changes
        for migration in MIGRATIONS:
            if migration.name in applied:
                continue
            log.info("applying PostgreSQL migration %s", migration.name)
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(f"insert into {MIGRATIONS_TABLE} (name) values (%s)", [migration.name])


def _where(conn: psycopg.Connection[Any]) -> str:
    """Database, schema, host and port of a connection, for messages to the admin (never the password)."""
    schema = conn.execute("select current_schema()").fetchone()[0]
    return f"{conn.info.dbname} (schema {schema}) at {conn.info.host}:{conn.info.port}"


def _connect(url: str, timeout: float) -> psycopg.Connection[Any]:
    """A connection for migrating, with errors that never show the URL."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=max(2, round(timeout)))
    except psycopg.ProgrammingError:
        # libpq's parse errors quote the offending part of the string, which can be the password.
        raise DatabaseUrlError() from None
    except psycopg.OperationalError as exc:
        # Connection failures name host, port and user, never the password.
        raise DatabaseUnavailableError(str(exc).strip()) from None


# --- the store -----------------------------------------------------------------------------------------
class PostgresStore:
    """Users, profiles, the question log and feedback in PostgreSQL, through a small pool of connections."""

    def __init__(self, pool: ConnectionPool, call_timeout: float = 1.0):
        self.pool = pool
        # The bot calls from its event loop: with the server away, waiting the pool's full timeout for a
        # connection would hold every other chat too. storage.resilient then answers without the database.
        self.call_timeout = call_timeout
        self._closed = False

    @classmethod
    def open(cls, url: str, *, min_size: int = 1, max_size: int = 4, timeout: float = 10.0,
             statement_timeout: float = 5.0) -> PostgresStore:
        """Connect to `url` (a libpq URL or key=value string), create or update the schema, open the pool.

        `timeout` bounds connecting and waiting for a free connection; `statement_timeout` bounds each query,
        since a query stuck on a lock would otherwise freeze the worker's event loop.
        """
        with _connect(url, timeout) as conn:
            migrate(conn)
        pool = ConnectionPool(url, min_size=min_size, max_size=max_size, timeout=timeout, open=False,
                              name="kolledzh-store", kwargs={"autocommit": True, "row_factory": dict_row},
                              configure=partial(_configure, statement_ms=round(statement_timeout * 1000)))
        # No `check` callback: it would cost a round trip per call. A connection broken by a server restart fails
        # one call and the pool then discards it.
        try:
            pool.open(wait=True, timeout=timeout)
        except PoolTimeout:
            pool.close()
            raise DatabaseUnavailableError(f"no connection could be opened within {timeout:g} s") from None
        return cls(pool)

    def close(self) -> None:
        """Close every connection of the pool; closing twice does nothing."""
        if self._closed:
            return
        self.pool.close()
        self._closed = True

    def _one(self, query: str | sql.Composed, params: dict[str, Any] | list[Any]) -> dict[str, Any] | None:
        """Run one statement and return its first row, or None."""
        with self.pool.connection(timeout=self.call_timeout) as conn:
            return conn.execute(query, params).fetchone()

    def _all(self, query: str, params: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
        """Run one statement and return all its rows."""
        with self.pool.connection(timeout=self.call_timeout) as conn:
            return conn.execute(query, params).fetchall()

    # --- profiles -----------------------------------------------------------------------------
    def profile(self, user_id: int) -> Profile:
        """The user's profile; an empty one for a new user."""
        row = self._one("select lang, grade, city, interests from users where user_id = %s", [user_id])
        return _profile(row) if row else Profile()

    def update_profile(self, user_id: int, **fields: Any) -> Profile:
        """Set some profile fields (others are ignored), creating the user on first use."""
        values = {name: fields[name] for name in PROFILE_FIELDS if name in fields}
        columns = [sql.Identifier(name) for name in values]
        # With nothing to set, a no-op update still locks and returns the row; `created` is never touched.
        updates = sql.SQL(", ").join(sql.SQL("{0} = excluded.{0}").format(c) for c in columns) if columns \
            else sql.SQL("user_id = excluded.user_id")
        query = sql.SQL("insert into users (user_id{columns}) values (%(user_id)s{placeholders}) "
                        "on conflict (user_id) do update set {updates} "
                        "returning lang, grade, city, interests").format(
            columns=sql.SQL("").join(sql.SQL(", ") + c for c in columns),
            placeholders=sql.SQL("").join(sql.SQL(", ") + sql.Placeholder(name) for name in values),
            updates=updates)
        return _profile(self._one(query, {"user_id": user_id, **values}))

    def asked_for_grade(self, user_id: int) -> bool:
        """True if the bot already asked this user's grade; marks it asked otherwise."""
        # The conditional update returns a row only when this call changed the flag: atomic across workers.
        marked = self._one("insert into users (user_id, grade_asked) values (%s, true) on conflict (user_id) "
                           "do update set grade_asked = true where not users.grade_asked returning user_id",
                           [user_id])
        return marked is None

    # --- conversation log -------------------------------------------------------------------------
    def log_question(self, user_id: int, question: str, lang: str, intent: str, answered: bool,
                     details: dict[str, Any]) -> int:
        """Record one answered or unanswered question; returns its id for feedback and /why."""
        row = self._one(
            "with new_user as (insert into users (user_id) values (%(user_id)s) on conflict do nothing) "
            "insert into messages (user_id, question, lang, intent, answered, details) "
            "values (%(user_id)s, %(question)s, %(lang)s, %(intent)s, %(answered)s, %(details)s) returning id",
            {"user_id": user_id, "question": question[:QUESTION_CHARS_KEPT], "lang": lang, "intent": intent,
             "answered": bool(answered), "details": Json(details, dumps=_dumps)})
        return int(row["id"])

    def last_question(self, user_id: int) -> dict[str, Any] | None:
        """The user's most recent question with the details of its answer."""
        return self._one(f"select {MESSAGE_COLUMNS} from messages where user_id = %s order by id desc limit 1",
                         [user_id])

    def add_feedback(self, user_id: int, message_id: int, vote: int) -> bool:
        """Store a 👍 (1) or 👎 (-1) for one of the user's own answers; False for any other id."""
        if message_id not in BIGINTS:  # callback data can carry any integer
            return False
        row = self._one("insert into feedback (user_id, message_id, vote) select %(user_id)s, %(message_id)s, "
                        "%(vote)s where exists (select 1 from messages where id = %(message_id)s "
                        "and user_id = %(user_id)s) returning id",
                        {"user_id": user_id, "message_id": message_id, "vote": vote})
        return row is not None

    def add_comment(self, user_id: int, comment: str) -> None:
        """Attach a comment to the user's latest feedback, or store it on its own."""
        with self.pool.connection(timeout=self.call_timeout) as conn:
            conn.execute(
                "with latest as (select id, comment from feedback where user_id = %(user_id)s "
                "                order by id desc limit 1 for update), "
                "attached as (update feedback set comment = %(comment)s from latest "
                "             where feedback.id = latest.id and latest.comment = '' returning feedback.id) "
                "insert into feedback (user_id, message_id, vote, comment) "
                "select %(user_id)s, 0, 0, %(comment)s::text where not exists (select 1 from attached)",
                {"user_id": user_id, "comment": comment[:QUESTION_CHARS_KEPT]})

    def question(self, user_id: int, message_id: int) -> dict[str, Any] | None:
        """One of the user's own logged questions with its answer's details; None for anyone else's or a bad id."""
        if message_id not in BIGINTS:
            return None
        return self._one(f"select {MESSAGE_COLUMNS} from messages where id = %s and user_id = %s",
                         [message_id, user_id])

    def forget(self, user_id: int) -> None:
        """Delete the user's profile, questions, feedback and comments, in one transaction.

        Unlike SQLite's secure_delete, PostgreSQL keeps deleted rows in its files and WAL until vacuum and
        checkpoints reuse the space; the rows are gone for every query at once.
        """
        with self.pool.connection(timeout=self.call_timeout) as conn:
            conn.execute("with gone_messages as (delete from messages where user_id = %(user_id)s), "
                         "gone_feedback as (delete from feedback where user_id = %(user_id)s) "
                         "delete from users where user_id = %(user_id)s", {"user_id": user_id})

    # --- admin statistics ---------------------------------------------------------------------------
    def stats(self, top: int = 5) -> dict[str, Any]:
        """Users, questions per day, share answered, top and unanswered questions, feedback counts."""
        with self.pool.connection(timeout=self.call_timeout) as conn:
            with conn.pipeline():  # the three queries travel together and are answered together: one round trip
                counts = conn.execute(
                    "select (select count(*) from users) as users, (select count(*) from messages) as questions, "
                    "(select count(*) from messages where answered) as answered, "
                    "(select count(*) from feedback where vote = 1) as up, "
                    "(select count(*) from feedback where vote = -1) as down, "
                    "(select count(*) from feedback where comment != '') as comments")
                days = conn.execute("select to_char(day, 'YYYY-MM-DD') as day, count(*) as n from messages "
                                    "group by day order by day desc limit 7")
                groups = conn.execute("select answered, question, count(*) as n from messages "
                                      "group by answered, question order by min(id)")
            totals, per_day, questions = counts.fetchone(), days.fetchall(), groups.fetchall()
        total = totals["questions"]
        return {
            "users": totals["users"],
            "questions": total,
            "per_day": {row["day"]: row["n"] for row in per_day},
            "answered_share": round(totals["answered"] / total, 3) if total else 0.0,
            "top": _top_questions((r["question"], r["n"]) for r in questions if r["answered"]).most_common(top),
            "top_unanswered": _top_questions((r["question"], r["n"]) for r in questions
                                             if not r["answered"]).most_common(top),
            "feedback": {"up": totals["up"], "down": totals["down"], "comments": totals["comments"]},
        }

    def unanswered(self) -> list[dict[str, Any]]:
        """Questions the bot could not answer, newest first, for the admins' CSV."""
        return self._all("select to_char(day, 'YYYY-MM-DD') as day, lang, intent, question from messages "
                         "where not answered order by id desc", [])


def _top_questions(groups: Iterable[tuple[str, int]]) -> Counter[str]:
    """Question counts by their trimmed lower-case text, from (text, count) groups in order of first asking.

    Python folds the case, as the SQLite store does, so Kazakh and Russian letters fold whatever the server's
    locale; counting in that order breaks ties the same way too.
    """
    counter: Counter[str] = Counter()
    for question, n in groups:
        counter[question.strip().lower()] += n
    return counter


def _profile(row: dict[str, Any]) -> Profile:
    """A Profile from a users row; NULL text columns read as empty, as in the SQLite store."""
    return Profile(row["lang"] or "", row["grade"], row["city"] or "", row["interests"] or "")


def _dumps(value: Any) -> str:
    """JSON text as the SQLite store writes it: non-ASCII letters kept readable."""
    return json.dumps(value, ensure_ascii=False)


def _configure(conn: psycopg.Connection[Any], statement_ms: int) -> None:
    """Set up each new pooled connection: a bound on every statement's time."""
    conn.execute("select set_config('statement_timeout', %s, false)", [str(statement_ms)])


class PostgresConsoleStore:
    """The web console's tables in PostgreSQL (storage.console.ConsoleStore), through the store's pool."""

    def __init__(self, store: PostgresStore):
        self.store = store

    def add_account(self, name: str, role: str, password_hash: str) -> None:
        check_role(role)
        row = self.store._one("insert into console_accounts (name, role, password_hash) values (%s, %s, %s) "
                              "on conflict (name) do nothing returning name", [name, role, password_hash])
        if row is None:
            raise AccountExists(name)

    def set_password(self, name: str, password_hash: str) -> bool:
        with self.store.pool.connection(timeout=self.store.call_timeout) as conn, conn.transaction():
            found = conn.execute("update console_accounts set password_hash = %s where name = %s returning name",
                                 [password_hash, name]).fetchone()
            conn.execute("delete from console_sessions where name = %s", [name])
        return found is not None

    def account(self, name: str) -> dict[str, Any] | None:
        return self.store._one("select name, role, password_hash from console_accounts where name = %s", [name])

    def start_session(self, token_hash: str, name: str, csrf: str, expires: float) -> None:
        self.store._one("with expired as (delete from console_sessions where expires <= %s) "
                        "insert into console_sessions (token_hash, name, csrf, expires) values (%s, %s, %s, %s) "
                        "returning token_hash", [time.time(), token_hash, name, csrf, expires])

    def session(self, token_hash: str) -> dict[str, Any] | None:
        return self.store._one(
            "select s.name, s.csrf, s.expires, a.role from console_sessions s join console_accounts a "
            "on a.name = s.name where s.token_hash = %s and s.expires > %s", [token_hash, time.time()])

    def end_session(self, token_hash: str) -> None:
        self.store._one("delete from console_sessions where token_hash = %s or expires <= %s returning 1",
                        [token_hash, time.time()])

    def log_action(self, name: str, action: str, detail: str = "") -> None:
        self.store._one("insert into console_actions (at, name, action, detail) values (%s, %s, %s, %s) "
                        "returning id", [time.time(), name, action, detail[:COMMENT_CHARS_KEPT]])

    def actions(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.store._all("select id, at, name, action, detail from console_actions order by id desc "
                               "limit %s", [limit])

    def add_flag(self, name: str, question: str, answer: str, lang: str, intent: str, comment: str) -> int:
        row = self.store._one(
            "insert into console_flags (at, name, question, answer, lang, intent, comment) "
            "values (%s, %s, %s, %s, %s, %s, %s) returning id",
            [time.time(), name, question[:QUESTION_CHARS_KEPT], answer[:ANSWER_CHARS_KEPT], lang, intent,
             comment[:COMMENT_CHARS_KEPT]])
        assert row is not None
        return int(row["id"])

    def open_flags(self) -> list[dict[str, Any]]:
        return self.store._all("select * from console_flags where closed_by = '' order by id desc", [])

    def close_flag(self, flag_id: int, name: str) -> bool:
        if flag_id not in STORED_INTEGERS:
            return False
        return self.store._one("update console_flags set closed_by = %s where id = %s and closed_by = '' "
                               "returning id", [name, flag_id]) is not None

    def review_queue(self, limit: int = REVIEW_PAGE) -> list[dict[str, Any]]:
        return self.store._all(
            "select id, to_char(day, 'YYYY-MM-DD') as day, lang, intent, question from messages m "
            "where not answered and not exists (select 1 from console_reviewed r where r.message_id = m.id) "
            "order by id desc limit %s", [limit])

    def mark_reviewed(self, message_id: int, name: str, outcome: str) -> bool:
        if message_id not in STORED_INTEGERS:
            return False
        return self.store._one(
            "insert into console_reviewed (message_id, name, outcome, at) select id, %s, %s, %s from messages "
            "where id = %s and not answered on conflict (message_id) do nothing returning message_id",
            [name, outcome, time.time(), message_id]) is not None

    def overview(self, days: int = 14) -> dict[str, Any]:
        with self.store.pool.connection(timeout=self.store.call_timeout) as conn:
            per_day = conn.execute(
                "select to_char(day, 'YYYY-MM-DD') as day, count(*) as questions, "
                "count(*) filter (where answered) as answered from messages group by day order by day desc "
                "limit %s", [days]).fetchall()
            groups = conn.execute("select intent, lang, answered, count(*) as n from messages "
                                  "group by intent, lang, answered").fetchall()
            totals = conn.execute(
                "select (select count(*) from users) as users, "
                "(select count(*) from feedback where vote = 1) as up, "
                "(select count(*) from feedback where vote = -1) as down, "
                "(select count(*) from feedback where comment != '') as comments").fetchone()
        intents: Counter[str] = Counter()
        langs: Counter[str] = Counter()
        unanswered: Counter[str] = Counter()
        for row in groups:
            intents[row["intent"]] += row["n"]
            langs[row["lang"]] += row["n"]
            if not row["answered"]:
                unanswered[row["intent"]] += row["n"]
        return overview_of([(r["day"], r["questions"], r["answered"]) for r in reversed(per_day)], intents, langs,
                           unanswered, (totals["up"], totals["down"]), totals["users"], totals["comments"])
