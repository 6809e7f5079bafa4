"""The sections of an answer's text, each returned with the records it cites; and the answer assembled from them.

Nothing here searches: the composer decides what to say, these functions say it in the answer's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from advisor.answer import Answer, CollegeSuggestion, ProgrammeSuggestion, SourceRef, SpecialitySuggestion
from advisor.colleges import (
    best_first,
    colleges_around,
    colleges_in,
    known_details,
    listed_specialities,
    near,
    rest_of_region,
    teaching,
)
from advisor.phrases import phrase
from advisor.places import Place
from advisor.render import (
    BODY_CHARS,
    SCREEN_CHARS,
    citation,
    first_sentence,
    fit_message,
    in_language,
    study_length,
    year_span,
)
from advisor.safety import SAFETY_RECORDS
from knowledge.loader import KnowledgeBase
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, Profession, Programme, Speciality

MAX_TAUGHT_SHOWN = 12  # specialities named on a college card; the rest are counted
FEW_COLLEGES = 3  # fewer colleges than this in a place: the answer says the base has only these
MAX_COLLEGES_SHOWN = 6
MAX_SOURCES_SHOWN = 3
ROUTE_LINE_CHARS = 160  # a free route's first sentence shown in a list, if no longer
ALWAYS_FREE = ("free-first-qualification", "state-order")


@dataclass
class Section:
    """A piece of an answer's text and the records it rests on (id -> retrieval score), in the order used."""

    text: str
    cited: dict[str, float] = field(default_factory=dict)
    colleges: list[College] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)  # free-tuition routes listed by number: «третий» picks one


