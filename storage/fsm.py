"""aiogram FSM storage in the bot's SQLite file, so a quiz in progress survives a restart."""

from __future__ import annotations

from typing import Any, Mapping

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.storage import Store


class SqliteStorage(BaseStorage):
    """FSM state and data per chat and user, kept in the `fsm` table."""

    def __init__(self, store: Store):
        self.store = store

    @staticmethod
    def _key(key: StorageKey) -> str:
        return f"{key.bot_id}:{key.chat_id}:{key.user_id}:{key.destiny}"

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        self.store.fsm_set_state(self._key(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        return self.store.fsm_get(self._key(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        self.store.fsm_set_data(self._key(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return self.store.fsm_get(self._key(key))[1]

    async def close(self) -> None:
        return None
