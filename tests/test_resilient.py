"""The stores a worker shares, seen through an outage: answers go on, writes wait and are written once it is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from redis.exceptions import ConnectionError as RedisConnectionError

from storage.base import Profile
from storage.limits import LocalRateLimiter, Verdict
from storage.resilient import ResilientFsmStorage, ResilientLimiter, ResilientStore, StoreUnavailable
from storage.sqlite import Store

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42, destiny="conversation")


class Switchable:
    """Wraps a real store; while `down`, every call fails as a lost connection does."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise OSError("connection refused")
            return method(*args, **kwargs)
        return call


@pytest.fixture
def database(tmp_path: Path) -> Switchable:
    return Switchable(Store.open(tmp_path / "bot.sqlite3"))


def test_reads_give_a_new_users_defaults_and_writes_wait_while_the_database_is_down(database: Switchable) -> None:
    store = ResilientStore(database)
    store.update_profile(1, city="Актобе")
    database.down = True
    assert store.profile(1) == Profile()  # answered as for a new user, not with an error
    assert store.log_question(1, "куда поступить", "ru", "suggest", True, {}) == 0
    store.update_profile(1, grade=9)
    assert store.asked_for_grade(1) is True  # not asked twice on the strength of a lost write
    database.down = False
    assert store.profile(1) == Profile()  # still down for the bot until the background flush finds it back
    assert store.flush() == 3
    assert store.profile(1).grade == 9 and store.profile(1).city == "Актобе"
    assert store.last_question(1)["question"] == "куда поступить"


def test_waiting_writes_keep_their_order_after_the_database_is_back(database: Switchable) -> None:
    store = ResilientStore(database)
    database.down = True
    store.update_profile(1, city="Атырау")
    database.down = False
    store.update_profile(1, city="Тараз")  # behind the waiting write: it waits too, or the old one would win
    store.flush()
    assert store.profile(1).city == "Тараз"


def test_what_cannot_wait_is_refused_in_a_sentence_and_forget_drops_waiting_writes(database: Switchable) -> None:
    store = ResilientStore(database)
    database.down = True
    store.log_question(5, "мой вопрос", "ru", "suggest", True, {})
    with pytest.raises(StoreUnavailable, match="unavailable right now"):
        store.add_feedback(5, 1, 1)
    with pytest.raises(StoreUnavailable):
        store.forget(5)
    assert not store.pending  # nothing of a user who asked to be forgotten is written later
    database.down = False
    store.flush()
    assert store.last_question(5) is None


class FlakyRedis(MemoryStorage):
    """aiogram's memory storage, failing as a lost Redis connection does while `down`."""

    down = False

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        if self.down:
            raise RedisConnectionError("Connection refused")
        return await super().get_data(key)

    async def set_data(self, key: StorageKey, data: Any) -> None:
        if self.down:
            raise RedisConnectionError("Connection refused")
        await super().set_data(key, data)


async def test_conversation_state_is_kept_here_while_redis_is_down_and_written_back() -> None:
    redis = FlakyRedis()
    fsm = ResilientFsmStorage(redis)
    redis.down = True
    await fsm.set_data(KEY, {"focus": "welding"})
    assert await fsm.get_data(KEY) == {"focus": "welding"}  # the thread goes on on this worker
    assert await fsm.get_data(StorageKey(bot_id=1, chat_id=7, user_id=7)) == {}  # others: as new chats
    redis.down = False
    assert await fsm.flush() == 1
    assert await redis.get_data(KEY) == {"focus": "welding"} and not fsm.pending


async def test_throttling_falls_back_to_this_process_while_redis_is_down() -> None:
    class Down:
        async def hit(self, user_id: int) -> Verdict:
            raise RedisConnectionError("Connection refused")
    limiter = ResilientLimiter(Down(), LocalRateLimiter(2, 60))
    assert [(await limiter.hit(7)).allowed for _ in range(3)] == [True, True, False]
