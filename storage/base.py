"""What the bot needs from a store of users, whichever database holds them: SQLite (one process) or PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

QUESTION_CHARS_KEPT = 500  # enough to read the question back, no more


class StoreError(RuntimeError):
    """The database cannot be used by this version of the bot."""


class NewerDatabaseError(StoreError):
    """The database was written by a newer version of the bot, whose schema this version does not know."""

    def __init__(self, where: str, unknown: list[str]):
        super().__init__(
            f"The database {where} was written by a newer version of the bot (schema changes unknown to this "
            f"version: {', '.join(unknown)}). This version will not use it, so as not to damage data it does not "
            f"understand. Run the newer version of the bot, or restore a backup of the database made by this "
            f"version.")
        self.unknown = unknown


@dataclass
class Profile:
    """What the bot remembers about a user, all optional: language, grade, city, interests."""

    lang: str = ""
    grade: int | None = None
    city: str = ""
    interests: str = ""


@runtime_checkable
class UserStore(Protocol):
    """Users, their profiles, the question log and feedback: the same calls and answers on every backend.

    Conversations and FSM state are not part of it: in workers mode they live in Redis, not in this store.
    """

    def profile(self, user_id: int) -> Profile:
        """The user's profile; an empty one for a new user."""
        ...

    def update_profile(self, user_id: int, **fields: Any) -> Profile:
        """Set some profile fields (others are ignored), creating the user on first use."""
        ...

    def asked_for_grade(self, user_id: int) -> bool:
        """True if the bot already asked this user's grade; marks it asked otherwise."""
        ...

    def log_question(self, user_id: int, question: str, lang: str, intent: str, answered: bool,
                     details: dict[str, Any]) -> int:
        """Record one answered or unanswered question; returns its id for feedback and /why."""
        ...

    def last_question(self, user_id: int) -> dict[str, Any] | None:
        """The user's most recent question with the details of its answer."""
        ...

    def add_feedback(self, user_id: int, message_id: int, vote: int) -> bool:
        """Store a 👍 (1) or 👎 (-1) for one of the user's own answers; False for any other id."""
        ...

    def add_comment(self, user_id: int, comment: str) -> None:
        """Attach a comment to the user's latest feedback, or store it on its own."""
        ...

    def question(self, user_id: int, message_id: int) -> dict[str, Any] | None:
        """One of the user's own logged questions with its answer's details; None for anyone else's or a bad id."""
        ...

    def forget(self, user_id: int) -> None:
        """Delete the user's profile, questions, feedback and comments."""
        ...

    def stats(self, top: int = 5) -> dict[str, Any]:
        """Users, questions per day, share answered, top and unanswered questions, feedback counts."""
        ...

    def unanswered(self) -> list[dict[str, Any]]:
        """Questions the bot could not answer, newest first, for the admins' CSV."""
        ...

    def close(self) -> None:
        """Release the database; closing twice does nothing."""
        ...
