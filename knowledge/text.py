"""Shared text handling on the lowest floor: normalising, transliteration, tokens and stems of Russian and Kazakh.

Used by retrieval (embeddings/) and by understanding, safety and dialogue (advisor/) alike.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

KAZAKH_LETTERS = set("әғқңөұүһі")
WORD = re.compile(r"[0-9a-zа-яёәғқңөұүһі]+", re.IGNORECASE)

# Latin transliteration as teenagers type it; digraphs first so "sh" wins over "s". «j» is «ж» and «iu» is «ю»
# as Kazakh is typed in Latin letters («jaqsy», «jumys», «kompiuter»), which is most Latin typing the bot sees.
_LATIN_DIGRAPHS = [("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"),
                   ("ts", "ц"), ("yu", "ю"), ("ya", "я"), ("yo", "ё"), ("iu", "ю"), ("ng", "ң"), ("gh", "ғ")]
_LATIN_SINGLE = dict(zip("abvgdezijklmnoprstufhcyqwx", "абвгдезижклмнопрстуфхцықуx"))
_LATIN_SINGLE.update({"x": "кс", "w": "у", "q": "қ"})

# Common Kazakh inflectional endings (case, plural, possessive, verb forms), longest first.
_KAZAKH_ENDINGS = sorted({
    "лардың", "лердің", "дардың", "дердің", "тардың", "тердің", "ларға", "лерге", "дарға", "дерге",
    "тарға", "терге", "ларда", "лерде", "дарда", "дерде", "тарда", "терде", "лардан", "лерден",
    "дардан", "дерден", "тардан", "терден", "ларды", "лерді", "дарды", "дерді", "тарды", "терді",
    "лары", "лері", "дары", "дері", "тары", "тері", "лар", "лер", "дар", "дер", "тар", "тер",
    "ның", "нің", "дың", "дің", "тың", "тің", "ға", "ге", "қа", "ке", "на", "не", "да", "де", "та", "те",
    "дан", "ден", "тан", "тен", "нан", "нен", "ды", "ді", "ты", "ті", "ны", "ні", "мен", "бен", "пен",
    "сы", "сі", "ым", "ім", "ың", "ің", "ыңыз", "іңіз", "мыз", "міз", "ға", "шы", "ші", "лық", "лік",
    "дық", "дік", "тық", "тік", "ғым", "гім", "қым", "кім", "ғың", "гің", "уға", "уге", "у",
}, key=len, reverse=True)
_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
# The same endings typed without Kazakh letters («колледжге», «мамандыктар»).
_KAZAKH_ENDINGS = sorted(set(_KAZAKH_ENDINGS) | {e.translate(_FOLD) for e in _KAZAKH_ENDINGS}, key=len,
                         reverse=True)

# Snowball stemmers keep state while stemming: one per thread, as questions are answered in worker threads.
_local = threading.local()


def _russian_stem(word: str) -> str:
    if not hasattr(_local, "russian"):
        _local.russian = snowballstemmer.stemmer("russian")
    return _local.russian.stemWord(word)


# Words that say nothing about what a person wants to study; dropped before BM25.
# Family words are stop words too: «мама говорит иди на бухгалтера» is about the accountant, and «мама» shares its
# stem with the Kazakh «маман» (specialist) of every speciality's keywords.
STOP_WORDS = frozenset("""
я мне меня мой моя хочу хачу хотел хотела бы на в во и или как где что кто это после с со по для не ли же а но
класс класса классов кл можно нужно надо какой какая какие какую каком есть буду быть стать учиться учат учится
обучение поступить поступать колледж колледжа колледже колледжи колледжей пожалуйста плиз подскажите скажите
мен маған менің сен сіз бар ма ме ба бе па пе керек қалай қайда қай не кім сынып сыныптан кейін болады үшін және
колледж колледжге колледжде колледжі оқу оқимын оқығым оқиды оқуға түсу түскім болғым келеді келед айтыңызшы
қандай кім пен бола болады бер берші маған вот мое моё ещё еще тоже очень просто какой-то
мама папа мать отец родители родаки сын сына дочь дочка дочке ребенок ребёнок
""".split())


def normalise(text: str) -> str:
    """Lower-case, unify letters (ё→е) and drop control characters."""
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    return "".join(ch if ch.isprintable() else " " for ch in text)


def latin_to_cyrillic(text: str) -> str:
    """Transliterate latin-typed Russian or Kazakh back to Cyrillic (e.g. «hachu na povara»)."""
    out = text.lower()
    for latin, cyr in _LATIN_DIGRAPHS:
        out = out.replace(latin, cyr)
    return "".join(_LATIN_SINGLE.get(ch, ch) for ch in out)


def tokens(text: str) -> list[str]:
    """Words of the text, normalised, with latin words transliterated to Cyrillic."""
    words = WORD.findall(normalise(text))
    return [latin_to_cyrillic(w) if w.isascii() and not w.isdigit() else w for w in words]


def fold(word: str) -> str:
    """Kazakh letters to their nearest Russian ones: many type Kazakh on a Russian keyboard."""
    return word.translate(_FOLD)


@lru_cache(maxsize=50_000)
def stems(word: str) -> tuple[str, ...]:
    """Folded stems of one word: its Kazakh stems after one and two endings and, unless the word has Kazakh
    letters, its Russian Snowball stem in capitals.

    Both readings are kept for a word without Kazakh letters because its language is often unclear (Kazakh typed
    on a Russian keyboard, Russian loanwords with Kazakh endings such as «колледжге»); Kazakh words stack endings:
    «дәнекерлеушіге» and «дәнекерлеуші» meet at «дәнекерлеу». The Russian stem is written in capitals so that it
    never meets a Kazakh stem of the same letters: «устала» is not «ұста» (a carpenter), «мало» is not «мал».
    """
    if len(word) <= 3 or word.isdigit():
        return (fold(word),)
    kazakh = [fold(s) for s in _kazakh_stems(word)]
    if KAZAKH_LETTERS & set(word):
        return tuple(dict.fromkeys(kazakh))
    return tuple(dict.fromkeys([_russian_stem(word).upper(), *kazakh]))


def _kazakh_stems(word: str) -> list[str]:
    """The word without its last Kazakh ending, then without one more, keeping stems of three letters or more."""
    found = []
    for _ in range(2):
        ending = next((e for e in _KAZAKH_ENDINGS if word.endswith(e) and len(word) - len(e) >= 3), None)
        if ending is None:
            break
        word = word[: -len(ending)]
        found.append(word)
    return found or [word]


_FOLDED_STOP_WORDS = frozenset(fold(w) for w in STOP_WORDS)


def stemmed_tokens(text: str) -> list[str]:
    """Stems of every word of the text, for BM25."""
    return [s for w in tokens(text) if fold(w) not in _FOLDED_STOP_WORDS for s in stems(w)]


def letters(text: str) -> str:
    """The text character n-grams are read from: folded words, Latin typing transliterated, single spaces."""
    return " ".join(fold(word) for word in tokens(text)).replace("й", "и")


def folded_key(text: str) -> str:
    """Lowercase, Kazakh letters folded, spaces collapsed, edge marks dropped: how names and headers compare."""
    text = fold(normalise(text))
    text = re.sub(r"\s*([-/])\s*", r"\1", text)
    return re.sub(r"\s+", " ", text).strip(" :*.,")
