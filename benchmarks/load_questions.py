"""Questions for the load benchmarks: the evaluation set, or endless new ones built from the knowledge base."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

NextQuestion = Callable[[], str]


def eval_questions() -> list[str]:
    """The 240 evaluation questions."""
    # Imported here, as every project module in this file: a bot process started from this file for another
    # checkout (--serve-instrumented --root) must import the project from that checkout only.
    from advisor.evaluation import load_cases

    return [c.q for c in load_cases(ROOT / "tests" / "eval" / "questions.yaml")]


def repeating_questions(questions: list[str], rng: random.Random) -> NextQuestion:
    """Questions drawn at random from a fixed set: after a while most are answered from the query cache."""
    return lambda: rng.choice(questions)


# Short, as people type in a chat: the encoder's cost grows with a question's length.
RU_TEMPLATES = (
    "хочу стать {profession}, где учиться",
    "{profession} после {grade} куда поступать",
    "на кого учиться на {profession}",
    "колледж в {city} на {speciality}",
    "сколько учиться на {speciality}",
    "нравится {interest}, кем стать",
    "люблю {subject}, какую профессию выбрать",
    "бесплатно на {speciality} в {city}?",
    "я из {city}, хочу {keyword}",
    "{keyword} куда идти после {grade}",
)
KK_TEMPLATES = (
    "{profession} болғым келеді, қайда оқимын",
    "{grade} сыныптан кейін {speciality} бола ма",
    "маған {interest} ұнайды, кім болам",
    "{city} {speciality} колледж бар ма",
    "{subject} ұнайды, қандай мамандық",
    "{keyword} қызық, қайда барамын",
)
FILLERS_RU = ("пожалуйста", "срочно", "хз", "короче", "ну", "помогите")
FILLERS_KK = ("өтінемін", "көмектесіңіз", "рахмет", "жалпы")


@dataclass
class Vocabulary:
    """Words to build questions from, in Russian and Kazakh."""

    professions: tuple[list[str], list[str]]
    specialities: tuple[list[str], list[str]]
    keywords: tuple[list[str], list[str]]
    interests: tuple[list[str], list[str]]
    subjects: tuple[list[str], list[str]]
    cities: list[str]


def vocabulary() -> Vocabulary:
    """Names, keywords and places from the knowledge base, with the schema's interest and subject labels."""
    from knowledge.loader import load_knowledge
    from knowledge.vocabulary import LABELS

    kb = load_knowledge(ROOT / "knowledge" / "data")
    # Official names run to a dozen words; people type short ones, and the encoder's cost grows with the length.

    def short(names: Iterator[str]) -> list[str]:
        return [n.lower() for n in names if n and len(n.split()) <= 3]

    professions = (short(p.name_ru for p in kb.professions), short(p.name_kk for p in kb.professions))
    specialities = (short(s.name_ru for s in kb.specialities), short(s.name_kk for s in kb.specialities))
    records = [*kb.professions, *kb.specialities]
    keywords = ([k for r in records for k in r.keywords_ru], [k for r in records for k in r.keywords_kk])
    interests = {i for s in kb.specialities for i in s.interests}
    subjects = {i for s in kb.specialities for i in s.subjects}

    def labelled(values: set[Any], lang: int) -> list[str]:
        names = (str(getattr(v, "value", v)) for v in values)  # enum members or plain strings
        return sorted(LABELS[n][lang] for n in names if n in LABELS)

    cities = sorted({c.city for c in kb.colleges if c.city} | set(kb.regions()))
    return Vocabulary(professions, specialities, keywords, (labelled(interests, 0), labelled(interests, 1)),
                      (labelled(subjects, 0), labelled(subjects, 1)), cities)


