"""The composer: decides what one answer says, from the question's intent and the records retrieval finds.

Ranking (advisor/ranking.py), reasons (advisor/reasons.py), college choice (advisor/colleges.py) and the
wording (advisor/sections.py) are separate jobs; this module only chooses and orders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TypeVar

from advisor.answer import Answer, SpecialitySuggestion
from advisor.colleges import MIN_NAME_STEM, SAYS_COLLEGE, colleges_around, in_place, name_stems, name_words, named_among
from advisor.dialogue import college_detail
from advisor.labour import (
    DEMAND_TOPICS,
    GROUPS_OF_FIELD,
    MOST_FACTS,
    facts_about_speciality,
    facts_of_region,
    group_wages,
    wage_table,
)
from advisor.phrases import TOPICS, phrase
from advisor.ranking import (
    KEEP_ABOVE_BEST,
    KEEP_NEAR_ABOVE_BEST,
    NAME_PHRASE,
    Relevance,
    found_by,
    name_words_said,
    named_by_a_real_word,
    rank_specialities,
)
from advisor.reasons import reason
from advisor.render import quoted
from advisor.safety import SAFETY_RECORDS, folded_text
from advisor.sections import Section, Writer, join
from advisor.understanding import Question
from embeddings.retriever import Filters, Hit, HybridRetriever
from knowledge.loader import KnowledgeBase
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, LabourFact, Profession, Programme, Speciality
from knowledge.text import stemmed_tokens, stems, tokens
from knowledge.vocabulary import label

R = TypeVar("R", bound=KnowledgeRecord)

# Matched on folded text: «скок учиться», «сколько лет учат», «қанша жыл оқиды».
ASKS_LENGTH = re.compile(r"(?<!\w)((сколько|скок|скока|скольк)( лет| годов| времени)? уч|срок обуч|неше жыл|"
                         r"канша жыл|канша уакыт|канша ок)")
# Records asked about by their own name: the answer is that record, not a list of nearby ones. On folded text.
NAMED_RECORDS = {"zhas-maman": re.compile(r"(?<!\w)(жас маман|zhas maman)"),
                 "serpin": re.compile(r"(?<!\w)(серпин|serpin)"),
                 # «ЕНТ нужно для колледжа?», but not «ЕНТ для вуза после колледжа».
                 "no-ent-for-college": re.compile(r"^(?!.*(вуз|универ|жоо|joo))(?=.*колледж|.*kolledzh).*(?<!\w)"
                                                  r"(ент|убт|ubt|ent)(?!\w)")}
# Intents answered by fixed records of the knowledge base: the records that may answer each, the search on the
# question choosing among them. The intent decides the topic, so a nearby record of another topic never answers.
RECORDS_FOR: dict[str, tuple[str, ...]] = {
    "free": ("is-college-free", "second-qualification"),
    "speciality_compare": ("working-vs-midlevel",),
    "stipend": ("stipend-amount", "stipend"),
    "admission_dates": ("dates-general", "dates-grade-9", "dates-grade-11", "dates-medical-pedagogical",
                        "dates-creative"),
    "admission_documents": ("documents", "where-to-apply", "apply-online", "who-may-apply"),
    "admission_exams": ("no-ent-for-college", "creative-exams", "pass-mark"),
    "medical_certificate": ("medical-certificate",),
    "ent": ("no-ent-for-college", "university-after-college"),
    "pass_mark": ("pass-mark",),
    "university": ("university-after-college",),
    "grade_choice": ("grade-9-vs-11", "after-9-possible"),
    "dual": ("what-is-dual", "dual-education"),
    "targeted": ("targeted-training", "targeted-obligation", "zhas-maman", "serpin"),
}
# Intents with records that are answered by a handler of their own, never as a second answer's record.
HANDLED_APART = frozenset({"free", "speciality_compare"})
# Intents about a named speciality: asked with a record's intent, they lead the answer.
FIELD_PEERS = 3  # specialities of the field the message surely points to, searched for when few were found
SPECIALITY_INTENTS = ("speciality_length", "speciality_info", "speciality_code")
SAFETY_FAQS = tuple(SAFETY_RECORDS.values())  # said only for a crisis or an illegal request
# Intents whose first record is the core answer, shown too when the search prefers a neighbour of it.
CANONICAL_TOO = frozenset({"admission_documents", "dual"})
# Intents answered with one fixed phrase (chat acts, declines, honest «no data»), and the answer kind they give.
PHRASE_FOR: dict[str, tuple[str, str, bool]] = {
    "greeting": ("greeting", "greeting", True),
    "who_are_you": ("who_are_you", "greeting", True),
    "thanks": ("thanks_reply", "thanks", True),
    "goodbye": ("goodbye", "goodbye", True),
    "feedback": ("feedback_thanks", "feedback", True),
    "more": ("no_list", "clarify", False),
    "pick_option": ("no_list", "clarify", False),
    "back": ("no_list", "clarify", False),
    "change_detail": ("clarify", "clarify", False),
    "offtopic": ("offtopic", "offtopic", False),
    "injection": ("offtopic", "offtopic", False),
}
_KIND_OF = {"admission_dates": "admission", "admission_documents": "admission", "admission_exams": "admission",
            "medical_certificate": "admission", "stipend": "free", "dual": "free", "targeted": "free"}
# Intents a record named by its own name answers («Жас маман», «Серпін», «ЕНТ для колледжа»).
NAMED_RECORD_INTENTS = frozenset({"targeted", "free", "ent", "suggest", "speciality_info", "dual", "university",
                                  "admission_exams", "pass_mark"})
ABBREVIATION = re.compile(r"(?<!\w)[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ]{3,6}(?!\w)")  # «JIHC», «АВПК»: a college's short name
# Intents a message naming one college by its own name asks about that college.
ABOUT_A_COLLEGE = frozenset({"colleges", "speciality_info", "suggest", "clarify"})
# Categories whose college quota no source of ours confirms: the answer says so instead of a figure.
UNCONFIRMED_CATEGORIES = ("orphan", "large_family", "kandas", "low_income", "military_family")


class Composer:
    """Builds one answer for one question over one knowledge base and index."""

    def __init__(self, kb: KnowledgeBase, retriever: HybridRetriever, question: Question, top_k: int,
                 field_of: Callable[[str], str] | None = None):
        self.kb = kb
        self.retriever = retriever
        self.q = question
        self.top_k = top_k
        self.field_of = field_of  # the field a text surely points to ('' if none), by the field model; None without
        self.relevance = Relevance.of(question.text)
        self.folded = folded_text(question.text)  # what the word patterns below are matched on
        self.write = Writer(kb, question.lang, question.grade, question.place, skip=frozenset(question.seen_colleges),
                            closest_first=partial(self._closest_first, kind="college", region=self._region),
                            in_field=self._in_field)
        self.extra: list[Section] = []  # sections answering a second intent of the message, set by compose()

    def compose(self) -> Answer:
        """The answer for the question's intent (and a second one it asks), or an honest 'not found'."""
        lead = next((a for a in self.q.also if a in SPECIALITY_INTENTS), None)
        if lead and self.q.intent in RECORDS_FOR:  # «сколько учиться на повара и есть ли стипендия»: the speciality
            self.q = replace(self.q, intent=lead, also=(self.q.intent,))  # first, the record below it
        intent = self.q.intent
        self.extra = self._also_sections()
        if intent == "clarify":
            return self._clarify()
        if intent == "offtopic" and not self.q.sure and (college := self._named_college()):
            return self.college(college)  # «Almaty Polytechnic College туралы не білесің», read unsure as off-topic
        if intent in PHRASE_FOR:
            key, kind, answered = PHRASE_FOR[intent]
            return self._answer(kind, [Section(phrase(key, self.q.lang))], answered=answered)
        if intent in NAMED_RECORD_INTENTS and (named := self._named_record()):
            section = self.write.programme_card(named) if isinstance(named, Programme) else self.write.faq(named, 1.0)
            return self._answer("free" if isinstance(named, Programme) else "faq", [section])
        if intent in ABOUT_A_COLLEGE and (college := self._named_college()):
            # «көкшетаудағы жоғары техникалық колледжде шаштараз мамандығы бар ма?»: whether it teaches that one;
            # «номер приёмной» asks a contact («телефон» is no telecommunications)
            spec = None if college_detail(self.q.text) else self._speciality_beside(college)
            return self.college_and_speciality(college, spec) if spec else self.college(college)
        handler = {"suggest": self._suggest, "speciality_info": self._speciality,
                   "speciality_length": self._speciality, "speciality_code": self._speciality,
                   "speciality_compare": self._compare, "colleges": self._colleges, "free": self._free,
                   "quota": self._quota, "dormitory": self._dormitory, "paid_cost": self._paid_cost,
                   "pass_mark": self._pass_mark, "salary": self._salary, "demand": self._demand,
                   "targeted": self._targeted}.get(intent)
        answer = (handler() if handler else self._from_records(intent)) or self._faq()
        if answer is None and intent == "suggest":
            # «люблю возиться с малыми» names nothing the knowledge has: ask for more and offer the test, rather than
            # a list by meaning alone or a flat «I don't know».
            return self._answer("vague", [Section(phrase("suggest_unclear", self.q.lang))], answered=False)
        return answer or self.not_found(intent)

    def not_found(self, intent: str) -> Answer:
        """An honest 'I don't have this' with where to look."""
        return self._answer(intent, [Section(phrase("not_found", self.q.lang))], answered=False)

    def suggestion_answer(self, specialities: list[SpecialitySuggestion]) -> Answer:
        """The answer listing ranked specialities with their reasons, then colleges or free routes."""
        only_near = all(s.why == phrase("why_meaning", self.q.lang) for s in specialities)
        # Nothing the message points to: said plainly, not passed off as a match.
        sections = [self.write.suggestions(specialities, intro="only_near" if only_near else "suggest_intro")]
        if self.q.place or self.q.intent == "colleges":
            sections.append(self._blank_line(self.write.colleges([s.id for s in specialities[:3]])))
        if self.q.wants_free:
            sections.append(self._blank_line(self._free_routes(limit=2)))
        elif not self.q.place:
            sections.append(Section(phrase("free_hint", self.q.lang)))
        return self._answer("suggest", sections, specialities)

    def college(self, college: College, detail: str = "") -> Answer:
        """One college's card: where it is and what it teaches; first the contact `detail` asked for, if any."""
        card = self.write.college_card(college)
        if not detail:
            return self._answer("colleges", [card])
        if detail == "ownership":
            return self._answer("colleges", [Section(phrase(f"ownership_{college.ownership or 'unknown'}",
                                                            self.q.lang)), card])
        value = getattr(college, detail)
        if detail == "languages":
            value = ", ".join(phrase(f"language_{code}", self.q.lang) for code in value)
        value = value.rstrip(" .")  # the phrase ends the sentence («…, 25.» would end it twice)
        what = phrase(f"detail_{detail}", self.q.lang)
        first = Section(phrase("college_detail_known", self.q.lang, what=what, value=value) if value
                        else phrase("college_detail_unknown", self.q.lang, what=what))
        return self._answer("colleges", [first, card])

    def colleges_cards(self, colleges: list[College]) -> Answer:
        """The cards of the few colleges a chat talks about."""
        return self._answer("colleges", [self.write.college_cards(colleges)])

    def college_and_speciality(self, college: College, spec: Speciality) -> Answer:
        """«а на парикмахера у них?»: whether the college in focus teaches it, then where it is taught nearby."""
        names = {"college": quoted(college.name), "what": self.write.spec_name(spec.id)}
        chosen = SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk, 1.0, "")
        if spec.id in college.specialities:
            return self._answer("colleges", [Section(phrase("college_has", self.q.lang, **names)),
                                             self.write.college_card(college)], [chosen])
        listed = college.specialities or college.specialities_text
        first = Section(phrase("college_lacks" if listed else "college_list_unknown", self.q.lang, **names),
                        {college.id: 1.0}, [college])
        return self._answer("colleges", [first, self._blank_line(self.write.colleges([spec.id]))], [chosen])

    def _named_college(self) -> College | None:
        """The one college the message names by its own name («расскажи про колледж Мукашева»), if any."""
        # «учить детей в школе» shares words with a school-college's name; an abbreviation («JIHC») names one alone.
        says_college = bool(SAYS_COLLEGE.search(self.folded))
        if not says_college and not ABBREVIATION.search(self.q.text):
            return None
        ignored = self.relevance.ignored_terms
        # «адрес экономического колледжа в Костанае»: the one of the town's with that word; «графикалык дизайнды
        # Алматыда кай колледж окытады» names a speciality, not the college whose name says «дизайн».
        words = name_words(self.q.text, {t for h in self._search(k=12, kinds=("speciality", "profession"),
                                                                by_name_only=True) for t in h.key_terms})
        if says_college and self.q.place and (college := named_among(words, colleges_around(self.kb, self.q.place),
                                                                     ignored)):
            return college
        hits = [h for h in self._search(k=5, kinds=("college",), by_name_only=True)
                if in_place(self.kb.get(h.id), self.q.place)]
        matched = sorted(((len(set(h.key_terms)), h.id) for h in hits), reverse=True)
        if not matched:
            return None
        best, runner_up = matched[0][0], (matched[1][0] if len(matched) > 1 else 0)
        # One college whose name the message spells out, not several sharing «политехнический» or «высший»; or
        # one a proper name the person wrote names alone («Қастеев атындағы колледж», «JIHC»).
        college = self.kb.get(matched[0][1])
        found = [c for h in hits if isinstance(c := self.kb.get(h.id), College)]
        spelt_out = says_college and best >= 4 and best >= 2 * runner_up \
            or self._proper_name_only_in(matched[0][1], hits) \
            or says_college and named_among(words, found, ignored) is college  # «jihc это что за колледж»
        return college if isinstance(college, College) and spelt_out else None

    def _speciality_beside(self, college: College) -> Speciality | None:
        """The speciality a message about a college also names by a word not of the college's name, if any
        («колледж туризма» names tourism only by its name; «жоғары техникалық колледж» names no technology)."""
        own = [stem for stem in name_stems(college) if len(stem) >= MIN_NAME_STEM]
        beside_name = [w for w in tokens(self.q.text)
                       if not any(s.lower().startswith(o) or o.startswith(s.lower()) for s in stems(w) for o in own)]
        named = []
        for hit in self.retriever.search(self.q.text, k=12, filters=Filters(kinds=("speciality", "profession"))):
            found = self.kb.get(hit.id)
            record = self.kb.get(found.specialities[0]) if isinstance(found, Profession) and found.specialities \
                else found
            naming = [w for w in beside_name if found_by(hit, w)]
            # by a word of its name or of its professions' names («государственный» is only a keyword of
            # public administration)
            if self.relevance.names_exactly(hit) and named_by_a_real_word(hit, self.relevance) \
                    and isinstance(record, Speciality) \
                    and (said := name_words_said(self.kb, record.id, naming)):
                named.append(((said, len(naming)), record))
        return max(named, key=lambda item: item[0])[1] if named else None

    def _proper_name_only_in(self, college_id: str, hits: list[Hit]) -> bool:
        """True when a capitalised word of the message names this college and no other found."""
        names = {s for w in re.findall(r"\w+", self.q.text) if w[:1].isupper() and len(w) >= 4
                 for s in stemmed_tokens(w)} - self.relevance.ignored_terms  # not a place («Астана»)
        def named(term: str) -> bool:  # «Қастеев» names «им. Кастеева»
            return any(term.startswith(name) or name.startswith(term) for name in names)
        own = {t for h in hits if h.id == college_id for t in h.key_terms if named(t)}
        others = {t for h in hits if h.id != college_id for t in h.key_terms}
        return bool(own - others)

    def about(self, spec: Speciality) -> Answer:
        """The card, the colleges or the free routes of one chosen speciality."""
        chosen = SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk, 1.0, "")
        if self.q.intent in ("speciality", "speciality_length"):
            return self._speciality_card(chosen)
        cited = Section("", {spec.id: 1.0})
        if self.q.intent == "colleges":
            return self._answer("colleges", [join(cited, self.write.colleges([spec.id]), separator="")], [chosen])
        return self._answer("free", [join(cited, self._free_routes(limit=4, numbered=True), separator="")], [chosen])

    # --- retrieval ----------------------------------------------------------------------------
    def _search(self, k: int, kinds: tuple[str, ...] = (), by_name_only: bool = False) -> list[Hit]:
        """Relevant hits for the question, best first."""
        hits = self.retriever.search(self.q.text, k=k, filters=Filters(kinds=kinds))
        return self.relevance.keep(hits, by_name_only)

    def _specialities(self, by_name_only: bool = False) -> list[SpecialitySuggestion]:
        """The ranked specialities for the question, each with its reason; by_name_only: those it names."""
        found = self.retriever.search(self.q.text, k=12, filters=Filters(kinds=("speciality", "profession")))
        hits = self.relevance.keep(found, by_name_only)
        if self.q.field and not by_name_only:  # in the field the message surely points to: relevant too
            hits += [h for h in found if h not in hits and self.q.field in self._groups(h.id)]
            # «men kompiuterdi jaqsy koremin» may find one IT speciality among the twelve: the field's nearest
            # others join it, scored below what the message found.
            in_field = self.retriever.search(self.q.text, k=self.top_k if self.q.near_too else FIELD_PEERS,
                                             filters=Filters(kinds=("speciality",), group=self.q.field))
            floor = min((h.score for h in hits), default=0.0)
            hits += [replace(h, score=min(h.score, floor)) for h in in_field if h.id not in {x.id for x in hits}]
        # «ещё» past what the message points to keeps fillers near the best once the field has tipped them: each then
        # says it is only near in meaning.
        ranked = rank_specialities(self.kb, hits, self.q.interests, self.top_k, self.q.field_boosts, self._region,
                                   keep_above=0.0 if self.q.near_too else KEEP_ABOVE_BEST)
        if self.q.near_too and ranked:
            ranked = [r for r in ranked if r.score >= ranked[0].score * KEEP_NEAR_ABOVE_BEST]
        suggestions = [SpecialitySuggestion(r.spec.id, r.spec.code or "", r.spec.name_ru, r.spec.name_kk,
                                            round(r.score, 4),
                                            reason(r, self.relevance, self.q.interests, self.q.lang, self.q.field))
                       for r in ranked]
        # A suggestion only near in meaning is filler beside ones the message points to: dropped, unless the person
        # asked for more than those (each then says that it is only near in meaning).
        meaningful = [s for s in suggestions if s.why != phrase("why_meaning", self.q.lang)]
        if self.q.near_too:
            return meaningful + [s for s in suggestions if s not in meaningful]
        return meaningful or suggestions

    def _groups(self, record_id: str) -> set[str]:
        """The speciality groups a speciality or profession record belongs to."""
        record = self.kb.get(record_id)
        ids = record.specialities if isinstance(record, Profession) else [record_id]
        return {spec.group.value for sid in ids if isinstance(spec := self.kb.get(sid), Speciality)}

    def _named_record(self) -> Programme | Faq | None:
        """The one programme or question the message names by its own name («Жас маман», «ЕНТ»), if any."""
        named = [rid for rid, pattern in NAMED_RECORDS.items() if pattern.search(self.folded)]
        record = self.kb.get(named[0]) if len(named) == 1 else None
        return record if isinstance(record, (Programme, Faq)) else None

    def _suggest(self) -> Answer | None:
        specialities = self._specialities()
        return self.suggestion_answer(specialities) if specialities else None

    def _speciality(self) -> Answer | None:
        specialities = self._best_named(self._specialities())[:1]  # «сметное дело» is not «Маркшейдерское дело»
        # «расскажи про сварочное дело»: the field model reads «дело» as mining and may rank welding out; the
        # speciality named by more words of its own name is the one asked about.
        said = self._content_words()
        named = self._named_speciality()
        named_words = name_words_said(self.kb, named.id, said) if named else 0
        if named and named_words >= NAME_PHRASE \
                and (not specialities or name_words_said(self.kb, specialities[0].id, said) < named_words):
            specialities = [SpecialitySuggestion(named.id, named.code or "", named.name_ru, named.name_kk, 1.0, "")]
        return self._speciality_card(specialities[0]) if specialities else None

    def _speciality_card(self, suggestion: SpecialitySuggestion) -> Answer:
        asks_length = self.q.asks("speciality_length") or bool(ASKS_LENGTH.search(self.folded))
        card = self.write.speciality_card(suggestion, length_first=asks_length,
                                          code_first=self.q.intent == "speciality_code")
        sections = [card, self._blank_line(self.write.colleges([suggestion.id]))]
        return self._answer("speciality", sections, [suggestion])

    def _compare(self) -> Answer | None:
        """Two named specialities side by side; one found is described alone, none is an honest 'not found'."""
        specialities = self._specialities()[:2]
        if len(specialities) < 2 and self._names("working-vs-midlevel"):  # «чем 3W от 4S отличается»
            return self._from_records("speciality_compare")
        if len(specialities) < 2:
            return self._speciality()
        return self._answer("speciality", [self.write.comparison(specialities)], specialities)

    def _colleges(self) -> Answer | None:
        if not self.q.place:  # «где учат на повара?»: suggest, then ask where
            return self._suggest()
        # «какие вообще колледжи есть в Костанае» names no speciality: all the place's colleges, not guessed ones.
        # «графикалык дизайнды Алматыда кай колледж окытады» names a speciality: the colleges teaching it, not the
        # one whose name says «дизайн»; a college spelt out by name is still that college.
        specialities = self._best_named(self._specialities(by_name_only=True)[:3])
        named = [c for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if in_place(c := self.kb.get(h.id), self.q.place) and isinstance(c, College)] \
            if not specialities else []
        listed = self.write.colleges([s.id for s in specialities], named=named, focus=self.q.focus)
        sections = [join(listed, Section("", {s.id: s.score for s in specialities}), separator="")]
        if self.q.wants_free:
            sections.append(self._blank_line(self._free_routes(limit=2)))
        return self._answer("colleges", sections, specialities)

    def _content_words(self) -> list[str]:
        """The words of the question that may name what it is about: not a place, not a general word."""
        return [w for w in tokens(self.q.text) if self.relevance.ignored_terms.isdisjoint(stems(w))]

    def _best_named(self, specialities: list[SpecialitySuggestion]) -> list[SpecialitySuggestion]:
        """Of the specialities a message names, those it names by most words of their own names and their
        professions': «учителя начальных классов» is primary teaching, not every teacher's speciality."""
        said = self._content_words()
        counts = [name_words_said(self.kb, s.id, said) for s in specialities]
        top = max(counts, default=0)
        return [s for s, n in zip(specialities, counts, strict=True) if n == top] if top >= NAME_PHRASE \
            else specialities

    def _free(self) -> Answer | None:
        if self.q.tags:
            return self._quota()
        sections = self._record_sections("free")  # in general, or «вторая квалификация тоже бесплатно?»
        sections.append(self._blank_line(self._free_routes(limit=3 if sections else 4, numbered=True)))
        return self._answer("free", sections)

    def programme(self, programme: Programme) -> Answer:
        """One free-tuition route picked from a list: «расскажи про третий»."""
        return self._answer("free", [self.write.programme_card(programme)])

    def more_routes(self, shown: tuple[str, ...]) -> Answer:
        """«а ещё варианты есть?» after a list of routes: the next ones, numbered on, or that there are no more."""
        return self._answer("free", [self._free_routes(limit=3, numbered=True, shown=shown)])

    def _quota(self) -> Answer | None:
        """The quota of the category asked about, from sourced facts; never another category's figure."""
        programme = self.kb.get("quotas")
        if not isinstance(programme, Programme):
            return None
        confirmed = self.write.quotas(programme, self.q.tags)
        unconfirmed = [t for t in UNCONFIRMED_CATEGORIES if t in self.q.tags]
        sections = [confirmed] if confirmed else []
        # «Not confirmed» rests on the order's list of categories: it is cited, without another category's figure.
        sections += [Section(phrase("quota_unconfirmed", self.q.lang, category=phrase(f"category_{tag}", self.q.lang)),
                             {programme.id: 1.0}) for tag in unconfirmed]
        if "kandas" in self.q.tags and isinstance(who := self.kb.get("foreigners"), Faq):
            sections.append(self._blank_line(self.write.faq(who, 1.0)))  # kandas may apply, by the admission rules
        if not sections:  # no category named: what the quotas are
            sections = [Section(phrase("quota_general", self.q.lang)), self.write.programme(programme)]
        return self._answer("free", sections)

    def _pass_mark(self) -> Answer | None:
        """How free places are won: a competition on the certificate's average, nothing guaranteed."""
        answer = self._from_records("pass_mark")
        if answer and any(ch.isdigit() for ch in self.q.text):  # «с 3.8 пройду?»: the chances come first
            answer.answer = f"{phrase('chances', self.q.lang)}\n{answer.answer}"
        return answer

    def _paid_cost(self) -> Answer:
        """No sourced fees: say so and where to ask, and that the first working qualification is free."""
        free = self.kb.get("free-first-qualification")
        sections = [Section(phrase("paid_unknown", self.q.lang))]
        if isinstance(free, Programme):
            sections.append(self._blank_line(self.write.programme(free)))
        return self._answer("paid", sections, answered=False)

    def _demand(self) -> Answer:
        """Demand for a named speciality, in the asked region or in the country, only as sources give it."""
        spec = self._named_speciality()
        region = self._region
        facts = facts_about_speciality(self.kb, spec, DEMAND_TOPICS) if spec else []
        if spec and facts:
            lead = phrase("demand_speciality", self.q.lang, name=self.write.spec_name(spec.id))
        elif spec and (facts := [f for f in facts_of_region(self.kb, "", ("demand", "professions"))
                                 if spec.group in f.groups]):
            # «она востребована?» about nursing: no source names it, but the forecasts name medicine
            lead = phrase("demand_field", self.q.lang, name=self.write.spec_name(spec.id),
                          field=label(spec.group.value, self.q.lang))
        elif spec:  # nothing sourced about this one or its field: said plainly, then what holds for all graduates
            lead = phrase("demand_speciality_unknown", self.q.lang, name=self.write.spec_name(spec.id))
            facts = facts_of_region(self.kb, "", ("employment",))
        elif region and (facts := facts_of_region(self.kb, region, DEMAND_TOPICS)):
            lead = phrase("demand_region", self.q.lang, place=self.q.place.label(self.q.lang))
        else:  # the country's facts, those closest to the question first: «работу найду?» gets employment first
            country = facts_of_region(self.kb, "", ("demand", "professions", "employment"))
            facts = self._closest_first(country, "labour")
            key = "demand_jobs" if facts and facts[0].topic == "employment" else "demand_country"
            lead = phrase("demand_region_unknown" if region else key, self.q.lang,
                          place=self.q.place.label(self.q.lang) if self.q.place else "")
        if spec and (work := self.write.t(spec.work_ru, spec.work_kk)):
            lead += f"\n{phrase('work', self.q.lang)}: {work}"  # «куда с ней берут?»: where its graduates work
        return self._labour_answer("salary", lead, facts)

    def _in_field(self, college: College, speciality_ids: list[str]) -> bool:
        """True when the college teaches a speciality of these specialities' fields, or (its list unknown) its name
        surely points to one of them, as the field model reads it («Высший медицинский колледж» for midwifery)."""
        fields = {spec.group.value for sid in speciality_ids if isinstance(spec := self.kb.get(sid), Speciality)}
        taught = {spec.group.value for sid in college.specialities if isinstance(spec := self.kb.get(sid), Speciality)}
        if taught or self.field_of is None:
            return bool(fields & taught)
        return self.field_of(college.name) in fields

    def _closest_first(self, records: list[R], kind: str, region: str = "") -> list[R]:
        """The records of one kind (in one region) ordered by closeness to the question in meaning."""
        every = Filters(kinds=(kind,), region=region)
        hits = self.retriever.search(self.q.text, k=len(self.kb.records[kind]), filters=every)
        rank = {hit.id: n for n, hit in enumerate(hits)}
        return sorted(records, key=lambda r: rank.get(r.id, len(rank)))

    @property
    def _region(self) -> str:
        """The region the question names, or empty."""
        return self.q.place.region if self.q.place else ""

    def _salary(self) -> Answer:
        """Average wages of the occupation groups a speciality's graduates join, or of the region, with the year."""
        spec = self._named_speciality()
        table = wage_table(self.kb, self._region)
        if spec and (facts := facts_about_speciality(self.kb, spec, ("wages",))):  # a source gives its own figure
            lead = phrase("salary_speciality", self.q.lang, name=self.write.spec_name(spec.id))
            return self._labour_answer("salary", lead, facts)
        if table is None:
            unknown = Section(phrase("salary_unknown", self.q.lang))
            return self._answer("salary", [unknown], answered=False)
        place = self.q.place.label(self.q.lang) if self.q.place and table.region else \
            phrase("whole_country", self.q.lang)
        groups = GROUPS_OF_FIELD.get(spec.group, (3,)) if spec else (0,)
        lines = group_wages(table, groups, self.q.lang)
        key = "salary_groups" if spec else "salary_region"
        name = self.write.spec_name(spec.id) if spec else ""
        lead = phrase(key, self.q.lang, name=name, place=place, year=table.period)
        sections = [Section("\n".join([lead, *(f"• {line}" for line in lines)]), {table.id: 1.0})]
        if spec:
            sections.append(Section(phrase("salary_group_note", self.q.lang, year=table.period)))
        sections.append(Section(phrase("labour_confirm", self.q.lang)))
        return self._answer("salary", sections)

    def _targeted(self) -> Answer | None:
        """How targeted training works, then how many places it has, in the asked region and the country."""
        sections = self._record_sections("targeted")
        region = self._region
        facts = [*(facts_of_region(self.kb, region, ("targeted",)) if region else []),
                 *facts_of_region(self.kb, "", ("targeted",))]
        if sections and facts:
            sections.append(self._blank_line(self._facts_section(facts[:2])))
        return self._answer("free", sections) if sections else None

    def _labour_answer(self, kind: str, lead: str, facts: list[LabourFact]) -> Answer:
        """The lead line, at most three sourced facts with their years, and where to check them."""
        sections = [Section(lead)] if lead else []
        if facts:
            sections.append(self._facts_section(facts))
        sections.append(Section(phrase("labour_confirm", self.q.lang)))
        return self._answer(kind, sections, answered=bool(facts))

    def _facts_section(self, facts: list[LabourFact]) -> Section:
        shown = facts[:MOST_FACTS]
        return Section("\n".join(f"• {self.write.t(f.text_ru, f.text_kk)}" for f in shown), {f.id: 1.0 for f in shown})

    def _named_speciality(self) -> Speciality | None:
        """The speciality the message names by name («сварщик», «бухгалтер»), if any.

        A typo correction does not count here: «жұмыс табам ба» must not become a question about «тағам».
        """
        hits = self.retriever.search(self.q.text, k=12, filters=Filters(kinds=("speciality", "profession")))
        named = [h for h in hits if self.relevance.names_exactly(h)]
        records = [self.kb.get(r.specialities[0]) if isinstance(r := self.kb.get(h.id), Profession) and r.specialities
                   else r for h in named]
        specialities = [r for r in records if isinstance(r, Speciality)]
        # «электр саласында жалақы … Электр жабдықтары (түрлері мен салалары бойынша)» names electrical equipment by
        # three words of its name, not welding, whose electric welder the word «электр» also names
        said = self._content_words()
        counts = [name_words_said(self.kb, r.id, said) for r in specialities]
        if counts and max(counts) >= NAME_PHRASE:
            return specialities[counts.index(max(counts))]
        return records[0] if records and isinstance(records[0], Speciality) else None

    def _from_records(self, intent: str) -> Answer | None:
        """The record that answers an intent of RECORDS_FOR; the search on the question picks among them."""
        sections = self._record_sections(intent)
        return self._answer(_KIND_OF.get(intent, "faq"), sections) if sections else None

    def _record_sections(self, intent: str) -> list[Section]:
        candidates = [r for rid in RECORDS_FOR.get(intent, ()) if (r := self.kb.get(rid)) is not None
                      and (not isinstance(r, Admission) or r.grade is None or r.grade == self.q.grade)]
        # «а если на медицинский?»: a rule for the field asked about is the answer; rules of other fields are not.
        by_field = [r for r in candidates if isinstance(r, Admission) and self.q.field in r.groups]
        if by_field:
            return [self._record_section(by_field[0], 1.0)]
        candidates = [r for r in candidates if not (isinstance(r, Admission) and r.groups)]
        if self.q.grade and any(isinstance(r, Admission) and r.grade == self.q.grade for r in candidates):
            candidates = [r for r in candidates if not isinstance(r, Admission) or r.grade == self.q.grade]
        if not candidates:
            return []
        hits = {h.id: h.score for h in self.retriever.search(self.q.text, k=30,
                                                             filters=Filters(kinds=("faq", "admission", "programme")))}
        best = max(candidates, key=lambda r: hits.get(r.id, 0.0))
        sections = [self._record_section(best, hits.get(best.id, 1.0))]
        if intent in CANONICAL_TOO and best is not candidates[0]:  # «какие документы» and «где подавать» both
            sections.append(self._blank_line(self._record_section(candidates[0], hits.get(candidates[0].id, 0.0))))
        return sections

    def _names(self, record_id: str) -> bool:
        """True when the message uses the record's own key words («3W», «техник», «рабочая квалификация»)."""
        return any(h.id == record_id for h in self._search(k=5, kinds=("faq",), by_name_only=True))

    def _record_section(self, record: object, score: float) -> Section:
        if isinstance(record, Faq):
            return self.write.faq(record, score)
        if isinstance(record, Admission):
            return self.write.admission_rule(record, score, bullet=False)
        assert isinstance(record, Programme)
        return self.write.programme(record)

    def _faq(self) -> Answer | None:
        """A question-and-answer record whose own words the message uses («сколько колледжей в Казахстане»)."""
        hits = [h for h in self._search(k=3, kinds=("faq",), by_name_only=True) if h.id not in SAFETY_FAQS]
        record = self.kb.get(hits[0].id) if hits else None
        return self._answer("faq", [self.write.faq(record, hits[0].score)]) if isinstance(record, Faq) else None

    def _also_sections(self) -> list[Section]:
        """The answer to a second intent the message asks, when a record answers it («…и есть ли стипендия?»)."""
        return [section for intent in self.q.also if intent != self.q.intent and intent not in HANDLED_APART
                for section in self._record_sections(intent)]

    def _clarify(self) -> Answer:
        """One short question between the two topics the model hesitates between; a named speciality settles it."""
        if self._search(k=5, kinds=("speciality", "profession"), by_name_only=True):
            return self._suggest() or self.not_found("suggest")  # «hochu svarshikom v aktobe…»: the speciality
        named = self._search(k=3, kinds=("programme", "faq", "admission"), by_name_only=True)
        if named and named[0].id not in SAFETY_FAQS:  # a record the message names by its own words answers it
            record = self.kb.get(named[0].id)
            return self._answer(record.kind, [self._record_section(record, named[0].score)])
        kk = self.q.lang == "kk"
        first, second = (TOPICS[label][1 if kk else 0] for label in self.q.alternatives[:2])
        return self._answer("clarify", [Section(phrase("clarify_two", self.q.lang, first=first, second=second))],
                            answered=False)

    def _dormitory(self) -> Answer:
        """Whether a college the question names has a dormitory, where a source says; otherwise say it is unknown."""
        named = [c for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if isinstance(c := self.kb.get(h.id), College)]
        named = named or [c for cid in self.q.colleges if isinstance(c := self.kb.get(cid), College)]
        known = next((c for c in named if c.dormitory is not None), None)
        if known is None:
            return self._answer("faq", [Section(phrase("dormitory_unknown", self.q.lang))], answered=False)
        key = "dormitory_yes" if known.dormitory else "dormitory_no"
        return self._answer("faq", [Section(phrase(key, self.q.lang, college=known.name), {known.id: 1.0})])

    # --- pieces -------------------------------------------------------------------------------
    def _free_routes(self, limit: int, numbered: bool = False, shown: tuple[str, ...] = ()) -> Section:
        hits = self._search(k=8, kinds=("programme",))
        return self.write.free_routes({h.id: h.score for h in hits}, bool(self.q.tags), limit, numbered, shown)

    @staticmethod
    def _blank_line(section: Section) -> Section:
        """The section set off from the one before by an empty line."""
        return replace(section, text="\n" + section.text)

    def _answer(self, intent: str, sections: list[Section], specialities: list[SpecialitySuggestion] | None = None,
                answered: bool = True) -> Answer:
        # «серпин это что подробнее»: its record once, not again as the answer to a second question
        cited = {rid for s in sections for rid in s.cited}
        extra = [s for s in self.extra if not (s.cited and s.cited.keys() <= cited)]
        if answered and extra:  # the second question's answer right after the first one's, before any lists
            sections = [sections[0], *(self._blank_line(s) for s in extra), *sections[1:]]
        closing = self.write.helplines_note() if self.q.worried else None
        return self.write.answer(self.q.text, intent, sections, specialities, answered, closing)
