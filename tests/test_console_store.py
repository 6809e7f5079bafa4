"""The console's accounts, sessions, action log, flags and review list: the same answers on SQLite and PostgreSQL,
and `run_bot.py user add` creating the first admin."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.cli import main
from app.wiring import console_store
from storage.base import UserStore
from storage.console import AccountExists, ConsoleStore, SqliteConsoleStore
from storage.sqlite import Store
from web.auth import WeakPassword, hash_password, password_matches


@pytest.fixture
def console(user_store: UserStore) -> ConsoleStore:
    return console_store(user_store)


def test_accounts_are_unique_and_keep_only_a_hash(console: ConsoleStore) -> None:
    console.add_account("aigerim", "admin", hash_password("a long password"))
    with pytest.raises(AccountExists):
        console.add_account("aigerim", "counsellor", hash_password("another password"))
    stored = console.account("aigerim")
    assert stored["role"] == "admin" and "a long password" not in stored["password_hash"]
    assert password_matches(stored["password_hash"], "a long password")
    assert not password_matches(stored["password_hash"], "a long passwort")
    assert console.account("nobody") is None


def test_short_passwords_are_refused() -> None:
    with pytest.raises(WeakPassword):
        hash_password("short")


def test_sessions_expire_and_end_with_a_new_password(console: ConsoleStore) -> None:
    console.add_account("bolat", "counsellor", hash_password("a long password"))
    console.start_session("live", "bolat", "csrf-1", time.time() + 60)
    console.start_session("old", "bolat", "csrf-2", time.time() - 1)
    assert console.session("live")["role"] == "counsellor" and console.session("live")["csrf"] == "csrf-1"
    assert console.session("old") is None
    console.end_session("nothing-to-end")
    assert console.set_password("bolat", hash_password("a new long password"))
    assert console.session("live") is None
    assert not console.set_password("nobody", hash_password("a new long password"))


def test_flags_and_actions_are_listed_newest_first(console: ConsoleStore) -> None:
    first = console.add_flag("bolat", "вопрос 1", "ответ", "ru", "free", "не то")
    second = console.add_flag("bolat", "сұрақ 2", "жауап", "kk", "quota", "қате")
    assert [f["id"] for f in console.open_flags()] == [second, first]
    assert console.close_flag(first, "aigerim") and not console.close_flag(first, "aigerim")
    assert not console.close_flag(10 ** 30, "aigerim")  # a forged id is no flag, not an error
    assert [f["question"] for f in console.open_flags()] == ["сұрақ 2"]
    console.log_action("aigerim", "reload")
    console.log_action("aigerim", "import", "list.csv")
    assert [a["action"] for a in console.actions()] == ["import", "reload"]


def test_the_review_list_holds_unanswered_questions_until_reviewed(user_store: UserStore,
                                                                    console: ConsoleStore) -> None:
    answered = user_store.log_question(1, "хочу стать поваром", "ru", "suggest", True, {})
    waiting = user_store.log_question(2, "где учат на пилота дронов", "ru", "unanswered", False, {})
    assert [q["id"] for q in console.review_queue()] == [waiting]
    assert "user_id" not in console.review_queue()[0]  # the list never says who asked
    assert not console.mark_reviewed(answered, "aigerim", "done")
    assert console.mark_reviewed(waiting, "aigerim", "corpus:suggest")
    assert not console.mark_reviewed(waiting, "aigerim", "done")
    assert console.review_queue() == []


def test_the_overview_counts_questions_languages_and_votes(user_store: UserStore, console: ConsoleStore) -> None:
    first = user_store.log_question(1, "a", "ru", "suggest", True, {})
    user_store.log_question(2, "b", "kk", "suggest", False, {})
    user_store.log_question(2, "c", "kk", "free", True, {})
    user_store.add_feedback(1, first, 1)
    data = console.overview()
    assert data["questions"] == 3 and data["users"] == 2
    assert data["per_day"][0]["questions"] == 3 and data["per_day"][0]["answered"] == 2
    assert data["intents"][0] == ("suggest", 2) and dict(data["langs"]) == {"kk": 2, "ru": 1}
    assert data["unanswered"] == [("suggest", 1)] and data["votes"]["up"] == 1
    assert data["answered_share"] == pytest.approx(0.667, abs=0.001)


def test_user_add_creates_the_first_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("STORAGE__PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.setattr("sys.stdin", _Lines("first admin password\n"))
    assert main(["user", "add", "aigerim", "--role", "admin", "--password-stdin"]) == 0
    assert "created admin 'aigerim'" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", _Lines("short\n"))
    assert main(["user", "add", "bolat", "--role", "counsellor", "--password-stdin"]) == 2
    monkeypatch.setattr("sys.stdin", _Lines("another admin password\n"))
    assert main(["user", "add", "aigerim", "--role", "admin", "--password-stdin"]) == 1
    assert "exists already" in capsys.readouterr().err
    store = Store.open(tmp_path / "bot.sqlite3")
    try:
        console = SqliteConsoleStore(store.db)
        assert password_matches(console.account("aigerim")["password_hash"], "first admin password")
        assert console.actions()[0]["action"] == "account-created"
    finally:
        store.close()


class _Lines:
    """A stdin of fixed text: the CLI reads the password from it with --password-stdin."""

    def __init__(self, text: str):
        self.lines = iter(text.splitlines(keepends=True))

    def readline(self) -> str:
        return next(self.lines, "")