def typo(text: str, rng: random.Random) -> str:
    """One keyboard slip in a word of four letters or more: two letters swapped, one dropped or doubled."""
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word, at = words[i], rng.randrange(1, len(words[i]) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    elif kind == 1:
        word = word[:at] + word[at + 1:]
    else:
        word = word[:at] + word[at] + word[at:]
    words[i] = word
    return " ".join(words)


def reordered(text: str, rng: random.Random) -> str:
    """Two words swapped: the same question typed in another order."""
    words = text.split()
    if len(words) < 3:
        return text
    i, j = rng.sample(range(len(words)), 2)
    words[i], words[j] = words[j], words[i]
    return " ".join(words)


def templated(vocab: Vocabulary, rng: random.Random) -> tuple[str, str]:
    """A question from a template filled with knowledge-base words, and its language."""
    lang = rng.choice((0, 0, 1))  # two Russian questions for one Kazakh, roughly as users write
    template = rng.choice(KK_TEMPLATES if lang else RU_TEMPLATES)

    def pick(pair: tuple[list[str], list[str]]) -> str:
        return rng.choice(pair[lang] or pair[0])  # a Russian word where the Kazakh list is empty

    text = template.format(profession=pick(vocab.professions), speciality=pick(vocab.specialities),
                           keyword=pick(vocab.keywords), interest=pick(vocab.interests),
                           subject=pick(vocab.subjects), city=rng.choice(vocab.cities), grade=rng.choice((9, 11)))
    if rng.random() < 0.2:
        text = f"{text} {rng.choice(FILLERS_KK if lang else FILLERS_RU)}"
    return text, ("kk" if lang else "ru")


def varied(question: str, vocab: Vocabulary, rng: random.Random) -> str:
    """An evaluation question changed as another person would ask it: a place, a grade, a slip, another order."""
    kazakh = bool(re.search("[әіңғүұқөһ]", question.lower()))
    extras = (["мен {city} қаласынанмын", "{grade} сыныптан кейін"] if kazakh else
              ["я из {city}", "после {grade} класса", "живу в {city}", "в {city} есть?", "закончу {grade}"])
    text = question
    for change in rng.sample(("extra", "typo", "order", "case"), rng.randint(1, 2)):
        if change == "extra":
            text = f"{text} {rng.choice(extras).format(city=rng.choice(vocab.cities), grade=rng.choice((9, 11)))}"
        elif change == "typo":
            text = typo(text, rng)
        elif change == "order":
            text = reordered(text, rng)
        else:
            text = text.capitalize() if text[:1].islower() else text.lower()
    return text


def new_questions(seed: int = 1) -> Iterator[str]:
    """Endless questions, never the same text twice: half templated, half changed evaluation questions."""
    rng = random.Random(seed)
    vocab = vocabulary()
    base = eval_questions()
    seen: set[str] = set(base)  # the evaluation questions themselves are not new
    while True:
        for _ in range(100):
            text = templated(vocab, rng)[0] if rng.random() < 0.5 else varied(rng.choice(base), vocab, rng)
            text = " ".join(text.split())
            if text not in seen:
                break
        else:  # a hundred collisions in a row: make one unique rather than loop forever
            text = f"{text} ({len(seen)})"
        seen.add(text)
        yield text


# What a person types next in an ongoing chat: a detail of the last answer, a pick from its list, more, thanks.
FOLLOW_UPS_RU = ("а там есть общежитие?", "а после 9?", "а после 11?", "ещё", "а бесплатно можно?", "первый",
                 "а сколько учиться?", "а зарплата какая?", "а в Алматы?", "спасибо", "рахмет", "а какие экзамены?")
FOLLOW_UPS_KK = ("бірінші", "екіншісі", "тағы", "жатақхана бар ма?", "9-дан кейін ше?", "рахмет", "ақысыз ба?",
                 "Астанада ше?", "қанша жыл оқиды?", "тағы біреу")


def follow_up(lang: str, rng: random.Random) -> str:
    """A follow-up in the user's language; now and then one in the other, as bilingual users write."""
    own, other = (FOLLOW_UPS_KK, FOLLOW_UPS_RU) if lang == "kk" else (FOLLOW_UPS_RU, FOLLOW_UPS_KK)
    return rng.choice(other if rng.random() < 0.1 else own)
