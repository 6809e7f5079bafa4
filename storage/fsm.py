"""aiogram FSM storage in the bot's SQLite file, so a quiz in progress survives a restart."""

from __future__ import annotations

from typing import Any, Mapping

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from storage.sqlite import FSM_KEYS, Store


class SqliteStorage(BaseStorage):
    """FSM state and data per bot, chat, forum thread, user and destiny, kept in the `fsm` table."""

    def __init__(self, store: Store):
        self.store = store

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the state (a State or its name; None clears it)."""
        value = state.state if isinstance(state, State) else state
        self.store.fsm_set_state(FSM_KEYS.build(key), value, chat_id=key.chat_id, user_id=key.user_id)

    async def get_state(self, key: StorageKey) -> str | None:
        """The current state's name, or None."""
        return self.store.fsm_get(FSM_KEYS.build(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the data; like aiogram's own storages, only a dict is accepted."""
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        self.store.fsm_set_data(FSM_KEYS.build(key), dict(data), chat_id=key.chat_id, user_id=key.user_id)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the current data ({} when none)."""
        return self.store.fsm_get(FSM_KEYS.build(key))[1]

    async def close(self) -> None:
        """Close the store: aiogram calls this when the dispatcher shuts down."""
        self.store.close()
