"""PostgreSQL storage of users, profiles, the question log and feedback, shared by the bot's webhook workers.

The same calls and answers as the SQLite Store (storage.base.UserStore). Conversations and FSM state are not here:
in workers mode they live in Redis. Every call is one statement (stats: one pipelined round trip), because the bot
makes them synchronously from its event loop.
"""

from __future__ import annotations

import json
import logging
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
