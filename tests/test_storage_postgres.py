"""What only the PostgreSQL store does: versioned migrations, several workers on one database, secret-safe errors."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from storage.base import NewerDatabaseError, Profile, StoreError
from storage.postgres import (
    KNOWN_MIGRATIONS,
    MIGRATIONS_TABLE,
    DatabaseUnavailableError,
    DatabaseUrlError,
    PostgresStore,
)

PASSWORD = "s3cr%t-Пароль"


def applied_migrations(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute(f"select name from {MIGRATIONS_TABLE} order by applied_at, name")]


# --- migrations ----------------------------------------------------------------------------------------
def test_reopening_applies_each_migration_once(postgres_url: str) -> None:
    PostgresStore.open(postgres_url).close()
    store = PostgresStore.open(postgres_url)
    store.log_question(1, "хочу стать поваром", "ru", "suggest", True, {})
    store.close()
    assert applied_migrations(postgres_url) == KNOWN_MIGRATIONS


def test_a_database_written_by_a_newer_version_is_refused(postgres_url: str) -> None:
    store = PostgresStore.open(postgres_url)
    store.log_question(1, "хочу стать сварщиком", "ru", "suggest", True, {})
    store.close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute(f"insert into {MIGRATIONS_TABLE} (name) values ('m099_from_the_future')")
    with pytest.raises(NewerDatabaseError, match="newer version of the bot.*m099_from_the_future.*backup") as refused:
        PostgresStore.open(postgres_url)
    assert refused.value.unknown == ["m099_from_the_future"]
    assert "kolledzh_test (schema test_" in str(refused.value)  # names the database and schema, for the admin
    with psycopg.connect(postgres_url) as conn:  # left as it was
        assert conn.execute("select count(*) from messages").fetchone()[0] == 1
    assert applied_migrations(postgres_url) == [*KNOWN_MIGRATIONS, "m099_from_the_future"]


def test_workers_starting_together_migrate_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresStore.open(postgres_url), range(4)))
    try:
        assert applied_migrations(postgres_url) == KNOWN_MIGRATIONS
        assert all(store.profile(1) == Profile() for store in stores)
    finally:
        for store in stores:
            store.close()


# --- several workers on one database -------------------------------------------------------------------
@pytest.fixture
def two_workers(postgres_url: str):
    """Two stores on the same database, as two webhook workers hold them."""
    first, second = PostgresStore.open(postgres_url), PostgresStore.open(postgres_url)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_two_workers_see_each_others_writes(two_workers: tuple[PostgresStore, PostgresStore]) -> None:
    first, second = two_workers
    first.update_profile(5, lang="kk", city="Астана")
    assert second.update_profile(5, grade=9) == Profile("kk", 9, "Астана")
    assert first.profile(5) == Profile("kk", 9, "Астана")
    asked = first.log_question(5, "мен бағдарламашы болғым келеді", "kk", "suggest", True, {"top": ["software"]})
    assert second.last_question(5)["id"] == asked
    assert second.add_feedback(5, asked, 1) is True  # the 👍 button pressed on an answer another worker sent
    first.add_comment(5, "рахмет")
    assert second.stats()["feedback"] == {"up": 1, "down": 0, "comments": 1}
    assert second.log_question(6, "где учат на пилота", "ru", "suggest", False, {}) > asked  # one id sequence
    second.forget(5)
    assert first.profile(5) == Profile() and first.last_question(5) is None and first.question(5, asked) is None
    assert first.stats()["users"] == 1


def test_the_grade_is_asked_once_however_many_workers_ask(two_workers: tuple[PostgresStore, PostgresStore]) -> None:
    first, second = two_workers
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: (first, second)[n % 2].asked_for_grade(9), range(16)))
    assert answers.count(False) == 1


def test_comments_from_two_workers_at_once_are_all_kept(two_workers: tuple[PostgresStore, PostgresStore]) -> None:
    first, second = two_workers
    answer = first.log_question(3, "хочу стать поваром", "ru", "suggest", True, {})
    first.add_feedback(3, answer, -1)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: (first, second)[n % 2].add_comment(3, f"комментарий {n}"), range(12)))
    assert first.stats()["feedback"] == {"up": 0, "down": 1, "comments": 12}


# --- connections ---------------------------------------------------------------------------------------
def with_password(url: str, **changes: str) -> str:
    """The connection string with a password (and other parts) changed."""
    return make_conninfo(url, password=PASSWORD, **changes)


def test_an_unreachable_server_is_named_without_the_password(database_url: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = with_password(database_url, port="1")
    with pytest.raises(DatabaseUnavailableError, match="Cannot use the PostgreSQL database.*Connection refused") as e:
        PostgresStore.open(url, timeout=2)
    assert PASSWORD not in str(e.value) and PASSWORD not in caplog.text and e.value.__cause__ is None


def test_a_malformed_url_is_refused_without_showing_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DatabaseUrlError, match="not a valid PostgreSQL connection string") as e:
        PostgresStore.open(f"postgresql://bot:{PASSWORD}@db.example:5432/kolledzh")  # % starts a bad escape
    assert isinstance(e.value, StoreError) and "s3cr" not in str(e.value) and "s3cr" not in caplog.text
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_the_password_in_a_working_url_is_never_logged(postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = PostgresStore.open(with_password(postgres_url))  # the test server trusts loopback: any password works
    store.update_profile(1, lang="ru")
    store.close()
    assert conninfo_to_dict(with_password(postgres_url))["password"] == PASSWORD
    assert PASSWORD not in caplog.text


def test_every_pooled_connection_bounds_its_statements(postgres_url: str) -> None:
    store = PostgresStore.open(postgres_url, statement_timeout=0.25)
    try:
        with store.pool.connection() as conn:
            assert conn.execute("show statement_timeout").fetchone()["statement_timeout"] == "250ms"
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("select pg_sleep(2)")
        assert store.profile(1) == Profile()  # the pool still serves after the cancelled query
    finally:
        store.close()


def test_a_closed_store_refuses_calls(postgres_store: PostgresStore) -> None:
    postgres_store.close()
    with pytest.raises(Exception, match="closed"):
        postgres_store.profile(1)
