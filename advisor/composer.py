"""The composer: decides what one answer says, from the question's intent and the records retrieval finds.

Ranking (advisor/ranking.py), reasons (advisor/reasons.py), college choice (advisor/colleges.py) and the
wording (advisor/sections.py) are separate jobs; this module only chooses and orders them.
"""

from __future__ import annotations

import re

from advisor.answer import Answer, SpecialitySuggestion
from advisor.colleges import in_place
from advisor.phrases import phrase
from advisor.ranking import Relevance, rank_specialities
from advisor.reasons import reason
from advisor.safety import folded_text
from advisor.sections import Section, Writer, join
from advisor.understanding import Question
from embeddings.retriever import Filters, Hit, HybridRetriever
from knowledge.loader import KnowledgeBase
from knowledge.schema import Admission, College, Faq, Programme, Speciality

INTENT_FOR_KIND = {"speciality": "suggest", "profession": "suggest", "college": "colleges",
                   "programme": "free", "admission": "admission", "faq": "faq"}
DORMITORY = re.compile(r"(?<!\w)(общаг|общежит|жатакхан)")
# Matched on folded text: «скок учиться», «сколько лет учат», «қанша жыл оқиды».
ASKS_LENGTH = re.compile(r"(?<!\w)((сколько|скок|скока|скольк)( лет| годов| времени)? уч|срок обуч|неше жыл|"
                         r"канша жыл|канша уакыт|канша ок)")
# Records asked about by their own name: the answer is that record, not a list of nearby ones. On folded text.
NAMED_RECORDS = {"zhas-maman": re.compile(r"(?<!\w)(жас маман|zhas maman)"),
                 "serpin": re.compile(r"(?<!\w)(серпин|serpin)"),
                 # «ЕНТ нужно для колледжа?», but not «ЕНТ для вуза после колледжа».
                 "no-ent-for-college": re.compile(r"^(?!.*(вуз|универ|жоо|joo))(?=.*колледж|.*kolledzh).*(?<!\w)"
                                                  r"(ент|убт|ubt|ent)(?!\w)")}


