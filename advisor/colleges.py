"""College choice: which colleges of the knowledge base answer a question about a place and specialities."""

from __future__ import annotations

import re
from collections.abc import Iterable

from advisor.places import Place
from advisor.safety import folded_text
from knowledge.loader import KnowledgeBase
from knowledge.schema import College, KnowledgeRecord, Speciality
from knowledge.text import stemmed_tokens, tokens
from knowledge.vocabulary import name_words_in_other_language

# Words every college name may have: they tell no college from another (nor does its ownership: «он гос или
# частный?» asks it, and names no «Частное учреждение «Колледж медресе»»).
COMMON_NAME_STEMS = frozenset(s.lower() for s in stemmed_tokens(
    "колледж колледжа колледжи колледжі колледжер kolledzh college государственный мемлекеттік учреждение мекемесі "
    "частное частный жеке меншік жекеменшік имени атындағы ГККП ГКП КГКП ТОО ЖШС"))
# On folded text: «kolledzh» reads «колледж», «College» «цоллеге»; «политех» is a polytechnic college.
SAYS_COLLEGE = re.compile(r"колледж|college|цоллег|политех")
MIN_NAME_STEM = 4  # «там», «у них» are no part of a name
# Kazakh postpositions (folded): «сурет салуға байланысты колледж» is "related to drawing", not «байланыс» (the
# communications of «Энергетика және байланыс колледжі»).
POSTPOSITIONS = frozenset(folded_text("байланысты туралы жайлы жөнінде бойынша").split())


def in_place(record: KnowledgeRecord | None, place: Place | None) -> bool:
    """True for a college in the place (or anywhere, when there is no place)."""
    if not isinstance(record, College) or place is None:
        return isinstance(record, College)
    return record.city == place.city if place.city else record.region == place.region


def colleges_in(kb: KnowledgeBase, place: Place) -> list[College]:
    """The colleges of the place itself (a town's own, without its region)."""
    return [c for c in kb.colleges if in_place(c, place)]


def colleges_around(kb: KnowledgeBase, place: Place) -> list[College]:
    """The colleges of a place and of its region whose source names no town («Петропавлда медициналық колледж»
    finds the North Kazakhstan one, whose record gives only its region)."""
    return [c for c in kb.colleges if in_place(c, place) or place.city and not c.city and c.region == place.region]


def listed_specialities(kb: KnowledgeBase, college: College) -> list[str]:
    """The speciality ids a college's card lists, in its order: known ones, not those it only returned to licence."""
    return [sid for sid in college.specialities if sid not in college.licence_return_listed
            and isinstance(kb.get(sid), Speciality)]


def near(colleges: list[College], place: Place | None) -> list[College]:
    """The colleges in the place; for a town with none, those of its region."""
    here = [c for c in colleges if in_place(c, place)]
    if not here and place and place.city:
        here = [c for c in colleges if c.region == place.region]
    return here


def teaching(kb: KnowledgeBase, speciality_ids: list[str], place: Place | None) -> list[College]:
    """Colleges near the place that teach any of these specialities."""
    return near([c for c in kb.colleges if set(speciality_ids) & set(c.specialities)], place)


def rest_of_region(kb: KnowledgeBase, place: Place | None, speciality_ids: list[str],
                   listed: frozenset[str]) -> list[College]:
    """Colleges of a town's region outside the town and not `listed` yet, teaching the specialities if any are
    given; none when the place is a whole region."""
    if not (place and place.city):
        return []
    return [c for c in kb.colleges if c.region == place.region and c.city != place.city and c.id not in listed
            and (not speciality_ids or set(speciality_ids) & set(c.specialities))]


def best_first(colleges: list[College], speciality_ids: list[str]) -> list[College]:
    """Colleges teaching more of the suggested specialities first, then those with more known details, then in the
    order given (sorting is stable)."""
    return sorted(colleges, key=lambda c: (-len(set(speciality_ids) & set(c.specialities)), -known_details(c)))


def known_details(college: College) -> int:
    """How much the knowledge says about a college: a list of all colleges shows those a teenager can act on first."""
    return bool(college.specialities) + bool(college.website) + bool(college.address)


def name_stems(college: College) -> frozenset[str]:
    """The lower-case stems of a college's names in both languages, its common words left out."""
    names = f"{college.name} {college.name_kk} {name_words_in_other_language(college.name)}"
    return frozenset(s.lower() for s in stemmed_tokens(names)) - COMMON_NAME_STEMS


def named_among(text: str, colleges: Iterable[College], ignored: Iterable[str] = ()) -> College | None:
    """The one college of these that the message's words (from `name_words`) name by a word of its name no other
    of them has («колледж туризма», «bolashaka», «юридический»), or None; `ignored` stems (a place) name none."""
    said = {s.lower() for s in stemmed_tokens(text)} - {s.lower() for s in ignored} - COMMON_NAME_STEMS
    said = {s for s in said if len(s) >= MIN_NAME_STEM}
    stems = {college.id: (college, name_stems(college)) for college in colleges}
    named = [college for cid, (college, own) in stems.items()
             if said & own - frozenset().union(*(other for oid, (_, other) in stems.items() if oid != cid))]
    return named[0] if len(named) == 1 else None


def name_words(text: str, speciality_terms: Iterable[str]) -> str:
    """The words of a message that may name a college: no postposition, and no word naming a speciality unless it
    stands next to «колледж» («колледж туризма», «өнер колледжі»; but «дизайнды қай колледж оқытады» asks who
    teaches design, and «сурет салуға байланысты колледж» is "related to", not «байланыс»)."""
    words = tokens(text)
    beside = {m for n, word in enumerate(words) if SAYS_COLLEGE.search(folded_text(word)) for m in (n - 1, n + 1)}
    terms = {t.lower() for t in speciality_terms}
    return " ".join(word for n, word in enumerate(words) if folded_text(word) not in POSTPOSITIONS
                    and (n in beside or not {s.lower() for s in stemmed_tokens(word)} & terms))
