"""What a message asks: its language and intent (from the learned model) and the slots it names.

The intent comes from `advisor.intents.IntentModel`. Word lists remain only for slots (grade, place, quota
category, a free-study condition) and, in advisor/safety.py, as a floor under the crisis and illegal intents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from advisor.intents import Prediction
from advisor.language import LanguageDetector
from advisor.phrases import TOPICS
from advisor.places import Place, find_place
from advisor.safety import folded_text
from knowledge.text import fold, normalise, tokens

# Quota categories a person names, as folded word beginnings (a space inside means a phrase).
_CATEGORY_PATTERNS: dict[str, tuple[str, ...]] = {
    "rural": ("сел", "аул", "деревн", "ауыл", "поселк", "посёлк"),
    "disabled": ("инвалид", "мүгедек", "мугедек", "овз", "ограниченн"),
    "veterans": ("ветеран", "ардагер", "боевых действ", "соғысқа қатыс", "согыска катыс"),
    "orphan": ("сирот", "жетім", "детдом", "без родител", "опекун", "қорғаншы", "ата-анасыз", "атаанасыз"),
    "kandas": ("кандас", "қандас", "оралман", "репатриант"),
    "large_family": ("многодет", "көп балалы", "коп балалы", "көпбалалы", "копбалалы"),
    "low_income": ("малоимущ", "малообеспеч", "аз қамтылған", "аз камтылган", "асп ", "адресн"),
    "military_family": ("военнослужащ", "әскери", "аскери"),
}
# «бесплатно», «на грант» and the like: a condition a question of another intent may carry.
_FREE = re.compile(r"(?<!\w)(бесплат|грант|госзаказ|гос заказ|бюджет|тегин|акысыз|мемтапсырыс|мем тапсырыс)")

_GRADE_9 = re.compile(r"(?<!\d)9(?!\d)\s*(?:-?\s*(?:й|ый|го|ого|ти|шы|дан\b|нан\b|сынып\w*|класс\w*|кл\b))|"
                      r"(?:после|кейін|кейин|с)\s+9(?!\d)|девят\w*|тоғыз\w*|тогыз\w*")
_GRADE_11 = re.compile(r"(?<!\d)11(?!\d)\s*(?:-?\s*(?:й|ый|го|ого|ти|ші|ден\b|нен\b|сынып\w*|класс\w*|кл\b))|"
                       r"(?:после|кейін|кейин|с)\s+11(?!\d)|одиннадцат\w*|он\s+бір\w*|он\s+бир\w*")
# Pairs the model often hesitates between, and the slot that settles each: a named place means colleges,
# a named category means a quota.
_SETTLED_BY_SLOT = {"colleges": "place", "quota": "category"}


@dataclass(frozen=True)
class Question:
    """A message as the advisor understood it."""

    text: str
    lang: str
    intent: str
    grade: int | None = None
    place: Place | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    wants_free: bool = False
    interests: tuple[str, ...] = ()  # from the person's profile (the interest test), strongest first
    also: tuple[str, ...] = ()  # other intents the same message asks
    alternatives: tuple[str, ...] = ()  # the two likeliest intents, for a clarifying question
    colleges: tuple[str, ...] = ()  # college ids a chat points at with «там» / «онда»
    seen_colleges: tuple[str, ...] = ()  # college ids the chat has listed: «ещё» lists the next ones
    focus: str = ""  # the speciality a chat talks about: a place's colleges say which of them teach it
    field_boosts: dict[str, float] = field(default_factory=dict, hash=False)  # per speciality group, from FieldModel
    field: str = ""  # the speciality group the message surely points to, from FieldModel
    near_too: bool = False  # «ещё» asked past what the message points to: suggestions near in meaning are kept too
    worried: bool = False  # the message may hide a crisis (see Prediction.worried): the answer ends with the helplines
    sure: bool = True  # the intent model was sure of the intent (see Prediction.sure)

    def asks(self, intent: str) -> bool:
        """True when the message asks this, first or besides."""
        return self.intent == intent or intent in self.also


def detect_grade(text: str) -> int | None:
    """9 or 11 when the message says after which grade (in any script); None otherwise."""
    for form in (normalise(text), _folded(text)):  # «после 9 класса», «9 synyptan keiin» read as «9 сыныптан кеиин»
        if _GRADE_11.search(form):
            return 11
        if _GRADE_9.search(form):
            return 9
    return None


def bare_grade(text: str) -> int | None:
    """9 or 11 said alone in a short follow-up («а 11?», «9 ше»), where no other number is meant."""
    numbers = re.findall(r"(?<![\d.,])(9|11)(?![\d.,])", text)
    return int(numbers[0]) if len(numbers) == 1 and len(tokens(text)) <= 5 else None


def _folded(text: str) -> str:
    """Lower-case words with Kazakh letters folded and Latin transliterated, padded for phrase search."""
    return f" {' '.join(fold(w) for w in tokens(text))} "


def detect_tags(text: str) -> frozenset[str]:
    """Quota categories the person names (rural, disabled, orphan, kandas, large family, …)."""
    words = _folded(text).split()
    joined = f" {' '.join(words)} "
    return frozenset(tag for tag, stems in _CATEGORY_PATTERNS.items()
                     if any(w.startswith(fold(s)) for w in words for s in stems if " " not in s)
                     or any(fold(s) in joined for s in stems if " " in s))


def wants_free(text: str) -> bool:
    """True when the message asks for free study, whatever else it asks."""
    return bool(_FREE.search(folded_text(text)))


def understand(text: str, detector: LanguageDetector, prediction: Prediction, lang: str | None = None,
               grade: int | None = None, place: Place | None = None, interests: tuple[str, ...] = ()) -> Question:
    """Parse a message; explicit lang, grade and place (from options or a profile) win over the text."""
    named_place = find_place(text)
    tags = detect_tags(text)
    return Question(
        text=text,
        lang=lang or detector.detect(text),
        intent=settle(prediction, {"place": named_place is not None, "category": bool(tags)}),
        grade=detect_grade(text) or grade,
        place=named_place or place,
        tags=tags,
        wants_free=wants_free(text) or "free" in (prediction.intent, *prediction.also),
        interests=interests,
        also=() if prediction.intent == "injection" else prediction.also,
        alternatives=tuple(label for label, _ in prediction.ranked[:2]),
        worried=prediction.worried,
        sure=prediction.sure,
    )


def settle(prediction: Prediction, slots: dict[str, bool]) -> str:
    """The intent to answer: the model's, or when it is unsure, the runner-up whose slot the message names."""
    if prediction.intent == "injection" and prediction.also:
        return prediction.also[0]  # the real question inside the injection
    if slots.get("place") and "colleges" in prediction.also and prediction.intent in ("free", "suggest"):
        return "colleges"  # «где бесплатно учат на медсестру в Астане»: the colleges there, with the free routes
    if prediction.sure or len(prediction.ranked) < 2 or slots.get(_SETTLED_BY_SLOT.get(prediction.intent, "")):
        return prediction.intent  # sure, or the slot it needs is named («қандас болсам…» for a quota)
    runner_up = prediction.ranked[1][0]
    deciding = _SETTLED_BY_SLOT.get(runner_up)
    if deciding and slots.get(deciding):
        return runner_up
    if prediction.guess and prediction.intent in TOPICS and runner_up in TOPICS:
        return "clarify"  # «а это как?» between two topics: one short question beats a wrong answer
    return prediction.intent