class Composer:
    """Builds one answer for one question over one knowledge base and index."""

    def __init__(self, kb: KnowledgeBase, retriever: HybridRetriever, question: Question, top_k: int):
        self.kb = kb
        self.retriever = retriever
        self.q = question
        self.top_k = top_k
        self.relevance = Relevance.of(question.text)
        self.folded = folded_text(question.text)  # what the word patterns below are matched on
        self.write = Writer(kb, question.lang, question.grade, question.place)

    def compose(self) -> Answer:
        """The answer for the question's intent, or an honest 'not found'."""
        intent = self.q.intent or self._intent_from_records()
        if intent == "greeting":
            return self._answer(intent, [Section(phrase("greeting", self.q.lang))])
        if DORMITORY.search(self.folded):
            return self._dormitory()
        if intent in ("free", "colleges", "suggest", "faq", "admission") and (named := self._named_record()):
            if isinstance(named, Programme):
                return self._answer("free", [self.write.programme(named)])
            return self._answer("faq", [self.write.faq(named, 1.0)])
        handler = {"suggest": self._suggest, "speciality": self._speciality, "colleges": self._colleges,
                   "free": self._free, "admission": self._admission, "faq": self._faq}.get(intent)
        answer = handler() if handler else None
        return answer or self.not_found(intent)

    def not_found(self, intent: str) -> Answer:
        """An honest 'I don't have this' with where to look."""
        return self._answer(intent, [Section(phrase("not_found", self.q.lang))], answered=False)

    def suggestion_answer(self, specialities: list[SpecialitySuggestion]) -> Answer:
        """The answer listing ranked specialities with their reasons, then colleges or free routes."""
        sections = [self.write.suggestions(specialities)]
        if self.q.place or self.q.intent == "colleges":
            sections.append(self._blank_line(self.write.colleges([s.id for s in specialities[:3]])))
        if self.q.wants_free:
            sections.append(self._blank_line(self._free_routes(limit=2)))
        elif not self.q.place:
            sections.append(Section(phrase("free_hint", self.q.lang)))
        return self._answer("suggest", sections, specialities)

    def about(self, spec: Speciality) -> Answer:
        """The card, the colleges or the free routes of one chosen speciality."""
        chosen = SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk, 1.0, "")
        if self.q.intent == "speciality":
            return self._speciality_card(chosen)
        cited = Section("", {spec.id: 1.0})
        if self.q.intent == "colleges":
            return self._answer("colleges", [join(cited, self.write.colleges([spec.id]), separator="")], [chosen])
        return self._answer("free", [join(cited, self._free_routes(limit=4), separator="")], [chosen])

    # --- retrieval ----------------------------------------------------------------------------
    def _search(self, k: int, kinds: tuple[str, ...] = (), by_name_only: bool = False) -> list[Hit]:
        """Relevant hits for the question, best first."""
        hits = self.retriever.search(self.q.text, k=k, filters=Filters(kinds=kinds))
        return self.relevance.keep(hits, by_name_only)

    def _intent_from_records(self) -> str:
        """When the wording shows no intent: the kind of the best relevant record decides."""
        hits = self._search(k=10)
        if self.q.place and (hits or "колледж" in self.q.text.lower()):
            return "colleges"  # «колледж в Актобе на медсестру»
        return INTENT_FOR_KIND[hits[0].kind] if hits else "offtopic"

    def _specialities(self) -> list[SpecialitySuggestion]:
        """The ranked specialities for the question, each with its reason."""
        ranked = rank_specialities(self.kb, self._search(k=12, kinds=("speciality", "profession")),
                                   self.q.interests, self.top_k)
        return [SpecialitySuggestion(r.spec.id, r.spec.code or "", r.spec.name_ru, r.spec.name_kk,
                                     round(r.score, 4), reason(r, self.relevance, self.q.interests, self.q.lang))
                for r in ranked]

    def _named_record(self) -> Programme | Faq | None:
        """The one programme or question the message names by its own name («Жас маман», «ЕНТ»), if any."""
        named = [rid for rid, pattern in NAMED_RECORDS.items() if pattern.search(self.folded)]
        record = self.kb.get(named[0]) if len(named) == 1 else None
        return record if isinstance(record, (Programme, Faq)) else None

    def _faq_hit(self) -> tuple[Faq, float] | None:
        hits = self._search(k=3, kinds=("faq",))
        record = self.kb.get(hits[0].id) if hits else None
        return (record, hits[0].score) if isinstance(record, Faq) else None

    # --- intents ------------------------------------------------------------------------------
    def _suggest(self) -> Answer | None:
        specialities = self._specialities()
        return self.suggestion_answer(specialities) if specialities else self._faq()

    def _speciality(self) -> Answer | None:
        specialities = self._specialities()[:1]
        return self._speciality_card(specialities[0]) if specialities else self._faq()

    def _speciality_card(self, suggestion: SpecialitySuggestion) -> Answer:
        card = self.write.speciality_card(suggestion, length_first=bool(ASKS_LENGTH.search(self.folded)))
        sections = [card, self._blank_line(self.write.colleges([suggestion.id]))]
        return self._answer("speciality", sections, [suggestion])

    def _colleges(self) -> Answer | None:
        if not self.q.place:  # «где учат на повара?»: suggest, then ask where
            return self._suggest()
        named = [c for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if in_place(c := self.kb.get(h.id), self.q.place) and isinstance(c, College)]
        specialities = self._specialities()[:3] if not named else []
        listed = self.write.colleges([s.id for s in specialities], named=named)
        sections = [join(listed, Section("", {s.id: s.score for s in specialities}), separator="")]
        if self.q.wants_free:
            sections.append(self._blank_line(self._free_routes(limit=2)))
        return self._answer("colleges", sections, specialities)

    def _free(self) -> Answer | None:
        programme = self.kb.get("quotas")
        quotas = self.write.quotas(programme, self.q.tags) if isinstance(programme, Programme) else None
        if quotas:  # the person named their category: that quota answers the question, first
            return self._answer("free", [quotas, self._blank_line(self._free_routes(limit=2))])
        faq = self._faq_hit()
        sections = [self.write.faq(*faq), Section("")] if faq else []
        sections.append(self._free_routes(limit=3 if faq else 4))
        return self._answer("free", sections)

    def _admission(self) -> Answer | None:
        hits = self._search(k=6, kinds=("admission",))
        rules = [(r, h.score) for h in hits if isinstance(r := self.kb.get(h.id), Admission)
                 and (r.grade is None or self.q.grade is None or r.grade == self.q.grade)]
        faq = self._faq_hit()
        if not rules and not faq:
            return None
        # Whichever matches the question better answers it first: a question-and-answer record or the rules.
        faq_first = faq is not None and (not rules or faq[1] > hits[0].score)
        sections = [self.write.faq(*faq), Section("")] if faq and faq_first else []
        sections.append(Section(phrase("admission_intro", self.q.lang)))
        sections += [self.write.admission_rule(*rule) for rule in rules[: 1 if faq_first else 2]]
        if faq and not faq_first:
            sections.append(self.write.faq(*faq))
        return self._answer("admission", sections)

    def _faq(self) -> Answer | None:
        faq = self._faq_hit()
        return self._answer("faq", [self.write.faq(*faq)]) if faq else None

    def _dormitory(self) -> Answer:
        """Whether a college the question names has a dormitory, where a source says; otherwise say it is unknown."""
        named = [c for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if isinstance(c := self.kb.get(h.id), College)]
        known = next((c for c in named if c.dormitory is not None), None)
        if known is None:
            return self._answer("faq", [Section(phrase("dormitory_unknown", self.q.lang))], answered=False)
        key = "dormitory_yes" if known.dormitory else "dormitory_no"
        return self._answer("faq", [Section(phrase(key, self.q.lang, college=known.name), {known.id: 1.0})])

    # --- pieces -------------------------------------------------------------------------------
    def _free_routes(self, limit: int) -> Section:
        hits = self._search(k=8, kinds=("programme",))
        return self.write.free_routes({h.id: h.score for h in hits}, bool(self.q.tags), limit)

    @staticmethod
    def _blank_line(section: Section) -> Section:
        """The section set off from the one before by an empty line."""
        return Section("\n" + section.text, section.cited, section.colleges)

    def _answer(self, intent: str, sections: list[Section], specialities: list[SpecialitySuggestion] | None = None,
                answered: bool = True) -> Answer:
        return self.write.answer(self.q.text, intent, sections, specialities, answered)
