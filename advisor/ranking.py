"""Ranking: which retrieved records a question really names, and the specialities they point to, best first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from advisor.labour import regional_demand
from advisor.places import place_words, places_named
from embeddings.retriever import Hit
from knowledge.loader import KnowledgeBase
from knowledge.schema import LabourFact, Profession, Speciality
from knowledge.text import stemmed_tokens, stems, tokens

# A hit is relevant when a meaningful word of the question names it (in its name, title or keywords),
# or when it is this close in meaning (cosine similarity of the e5 embeddings).
DENSE_RELEVANT = 0.87
MAX_WORDS_FOR_CORRECTIONS = 5
MIN_CORRECTED_TERM = 5  # a four-letter guess is too loose («барам» read as «бармен», «каласында» as «класс»)
PROFILE_INTEREST_BOOST = 1.1
# Sourced demand in the person's region decides between specialities that fit equally, never over a better fit:
# 3 % is less than the gap between a named speciality and a merely related one.
DEMAND_TIP = 1.03
# A speciality far below the best one is a filler, not an option: it matched nothing the person said.
KEEP_ABOVE_BEST = 0.5
# Asked for more («ещё»), the next fillers are kept down to this share of the best tipped score: for «хочу в айти»
# digital technology and telecommunications (0.46 of the best) come next, vocal art (0.25) does not. Read on dev.
KEEP_NEAR_ABOVE_BEST = 0.4
# Words too general to show that a record is about what the person asked.
GENERIC_STEMS = frozenset(stemmed_tokens(
    "специальность специальности мамандық мамандығы профессия профессию кәсіп работа работать жұмыс учеба "
    "студент лет жыл год году сколько неше канша қанша колледжи колледжей колледжда колледжі оқыту обучения "
    "учить учат учиться учится учатся область области облыс облысы облысында"))  # «в актюбинской области» is where
# «после 9 класса», «9 класстан» say a grade, not «начальных классов» (stems taken whole: «класс» is a stop word).
GRADE_STEMS = frozenset(s for w in ("класс", "класса", "классов", "класстан", "сынып", "сыныптан")
                        for s in (*stems(w), "КЛАСС"))


NAME_PHRASE = 2  # words of one speciality's name said together name it over others sharing one word or a keyword


def name_words_said(kb: KnowledgeBase, speciality_id: str, words: Iterable[str]) -> int:
    """How many of the words are words of the speciality's own name or of its professions' names, not only of its
    keywords: «бурение скважин» says two of «Бурение нефтяных и газовых скважин», none of «…разведки
    месторождений…»; «учителя начальных классов» says more of primary teaching than of music teaching."""
    spec = kb.get(speciality_id)
    if not isinstance(spec, Speciality):
        return 0
    names = [spec.name_ru, spec.name_kk, *(f"{p.name_ru} {p.name_kk}" for p in kb.professions
                                             if spec.id in p.specialities)]
    name_stems = set(stemmed_tokens(" ".join(names)))
    return sum(1 for word in words if name_stems.intersection(stems(word)))


def named_by_a_real_word(hit: Hit, relevance: Relevance) -> bool:
    """True when a stem long enough to mean something names the hit: «жер» of «қай жерде», «ден» of «день» name
    nothing, nor does a short typo guess («барам» read as «бармен»)."""
    return any(len(term) >= (4 if term in relevance.question_terms else 5) for term in hit.key_terms)


def found_by(hit: Hit, word: str) -> bool:
    """True when the hit was found by this word of the message (a stem of it is among the hit's key terms)."""
    return not set(hit.key_terms).isdisjoint(stems(word))


@dataclass(frozen=True)
class Relevance:
    """The words of a question that can show a record is about it."""

    question_terms: frozenset[str]
    ignored_terms: frozenset[str]  # general words and the place's name: they name no speciality
    trust_corrections: bool

    @classmethod
    def of(cls, text: str) -> Relevance:
        """The relevance test for one question's text."""
        where = place_words(text)
        # A typo-corrected word alone shows what a short question is about («хачу на павара»), but in a
        # longer message one near-miss word is weak evidence («реши уравнение» is not «управление»).
        content_words = [w for w in tokens(text) if w not in where and stemmed_tokens(w)
                         and len(w) > 2 and not w.isdigit()]
        # A place's Russian stem is upper-cased to keep it from Kazakh stems; its lower-case form is the place too
        # («Жезказгане» → «жезказган», which would otherwise name the «Жезқазған … колледжі» as a correction).
        # The place's own names too: «Shymkentte» stems to «ШЫМКЕНТТ», and «Шымкент көлік колледжі» is not named by it.
        own_names = " ".join(f"{p.city} {p.name_kk}" for p in places_named(where)) if where else ""
        place_terms = {form for w in [*where, *tokens(own_names)] for s in stemmed_tokens(w) for form in (s, s.lower())}
        return cls(frozenset(stemmed_tokens(text)), GENERIC_STEMS | GRADE_STEMS | place_terms,
                   len(content_words) <= MAX_WORDS_FOR_CORRECTIONS)

    @property
    def content_terms(self) -> frozenset[str]:
        """The question's own meaningful words."""
        return self.question_terms - self.ignored_terms

    def names(self, hit: Hit) -> bool:
        """True when a meaningful word of the question (or, in a short one, its correction) names the hit."""
        return self.names_exactly(hit) or (self.trust_corrections and any(
            len(term) >= MIN_CORRECTED_TERM for term in set(hit.key_terms) - self.ignored_terms))

    def names_exactly(self, hit: Hit) -> bool:
        """True when a meaningful word of the question itself, not a typo correction, names the hit."""
        return bool((set(hit.key_terms) - self.ignored_terms) & self.question_terms)

    def keep(self, hits: list[Hit], by_name_only: bool = False) -> list[Hit]:
        """The relevant hits, best first; by_name_only ignores closeness in meaning."""
        return [h for h in hits if self.names(h) or (h.dense >= DENSE_RELEVANT and not by_name_only)]


@dataclass(frozen=True)
class RankedSpeciality:
    """A speciality an answer may suggest, with the profession of the question that leads to it, if any."""

    spec: Speciality
    score: float
    profession: Profession | None = None
    demand: LabourFact | None = None  # sourced demand in the person's region that tipped the order


def rank_specialities(kb: KnowledgeBase, hits: list[Hit], interests: tuple[str, ...], top_k: int,
                      field_boosts: dict[str, float] | None = None, region: str = "",
                      keep_above: float = KEEP_ABOVE_BEST) -> list[RankedSpeciality]:
    """Specialities from speciality and profession hits, best first; the field the message points to (learned,
    advisor/fields.py), the profile's interests and sourced demand in the region tip close ones."""
    scores: dict[str, float] = {}
    professions: dict[str, Profession] = {}
    for hit in hits:
        record = kb.get(hit.id)
        if isinstance(record, Speciality) and hit.score > scores.get(record.id, 0):
            scores[record.id] = hit.score
        elif isinstance(record, Profession):
            for position, sid in enumerate(record.specialities):
                score = hit.score * (0.95 if position == 0 else 0.8)
                if score > scores.get(sid, 0):
                    scores[sid] = score
                    professions[sid] = record
    specs = {sid: spec for sid in scores if isinstance(spec := kb.get(sid), Speciality)}
    if not specs:
        return []
    best = max(scores[sid] for sid in specs)
    kept = [sid for sid in specs if scores[sid] >= best * keep_above]  # fillers go before any tipping
    for sid in kept:
        scores[sid] *= (field_boosts or {}).get(specs[sid].group.value, 1.0)
        if set(interests) & set(specs[sid].interests):
            scores[sid] *= PROFILE_INTEREST_BOOST
    demand = {sid: fact for sid in kept if region and (fact := regional_demand(kb, region, specs[sid]))}
    for sid in demand:
        scores[sid] *= DEMAND_TIP
    ranked = sorted(kept, key=lambda sid: -scores[sid])
    return [RankedSpeciality(specs[sid], scores[sid], professions.get(sid), demand.get(sid)) for sid in ranked[:top_k]]
