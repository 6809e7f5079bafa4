"""Messages that must not get a speciality list: a teenager in crisis, and requests to break the law.

Matching runs on folded words (Kazakh letters to Russian, Latin typing to Cyrillic), so «өмір сүргім келмейді»,
«омир сургим келмейди» and «omir surgim kelmeidi» are the same phrase. Patterns are word beginnings, so
«покончить»/«покончу» and «өлгім»/«өлгім келеді» share one entry. A false alarm costs one warm message with
helpline numbers; a missed crisis costs far more, so the crisis list leans wide.
"""

from __future__ import annotations

import re
from typing import Literal

from knowledge.text import fold, tokens

Risk = Literal["crisis", "illegal"]
# The sourced record each risk is answered from (helplines; the law and the legal route).
SAFETY_RECORDS: dict[str, str] = {"crisis": "crisis-helplines", "illegal": "fake-documents-illegal"}

CRISIS = (
    # Russian
    "не хочу жить", "не хочется жить", "жить не хочу", "жить не хочется", "незачем жить", "хочу умереть",
    "хочется умереть", "покончить с собой", "поконч с собой", "убить себя", "убью себя", "самоубий", "суицид",
    "повеситься", "повешусь", "выпрыгнуть из окна", "спрыгнуть с крыши", "режу себя", "резать себя", "порезать себя",
    "порезы на руках", "селфхарм", "причиняю себе боль", "причинить себе вред", "никому не нужен", "никому не нужна",
    "никому не нужны", "всем на меня плевать", "лучше бы меня не было", "меня бьют", "меня избивают", "бьет меня",
    "избивает меня", "меня насилуют", "изнасил", "домогается", "домогаются", "надо мной издеваются", "травят в школе",
    "меня травят", "не вижу смысла жить", "режу руки", "режу вены", "вскрыть вены", "вскроюсь", "выпилюсь",
    "выпилиться", "травят", "сил больше нет", "трогает меня", "меня трогает", "страшно домой", "пристает ко мне",
    # Kazakh (folded: ә→а, ө→о, ү→у, ұ→у, і→и, қ→к, ғ→г, ң→н, һ→х)
    "омир сургим келмейди", "омир сургим келмей", "тири жургим келмейди", "олгим келеди", "олип калгым келеди",
    "озимди олтир", "озиме кол жумса", "асылып олгим", "асылып калгым", "омирден кетким", "мени урады",
    "мени сабайды", "ешкимге керек емеспин", "ешкимге кажет емеспин", "ешкимге керегим жок", "зорлады", "зорлык корип",
    "мени корлайды", "буллинг", "урады", "озиме зиян", "уиге баргым келмейди коркамын", "коркамын уйде",
)
ILLEGAL = (
    "купить диплом", "купить аттестат", "купить справку", "купить сертификат", "купить место", "купить оценки",
    "купить корочку", "купить 075", "поддельн", "подделать", "подделка", "фальшив", "липов", "нарисовать справку",
    "сделать справку без", "взятк", "дать на лапу", "занести деньги", "заплатить за поступление",
    "заплатить чтобы поступить", "откат",
    "диплом сатып ал", "аттестат сатып ал", "аныктама сатып ал", "сертификат сатып ал", "орын сатып ал",
    "жалган аныктама", "акшага ал", "акшага сатып", "дәрігерге бармай", "жалган диплом",
    "жалган аттестат", "колдан жаса", "пара бер", "пара берип", "пара беру",
)
# «не хочу жить в общаге» is about housing, not about life.
_WHERE_TO_LIVE = (r"(?! (в|во|с|со|у|на) "
                  r"(общаг|общежит|город|сел|деревн|аул|квартир|интернат|родител|сосед|мам|пап|бабушк))")


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(_plain(fold(p))) for p in phrases) + ")" + _WHERE_TO_LIVE)


def _plain(text: str) -> str:
    """«й» as «и»: Latin typing gives «келмеиди» for «келмейді»."""
    return text.replace("й", "и")


def folded_text(text: str) -> str:
    """The message as folded words separated by single spaces."""
    return _plain(" ".join(fold(word) for word in tokens(text)))


_CRISIS = _pattern(CRISIS)
_ILLEGAL = _pattern(ILLEGAL)


def risk_of(text: str) -> Risk | None:
    """'crisis' when the person may be in danger, 'illegal' when they ask how to break the law, else None."""
    words = folded_text(text)
    if _CRISIS.search(words):
        return "crisis"
    if _ILLEGAL.search(words):
        return "illegal"
    return None
