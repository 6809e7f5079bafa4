"""What a message asks: its language, intent, grade, place and the person's quota categories."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from advisor.language import LanguageDetector
from advisor.places import Place, find_place
from knowledge.text import fold, normalise, tokens

INTENTS = ("greeting", "suggest", "speciality", "colleges", "free", "admission", "faq", "offtopic")

_INTENT_PATTERNS: dict[str, tuple[str, ...]] = {
    "admission": ("документ", "справк", "срок", "когда подав", "когда прием", "когда приём", "начинается прием",
                  "начинается приём", "начало приема", "начало приёма", "прием документов", "приём документов",
                  "до какого", "дедлайн",
                  "егов", "egov", "экзамен", "вступительн", "подать", "подают", "приемн", "приёмн", "075",
                  "құжат", "мерзім", "қашан", "қабылдау", "емтихан", "тапсыру", "анықтама", "егов"),
    "free": ("бесплат", "грант", "госзаказ", "гос заказ", "квот", "стипенд", "льгот", "серпин", "серпін",
             "жас маман", "дуальн", "целев", "платно", "стоимост", "сколько стоит", "бюджет", "тегін", "тегин",
             "ақысыз", "мемтапсырыс", "шәкіртақы", "жеңілдік", "дуалды", "мақсатты", "ақылы"),
    "colleges": (" где ", " гд ", "қайда", "кайда", "қай колледж", "кай колледж", "какой колледж", "каком колледж",
                 "какие колледж", "каких колледж", "колледжи ", "колледжей", "колледждер",
                 "учебное заведение", "оқу орн", "список колледж"),
    "speciality": ("что такое", "расскажи", "кто такой", "кто такая", "чем занимается", "что делает",
                   "сколько уч", "сколько лет", "скока лет", "скок уч", "скока уч", "скольк уч",
                   "подробнее", "деген не", "туралы айт", "не істейді",
                   "қанша оқу", "қанша жыл", "неше жыл", "кім ол", "деген кім"),
    "suggest": ("хочу", "хачу", "кем стать", "кем быть", "нравит", "люблю", "интерес", "подойд", "посоветуй",
                "куда пойти", "не знаю", "мечтаю", "увлека", "болғым", "болгым", "ұнайды", "унайды", "қызығ",
                "кім бол", "таңда", "жақсы көрем", "армандаймын", "какую специальность", "қай мамандық",
                "қандай мамандық", "какая профессия", "какую профессию"),
}
_GREETINGS = ("привет", "здравств", "здрасьте", "салам", "салем", "добрый", "доброе", "хай", "хелло", "хи",
              "ассалау", "кайырлы", "прив", "ку", "салеметсиз", "салеметсизбе", "калайсын")
# «Who are you?» gets the same introduction as a greeting.
_WHO = re.compile(r"(?<!\w)(кто ты|ты кто|ты бот|вы бот|кто вы|бот или|сен кимсин|сиз кимсиз|бот па|бот ба|"
                  r"адамсын ба)(?!\w)")

_TAG_PATTERNS: dict[str, tuple[str, ...]] = {
    "rural": ("сел", "аул", "деревн", "ауыл", "поселк", "посёлк"),
    "disabled": ("инвалид", "мүгедек", "мугедек", "овз", "ограниченн"),
    "veterans": ("ветеран", "ардагер", "боевых действ", "соғысқа қатыс", "согыска катыс"),
    "orphan": ("сирот", "жетім", "детдом", "без родител"),
    "kandas": ("кандас", "қандас", "оралман", "репатриант"),
}

_GRADE_9 = re.compile(r"(?<!\d)9(?!\d)\s*(?:-?\s*(?:й|ый|го|ого|ти|шы|сынып\w*|класс\w*|кл\b))|"
                      r"(?:после|кейін|кейин|с)\s+9(?!\d)|девят\w*|тоғыз\w*|тогыз\w*")
_GRADE_11 = re.compile(r"(?<!\d)11(?!\d)\s*(?:-?\s*(?:й|ый|го|ого|ти|ші|сынып\w*|класс\w*|кл\b))|"
                       r"(?:после|кейін|кейин|с)\s+11(?!\d)|одиннадцат\w*|он\s+бір\w*|он\s+бир\w*")


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


def detect_grade(text: str) -> int | None:
    """9 or 11 when the message says after which grade; None otherwise."""
    lowered = normalise(text)
    if _GRADE_11.search(lowered):
        return 11
    if _GRADE_9.search(lowered):
        return 9
    return None


def _folded(text: str) -> str:
    """Lower-case text with Kazakh letters folded and latin transliterated, padded for phrase search."""
    return f" {' '.join(fold(w) for w in tokens(text))} "


def _has(text: str, patterns: tuple[str, ...]) -> bool:
    return any(_folded(p).strip() in text for p in patterns)


def detect_intent(text: str) -> str | None:
    """The intent the wording shows, or None when only retrieval can tell."""
    lowered = _folded(text)
    found = {intent for intent, patterns in _INTENT_PATTERNS.items() if _has(lowered, patterns)}
    for intent in ("speciality", "admission", "colleges", "suggest", "free"):
        if intent in found:
            # «где бесплатно учат …» asks for colleges; «бесплатно ли …» alone asks about free routes.
            if intent in ("speciality", "suggest") and "free" in found and "хочу" not in lowered:
                return "free"
            return intent
    words = lowered.split()
    if _WHO.search(lowered):
        return "greeting"
    if words and len(words) <= 4 and any(w == g or (len(g) >= 4 and w.startswith(g))
                                          for w in words for g in _GREETINGS):
        return "greeting"
    return None


def detect_tags(text: str) -> frozenset[str]:
    """Quota categories the person mentions about themselves (rural, disabled, orphan, kandas)."""
    words = _folded(text).split()
    joined = " ".join(words)
    return frozenset(tag for tag, stems in _TAG_PATTERNS.items()
                     if any(w.startswith(fold(s)) for w in words for s in stems if " " not in s)
                     or any(fold(s) in joined for s in stems if " " in s))


def understand(text: str, detector: LanguageDetector, lang: str | None = None, grade: int | None = None,
               place: Place | None = None, interests: tuple[str, ...] = ()) -> Question:
    """Parse a message; explicit lang, grade and place (from options or a profile) win over the text."""
    return Question(
        text=text,
        lang=lang or detector.detect(text),
        intent=detect_intent(text) or "",
        grade=detect_grade(text) or grade,
        place=find_place(text) or place,
        tags=detect_tags(text),
        wants_free=_has(_folded(text), _INTENT_PATTERNS["free"]),
        interests=interests,
    )