@dataclass(frozen=True)
class Writer:
    """Writes sections for one answer: its language, the person's grade and place."""

    kb: KnowledgeBase
    lang: str
    grade: int | None = None
    place: Place | None = None
    # Orders records by closeness to the question; asked only where a list has nothing better to go by.
    closest_first: Callable[[list[College]], list[College]] | None = None
    # Whether a college is of the specialities' field (by what it teaches, else by its name)
    in_field: Callable[[College, list[str]], bool] | None = None
    skip: frozenset[str] = frozenset()  # colleges this chat has already listed («ещё» shows the next ones)

    def t(self, ru: str, kk: str) -> str:
        """The text in the answer's language."""
        return in_language(self.lang, ru, kk)

    # --- specialities -------------------------------------------------------------------------
    def suggestions(self, specialities: list[SpecialitySuggestion], intro: str = "suggest_intro") -> Section:
        """Numbered specialities, each with its reason (and study length after the person's grade)."""
        lines = [phrase(intro, self.lang)]
        for n, suggestion in enumerate(specialities, 1):
            spec = self._speciality(suggestion.id)
            # The code, short, after the name: «на кого поступать на сварщика?» is answered by it, and the
            # application on egov.kz asks for it.
            code = f" ({spec.code})" if spec.code else ""
            lines.append(f"{n}. {self.spec_name(spec.id)}{code} — {phrase('why', self.lang)}: {suggestion.why}"
                         f"{self._study(spec)}")
        return Section("\n".join(lines), _scores(specialities))

    def speciality_card(self, suggestion: SpecialitySuggestion, length_first: bool = False,
                        code_first: bool = False) -> Section:
        """The details of one speciality: what it is, work, qualifications, study length, code.

        Asked «сколько учиться» or «какой код», the card opens with that: the first line answers the question.
        """
        spec = self._speciality(suggestion.id)
        code = f" ({phrase('code', self.lang)} {spec.code})" if spec.code else ""
        study = self._study(spec, all_grades=self.grade is None)
        length = f"«{self.spec_name(spec.id)}»: " + (study.strip(" ;") if study else phrase("study_unknown", self.lang))
        lines = [length] if length_first else []
        if code_first:
            lines.insert(0, phrase("code_first", self.lang, name=self.spec_name(spec.id), code=spec.code) if spec.code
                         else f"«{self.spec_name(spec.id)}»: {phrase('code_unknown', self.lang)}")
        lines += [f"{self.spec_name(spec.id)}{code}", self.t(spec.description_ru, spec.description_kk)]
        if work := self.t(spec.work_ru, spec.work_kk):
            lines.append(f"{phrase('work', self.lang)}: {work}")
        if quals := self._qualifications(spec):
            lines.append(f"{phrase('qualifications', self.lang)}: {'; '.join(quals)}")
        if not length_first:
            study = self._study(spec, all_grades=True)
            lines.append(study.strip(" ;") if study else phrase("study_unknown", self.lang).capitalize())
        if spec.code_note:
            lines.append(f"{phrase('code_note', self.lang)}: {spec.code_note}")
        return Section("\n".join(lines), _scores([suggestion]))

    def comparison(self, specialities: list[SpecialitySuggestion]) -> Section:
        """Two or more specialities side by side: what each is, leads to and takes to study."""
        lines = [phrase("compare_intro", self.lang)]
        for suggestion in specialities:
            spec = self._speciality(suggestion.id)
            lines.append(f"• {self.spec_name(spec.id)}: {first_sentence(self.t(spec.description_ru, spec.description_kk))}")
            if work := self.t(spec.work_ru, spec.work_kk):
                lines.append(f"  {phrase('work', self.lang)}: {first_sentence(work)}")
            if study := self._study(spec, all_grades=self.grade is None):
                lines.append(f"  {study.strip(' ;')}")
        return Section("\n".join(lines), _scores(specialities))

    def spec_name(self, speciality_id: str) -> str:
        """A speciality's name in the answer's language."""
        spec = self._speciality(speciality_id)
        return self.t(spec.name_ru, spec.name_kk)

    def _speciality(self, speciality_id: str) -> Speciality:
        record = self.kb.get(speciality_id)
        assert isinstance(record, Speciality), speciality_id  # ranking only yields specialities
        return record

    def _qualifications(self, spec: Speciality) -> list[str]:
        """What a graduate is qualified as: the speciality's coded qualifications, then the classifier's other
        qualifications of it kept as profession records («кем с ней работают?» for nursing names the nurse)."""
        named = [f"{q.code + ' ' if q.code else ''}{self.t(q.name_ru, q.name_kk)}" for q in spec.qualifications]
        known = {q.name_ru for q in spec.qualifications}
        named += [self.t(p.name_ru, p.name_kk) for p in self.kb.professions
                  if spec.id in p.specialities and p.name_ru not in known]
        return named

    def _study(self, spec: Speciality, all_grades: bool = False) -> str:
        """Study length after the person's grade (or both grades), where a source gives it."""
        if not all_grades and self.grade is None:
            return ""
        grades = (9, 11) if all_grades else (self.grade,)
        parts = [phrase(f"study_{g}", self.lang, value=value) for g in grades
                 if (value := study_length(spec, g, self.lang))]
        return "; " + "; ".join(parts) if parts else ""

    # --- colleges -----------------------------------------------------------------------------
    def colleges(self, speciality_ids: list[str], named: list[College] | None = None, focus: str = "") -> Section:
        """Colleges named in the question, or teaching these specialities, or all of the place (those teaching the
        speciality in `focus` first, said so)."""
        where = f" — {self.place.label(self.lang)}" if self.place else ""
        if named:
            return self._college_list(phrase("colleges_in", self.lang, where=where), named, speciality_ids)
        if speciality_ids:
            # named, not «these specialities»: a list of colleges may stand under no list of specialities
            what = ", ".join(f"«{self.spec_name(sid)}»" for sid in speciality_ids)
            colleges = teaching(self.kb, speciality_ids, self.place)
            town = colleges_in(self.kb, self.place) if self.place and self.place.city else []
            if colleges and town and not {c.id for c in colleges} & {c.id for c in town}:
                # «Саранда колледж бар ма?» while hairdressing is talked about: taught only elsewhere in the region,
                # so the town's own colleges first, then where the speciality is taught nearest.
                missing = Section(phrase("no_colleges_here", self.lang, where=where, what=what))
                nearby = self._college_list(phrase("colleges_nearby", self.lang, what=what), colleges, speciality_ids)
                return join(missing, self.colleges([], town), nearby)
            if colleges:
                return self._college_list(phrase("colleges_intro", self.lang, what=what, where=where), colleges,
                                          speciality_ids)
            missing = Section(phrase("no_colleges_here", self.lang, where=where, what=what))
            # None teaches them here: the place's colleges of the field first («Акушерское дело» in Almaty: its
            # medical college, whose specialities the knowledge lacks), each closest to the question first
            # («колледж транспорта» puts Шымкент көлік колледжі first). Only here: beside a known speciality the
            # closeness is noise.
            others = self._field_first(self._around(speciality_ids), speciality_ids)
            if not others:
                return missing
            return join(missing, self._college_list(phrase("colleges_in", self.lang, where=where), others, [],
                                                    keep_order=True))
        if not self.place:
            return Section(phrase("ask_place", self.lang))
        colleges = near(self.kb.colleges, self.place)
        if not colleges:
            return Section(phrase("no_colleges_place", self.lang, where=where))
        return self._college_list(phrase("colleges_in", self.lang, where=where), colleges, speciality_ids, focus)

    def _around(self, speciality_ids: list[str]) -> list[College]:
        """The place's colleges, and of a town's region those of the specialities' field whose source names no
        town («петропавлда медколледж»: the North Kazakhstan one)."""
        if not self.place:
            return []
        here = near(self.kb.colleges, self.place)
        if self.place.city and self.in_field:
            here += [c for c in colleges_around(self.kb, self.place)
                     if c not in here and self.in_field(c, speciality_ids)]
        return here

    def _field_first(self, colleges: list[College], speciality_ids: list[str]) -> list[College]:
        """Those of the specialities' field first, then those a teenager can act on (more details known), then by
        closeness to the question."""
        ranked = self.closest_first(colleges) if self.closest_first else colleges
        fits = self.in_field or (lambda college, ids: False)
        return sorted(ranked, key=lambda c: (not fits(c, speciality_ids), -known_details(c)))

    def _college_list(self, head: str, colleges: list[College], speciality_ids: list[str],
                      focus: str = "", keep_order: bool = False) -> Section:
        """A list of colleges under a head, the best first (or in the order given, when `keep_order`),
        without those the chat has seen; the next part of the region, or no more, when all were seen."""
        ranked = colleges if keep_order else best_first(colleges, speciality_ids or [focus])
        ordered = [c for c in ranked if c.id not in self.skip]
        if not ordered:
            # «ещё» after every college of a town: the rest of its region, then no more.
            if rest := rest_of_region(self.kb, self.place, speciality_ids, self.skip):
                head = phrase("colleges_rest_of_region", self.lang, city=self.place.label(self.lang))
                return self._college_list(head, rest, speciality_ids)
            # «тағы бар ма?» after every college of the speciality: the place's other colleges, whose lists of
            # specialities the knowledge may lack.
            around = [*near(self.kb.colleges, self.place), *rest_of_region(self.kb, self.place, [], self.skip)] \
                if self.place and speciality_ids else []
            others = [c for c in around if c.id not in self.skip]
            if others:
                head = phrase("colleges_other_specialities", self.lang, where=self.place.label(self.lang))
                return self._college_list(head, others, [])
            return Section(phrase("no_more_colleges", self.lang))
        if len(ordered) == 1 and not speciality_ids and not self.skip:
            # The one college of a place: its card (what it teaches, where it is) says more than a one-line list.
            card = self.college_card(ordered[0])
            count = [phrase("few_colleges", self.lang, n=1)] if self.place else []
            return Section("\n".join([head, card.text, *count]), card.cited, card.colleges)
        shown = ordered[:MAX_COLLEGES_SHOWN]
        all_unofficial = all(c.unofficial for c in shown)
        lines = [head]
        for college in shown:
            details = ", ".join(part for part in (college.city, college.address, college.website) if part)
            teaches = f" — {phrase('teaches_focus', self.lang, what=self.spec_name(focus))}" \
                if focus in college.specialities else ""
            lines.append(f"• {college.name}" + (f" — {details}" if details else "") + teaches
                         + self._caveats(college, speciality_ids, all_unofficial))
        if len(ordered) > MAX_COLLEGES_SHOWN:
            lines.append(phrase("more_colleges", self.lang, n=len(ordered) - MAX_COLLEGES_SHOWN))
        elif self.place and len(ordered) < FEW_COLLEGES and not self.skip:  # an honest count, not a list passed off as complete
            lines.append(phrase("few_colleges", self.lang, n=len(ordered)))
        span = phrase("year_word", self.lang, year=year_span(c.as_of for c in shown))
        if all_unofficial:  # said once, not on every line
            span += f" ({phrase('unofficial', self.lang)})"
        lines.append(phrase("college_data_year", self.lang, years=span))
        if not self.place:
            lines.append(phrase("ask_place", self.lang))
        return Section("\n".join(lines), {c.id: 0.0 for c in shown}, shown)

    def college_cards(self, colleges: list[College]) -> Section:
        """A few colleges talked about together («а чему у них учат?»), each card shorter."""
        return join(*(self.college_card(c, most_taught=MAX_TAUGHT_SHOWN // 3) for c in colleges[:FEW_COLLEGES]),
                    separator="\n\n")

    def college_card(self, college: College, most_taught: int = MAX_TAUGHT_SHOWN) -> Section:
        """One college: where it is, whether state or private and its languages, what the source says it teaches
        (`most_taught` named, the rest counted), its dormitory when a source says."""
        details = ", ".join(part for part in (college.city or college.region, college.address, college.website,
                                              college.phone) if part)
        lines = [f"{college.name} — {details}"]
        if college.ownership:
            lines.append(phrase(f"college_{college.ownership}", self.lang))
        if college.languages:
            languages = ", ".join(phrase(f"language_{code}", self.lang) for code in college.languages)
            lines.append(phrase("college_languages", self.lang, value=languages))
        taught = [self.spec_name(sid) for sid in listed_specialities(self.kb, college)]
        taught += college.specialities_text
        if taught:
            shown = ", ".join(taught[:most_taught])
            more = phrase("and_more", self.lang, n=len(taught) - most_taught) if len(taught) > most_taught else ""
            lines.append(phrase("college_teaches", self.lang, value=shown + more))
        else:
            lines.append(phrase("college_teaches_unknown", self.lang))
        if college.dormitory is not None:
            lines.append(phrase("dormitory_yes" if college.dormitory else "dormitory_no", self.lang,
                                college=college.name))
        span = phrase("year_word", self.lang, year=college.as_of)
        if college.unofficial:
            span += f" ({phrase('unofficial', self.lang)})"
        lines.append(phrase("college_data_year", self.lang, years=span))
        return Section("\n".join(lines), {college.id: 1.0}, [college])

    def _caveats(self, college: College, speciality_ids: list[str], all_unofficial: bool) -> str:
        """What the answer must not pass off as fact: unofficial data, licences listed to be returned."""
        notes = []
        if set(speciality_ids) & set(college.licence_return_listed):
            notes.append(phrase("licence_return", self.lang))
        if college.unofficial and not all_unofficial:
            notes.append(phrase("unofficial", self.lang))
        return f" ({'; '.join(notes)})" if notes else ""

    # --- free study, admission, questions and answers -------------------------------------------
    def free_routes(self, ranked: dict[str, float], with_quotas: bool, limit: int, numbered: bool = False,
                    shown: tuple[str, ...] = ()) -> Section:
        """The free-tuition routes the search ranked (id -> score), then the ones every answer names; `numbered`
        when they are the answer's options (numbers go on after the `shown` ones: «а ещё варианты есть?»)."""
        # As options, every route in the end: «а ещё варианты есть?» goes on to the ones the search did not rank.
        rest = [r.id for r in self.kb.records["programme"]] if numbered else []
        programmes = [p for pid in dict.fromkeys([*(["quotas"] if with_quotas else []), *ranked, *ALWAYS_FREE, *rest])
                      if pid not in shown and isinstance(p := self.kb.get(pid), Programme)][:limit]
        lines, cited = [phrase("free_intro" if not shown else "free_more", self.lang)], {}
        for number, programme in enumerate(programmes, start=len(shown) + 1):
            cited[programme.id] = ranked.get(programme.id, 0.0)
            told = first_sentence(self.t(programme.summary_ru, programme.summary_kk))
            # a long first sentence (the quotas' list of categories) is the card's: the title says enough here
            told = f": {told}" if len(told) <= ROUTE_LINE_CHARS else ""
            lines.append(f"{f'{number}.' if numbered else '•'} {self.t(programme.title_ru, programme.title_kk)}{told}")
        if not programmes:
            return Section(phrase("no_more_routes", self.lang))
        # the year and the advice to confirm, said once under the list: on every line they pushed the third route
        # off the screen
        if yearly := [p.as_of for p in programmes if p.changes_yearly]:
            lines.append(f"({phrase('yearly', self.lang, year=year_span(yearly))})")
        if numbered:
            lines.append(phrase("routes_pick_hint", self.lang))
        return Section("\n".join(lines), cited, routes=[p.id for p in programmes] if numbered else [])

    def programme(self, programme: Programme) -> Section:
        """One programme in full: what it is and who it is for."""
        return Section(f"{self.t(programme.title_ru, programme.title_kk)}: "
                       f"{self.t(programme.summary_ru, programme.summary_kk)}{self.yearly(programme)}",
                       {programme.id: 1.0})

    def programme_card(self, programme: Programme) -> Section:
        """One route picked from a list: what it is, who it is for, how to apply."""
        lines = [self.programme(programme).text]
        for label, ru, kk in (("who_for", programme.eligibility_ru, programme.eligibility_kk),
                              ("how_to_apply", programme.how_to_apply_ru, programme.how_to_apply_kk)):
            if value := self.t(ru, kk):
                lines.append(f"{phrase(label, self.lang)}: {value}")
        return Section("\n".join(lines), {programme.id: 1.0})

    def quotas(self, programme: Programme, tags: frozenset[str]) -> Section | None:
        """The quotas of the categories the person named, with their share of state-order places."""
        quotas = [q for q in programme.quotas if q.tag in tags]
        if not quotas:
            return None
        lines = [phrase("quota_intro", self.lang)]
        lines += [f"• {self.t(q.category_ru, q.category_kk)} — {q.percent:g} %".replace(".", ",") for q in quotas]
        lines[-1] += self.yearly(programme)
        return Section("\n".join(lines), {programme.id: 1.0})

    def admission_rule(self, record: Admission, score: float, bullet: bool = True) -> Section:
        """One admission rule: its title and text, as a list item or as the answer itself."""
        return Section(f"{'• ' if bullet else ''}{self.t(record.title_ru, record.title_kk)}: "
                       f"{self.t(record.text_ru, record.text_kk)}{self.yearly(record)}", {record.id: score})

    def faq(self, record: Faq, score: float) -> Section:
        """A question-and-answer record's answer: it starts with the answer, never with a question's text."""
        return Section(f"{self.t(record.answer_ru, record.answer_kk)}{self.yearly(record)}", {record.id: score})

    def yearly(self, record: Programme | Admission | Faq) -> str:
        """«(2025 data: check with the college)» after a figure that changes every year."""
        return f" ({phrase('yearly', self.lang, year=record.as_of)})" if record.changes_yearly else ""

    def helplines_note(self) -> Section | None:
        """The close of an answer to a message that may hide a crisis: the first two sentences of the sourced
        helplines record; None when the record is gone (numbers are never made up)."""
        record = self.kb.get(SAFETY_RECORDS["crisis"])
        if not isinstance(record, Faq):
            return None
        sentences = re.split(r"(?<=[.!?])\s+", in_language(self.lang, record.answer_ru, record.answer_kk).strip())
        told = " ".join(sentences[:2])
        return Section(f"{phrase('worry_opening', self.lang)} {told[:1].lower()}{told[1:]}", {record.id: 0.5})

    # --- the answer ---------------------------------------------------------------------------
    def answer(self, question: str, intent: str, sections: list[Section],
               specialities: list[SpecialitySuggestion] | None = None, answered: bool = True,
               closing: Section | None = None) -> Answer:
        """The answer from its sections: the text fitted to one screen with `closing` (kept whole) and the line of
        the sources it cites."""
        body = join(*sections)
        whole = join(body, closing, separator="") if closing else body
        # Colleges answers cite the colleges first: they are what was asked for.
        college_ids = {c.id for c in whole.colleges}
        order = sorted(whole.cited, key=lambda rid: 0 if intent == "colleges" and rid in college_ids else 1)
        records = [record for rid in order if (record := self.kb.get(rid))]
        sources = [source_ref(record, whole.cited[record.id]) for record in records]
        sources_line = ""
        if sources and (answered or closing):
            shown = list(dict.fromkeys(citation(record, self.lang) for record in records))[:MAX_SOURCES_SHOWN]
            sources_line = f"\n\n{phrase('sources', self.lang)}: " + "; ".join(shown)
        closing_text = f"\n\n{closing.text}" if closing else ""
        room = min(BODY_CHARS, SCREEN_CHARS - len(sources_line)) - len(closing_text)  # long citations cost body
        text = fit_message(body.text, room) + closing_text + sources_line
        return Answer(
            question=question, lang=self.lang, intent=intent, answer=text, specialities=specialities or [],
            colleges=[CollegeSuggestion(c.id, c.name, c.city, c.region, c.specialities) for c in whole.colleges],
            programmes=self._programmes(whole, records, text),
            sources=sources, grade=self.grade, city=self.place.label("ru") if self.place else "",
            answered=answered)

    def _programmes(self, whole: Section, records: list[KnowledgeRecord], text: str) -> list[ProgrammeSuggestion]:
        """The routes listed by number and left on the screen (what «второй» picks next), then the other
        programmes cited."""
        shown = [rid for rid in whole.routes if isinstance(p := self.kb.get(rid), Programme)
                 and re.search(rf" {re.escape(self.t(p.title_ru, p.title_kk))}(:|$)", text, re.MULTILINE)]
        routes = [ProgrammeSuggestion(rid, title(self.kb.get(rid), self.lang), option=True) for rid in shown]
        return routes + [ProgrammeSuggestion(r.id, title(r, self.lang)) for r in records
                         if isinstance(r, Programme) and r.id not in shown]


def join(*sections: Section, separator: str = "\n") -> Section:
    """Sections one after the other, as one section citing what each cites (a record cited twice keeps its first
    place and its best score) and listing each college once."""
    cited: dict[str, float] = {}
    colleges: dict[str, College] = {}
    for section in sections:
        for rid, score in section.cited.items():
            cited[rid] = max(score, cited.get(rid, score))
        colleges.update((c.id, c) for c in section.colleges if c.id not in colleges)
    routes = list(dict.fromkeys(rid for section in sections for rid in section.routes))
    return Section(separator.join(s.text for s in sections), cited, list(colleges.values()), routes)


def _scores(specialities: list[SpecialitySuggestion]) -> dict[str, float]:
    return {s.id: s.score for s in specialities}


def source_ref(record: KnowledgeRecord, score: float) -> SourceRef:
    """The structured source of a record, for logs and `ask --json`."""
    return SourceRef(record.id, record.kind, title(record), round(score, 4), record.source)


def title(record: KnowledgeRecord | None, lang: str = "ru") -> str:
    """A short human title of any record, in Kazakh where one is sourced and asked for."""
    kk = lang == "kk"
    if isinstance(record, (Speciality, Profession)):
        return (record.name_kk or record.name_ru) if kk else record.name_ru
    if isinstance(record, College):
        return record.name
    if isinstance(record, (Programme, Admission)):
        return record.title_kk if kk else record.title_ru
    if isinstance(record, Faq):
        return record.question_kk if kk else record.question_ru
    return record.id if record else ""
