"""Conversation state and follow-ups: «а в Шымкенте?», «второй вариант», «ещё», «рахмет» continue the chat.

The state is a small JSON-able record per chat. The advisor reads it to resolve a short follow-up against what was
said before, and returns the updated state with the answer; the bot persists it, the console keeps it in memory.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from advisor.places import Place, find_place
from knowledge.text import fold, tokens

EXPIRES_SECONDS = 24 * 3600  # a day of silence starts a new conversation
SHORT_WORDS = 5  # follow-ups are short; a longer message is a new question

ORDINALS = {"перв": 1, "втор": 2, "трет": 3, "бирин": 1, "екин": 2, "ушин": 3, "1": 1, "2": 2, "3": 3}
FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    # Word beginnings, folded (Kazakh letters as Russian ones), matched against each word of the message.
    "thanks": ("спасиб", "пасиб", "благодар", "рахмет", "ракмет", "рахмат", "сагбол", "спс", "thank",
               "танк ю", "сенк"),
    "more": ("еще", "ещё", "другие", "други", "тагы", "баска", "больше вариант", "еще вариант"),
    "free": ("бесплатн", "тегин", "грант", "госзаказ", "мемтапсырыс"),
    "colleges": ("колледж", "где учат", "кайда оку", "кайда окит"),
    "length": ("сколько учит", "сколько лет", "сколько учиться", "неше жыл", "канша жыл", "срок обуч"),
    "dormitory": ("общаг", "общежит", "жатакхан"),
    "details": ("подробн", "толыгырак", "толык", "больше о", "расскажи про", "айтшы", "что за"),
    "option": ("вариант", "нуска", "номер"),
}
# Words that carry no subject of their own in a follow-up: «а где в Шымкенте?» is about the place only.
FILLER = frozenset(fold(w) for w in """а и но в во на у по про где там тут это есть ли а ну вот ал ше ма ме ба бе па пе
ғой қайда кайда бар ма мен мне нам можно тоже тогда после класса классов кейін кейин сынып сыныптан ден дан
сколько скок скока учиться учится учить лет год года жыл неше канша қанша оку окиды окимын окимыз оқу какие какой
какая кандай қандай""".split())
CLEARLY_KAZAKH = re.compile(r"[әғқңөұүһі]|\b(ше|ма|ме|бе|па|пе|қайда|кайда|неше|канша|қанша|рахмет|иә|жоқ)\b")


@dataclass
class Conversation:
    """What the advisor remembers of one chat: its language, what it suggested, what is in focus, where."""

    lang: str = ""
    suggested: list[str] = field(default_factory=list)  # speciality ids of the last list, in order
    shown: list[str] = field(default_factory=list)  # every speciality id shown for the current question
    focus: str = ""  # the speciality being talked about
    topic: str = ""  # the last answer's intent
    question: str = ""  # the last question that was a question, not a follow-up
    city: str = ""
    grade: int | None = None
    free_told: bool = False  # the free-tuition summary is said once per conversation
    updated: float = 0.0

    def expired(self, now: float | None = None) -> bool:
        """True after a day of silence."""
        return bool(self.updated) and (now or time.time()) - self.updated > EXPIRES_SECONDS

    def to_json(self) -> dict[str, Any]:
        """A plain dict for storage."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "Conversation":
        """The stored state; unknown or broken fields are dropped rather than trusted."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return cls()


@dataclass(frozen=True)
class FollowUp:
    """A short message read against the conversation: what it asks, about which speciality, where, which grade."""

    kind: str  # thanks, more, free, colleges, length, dormitory, details, option, place, grade, unclear
    speciality: str = ""
    place: Place | None = None
    grade: int | None = None


def conversation_language(text: str, conversation: Conversation, detected: str) -> str:
    """A short message keeps the conversation's language unless it is clearly in the other one."""
    if not conversation.lang or len(tokens(text)) > SHORT_WORDS:
        return detected
    if detected == "kk" and CLEARLY_KAZAKH.search(text.lower()):
        return "kk"
    return conversation.lang if detected != conversation.lang else detected


def read_follow_up(text: str, conversation: Conversation) -> FollowUp | None:
    """The follow-up a short message makes, or None when it is a question of its own."""
    words = [fold(w) for w in tokens(text)]
    if not words or len(words) > SHORT_WORDS:
        return None
    joined = " ".join(words)
    if _has(joined, "thanks"):
        return FollowUp("thanks")
    if not conversation.topic:  # nothing to follow: a fresh question, or too vague to guess
        return FollowUp("unclear") if _looks_like_follow_up(joined) else None
    place = find_place(text)
    grade = _grade(joined)
    content = [w for w in words if w not in FILLER]
    if any(len(w) >= 4 and not _is_follow_up_word(w, place) for w in content):
        return None  # «сколько колледжей в Казахстане» names its own subject: a new question
    focus = _chosen_option(words, conversation) or conversation.focus or \
        (conversation.suggested[0] if conversation.suggested else "")
    for kind in ("more", "free", "length", "dormitory", "colleges", "details"):
        if _has(joined, kind):
            return FollowUp(kind, focus, place, grade)
    if _chosen_option(words, conversation):
        return FollowUp("option", focus, place, grade)
    if place and len(content) <= 2:
        return FollowUp("place", focus, place, grade)
    if grade and len(content) <= 3:
        return FollowUp("grade", focus, place, grade)
    return FollowUp("unclear") if _looks_like_follow_up(joined) else None


def _is_follow_up_word(word: str, place: Place | None) -> bool:
    """A word a follow-up is made of: its vocabulary, an ordinal, a grade or the place it names."""
    if word.isdigit() or _grade(word) or any(word.startswith(stem) for stem in ORDINALS if not stem.isdigit()):
        return True
    if place is not None and place.names(word):
        return True
    return any(word.startswith(fold(stem)) for stems in FOLLOW_UPS.values() for stem in stems if " " not in stem)


def _has(joined: str, kind: str) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(fold(p))}", joined) for p in FOLLOW_UPS[kind])


def chosen_option(text: str, conversation: Conversation) -> str:
    """The speciality of the last list a message picks by its number, or ''."""
    return _chosen_option([fold(w) for w in tokens(text)], conversation)


def _chosen_option(words: list[str], conversation: Conversation) -> str:
    """The speciality «второй вариант» / «екінші нұсқа» / «подробнее про первый» points to."""
    for word in words:
        for stem, n in ORDINALS.items():
            matches = word == stem if stem.isdigit() else word.startswith(stem)  # «11» is a grade, not option 1
            if matches and 0 < n <= len(conversation.suggested):
                return conversation.suggested[n - 1]
    return ""


def _grade(joined: str) -> int | None:
    if re.search(r"(?<!\d)11(?!\d)|одиннадцат|он бир", joined):
        return 11
    if re.search(r"(?<!\d)9(?!\d)|девят|тогыз", joined):
        return 9
    return None


def _looks_like_follow_up(joined: str) -> bool:
    """«а там?», «а это?», «ал ше?»: a reply to something, with nothing to reply to."""
    return bool(re.match(r"^(а|ал|и|но|а там|а это|там|это|ол|сол)\b", joined)) and len(joined.split()) <= 3
