"""The advisor: answers a school leaver's question from knowledge records only, and names its sources."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from advisor.answer import Answer, CollegeSuggestion, ProgrammeSuggestion, SourceRef, SpecialitySuggestion
from advisor.dialogue import Conversation, FollowUp, conversation_language, read_follow_up
from advisor.language import LanguageDetector
from advisor.phrases import phrase
from advisor.places import find_place, place_words
from advisor.render import citation, first_sentence, fit_message, study_length
from advisor.safety import folded_text, risk_of
from advisor.understanding import Question, understand
from embeddings.retriever import Filters, Hit, HybridRetriever
from knowledge.loader import KnowledgeBase
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, Profession, Programme, Speciality
from knowledge.text import stemmed_tokens, tokens
from knowledge.vocabulary import label

# A hit is relevant when a meaningful word of the question names it (in its name, title or keywords),
# or when it is this close in meaning (cosine similarity of the e5 embeddings).
DENSE_RELEVANT = 0.87
MAX_COLLEGES_SHOWN = 6
MAX_SOURCES_SHOWN = 3
PROFILE_INTEREST_BOOST = 1.1
MAX_WORDS_FOR_CORRECTIONS = 5
ALWAYS_FREE = ("free-first-qualification", "state-order")
# Words too general to show that a record is about what the person asked.
GENERIC_STEMS = frozenset(stemmed_tokens(
    "специальность специальности мамандық мамандығы профессия профессию кәсіп работа работать жұмыс учеба "
    "студент лет жыл год году сколько неше канша қанша колледжи колледжей колледжда колледжі оқыту обучения"))
INTENT_FOR_KIND = {"speciality": "suggest", "profession": "suggest", "college": "colleges",
                   "programme": "free", "admission": "admission", "faq": "faq"}


@dataclass(frozen=True)
class _State:
    """What one answer is computed from; swapped as a whole on reload."""

    kb: KnowledgeBase
    retriever: HybridRetriever
    detector: LanguageDetector


def language_detector(kb: KnowledgeBase) -> LanguageDetector:
    """A Russian/Kazakh detector trained on the knowledge base's own texts."""
    russian: list[str] = []
    kazakh: list[str] = []
    for record in kb.all():
        for name, value in record.model_dump().items():
            if isinstance(value, str) and name.endswith("_ru"):
                russian.append(value)
            elif isinstance(value, str) and name.endswith("_kk"):
                kazakh.append(value)
    return LanguageDetector(russian, kazakh)


class Advisor:
    """Answers questions over one knowledge base and index; `replace` swaps both at once for a reload."""

    def __init__(self, kb: KnowledgeBase, retriever: HybridRetriever, top_k: int = 5, max_chars: int = 1000):
        self._state = _State(kb, retriever, language_detector(kb))
        self.top_k = top_k
        self.max_chars = max_chars

    @property
    def kb(self) -> KnowledgeBase:
        return self._state.kb

    def replace(self, kb: KnowledgeBase, retriever: HybridRetriever) -> None:
        """Answer from a new knowledge base and index; questions in flight finish on the old ones."""
        self._state = _State(kb, retriever, language_detector(kb))  # one reference swap: atomic

    def ask(self, text: str, lang: str | None = None, grade: int | None = None, city: str | None = None,
            top_k: int | None = None, interests: tuple[str, ...] = ()) -> Answer:
        """Answer one question; never raises on bad input. Grade, city and interests come from a profile."""
        state = self._state  # one consistent snapshot for the whole answer
        cleaned = (text or "").strip()
        if not cleaned:
            return _unanswered(text, lang or "ru", phrase("empty", lang or "ru"))
        notes: list[str] = []
        if len(cleaned) > self.max_chars:
            cleaned = cleaned[: self.max_chars]
            notes.append(phrase("too_long", lang or state.detector.detect(cleaned), limit=self.max_chars))
        if not any(any(ch.isalpha() for ch in word) for word in tokens(cleaned)):  # emoji, digits, binary
            return _unanswered(text, lang or "ru", phrase("no_text", lang or "ru"))
        if SALARY.search(folded_text(cleaned)):  # no sourced figures: say so and where to look
            detected = lang or state.detector.detect(cleaned)
            return Answer(question=text, lang=detected, intent="salary", answer=phrase("salary_unknown", detected),
                          answered=False)
        if risk := risk_of(cleaned):  # before anything else: no speciality list for these
            answer = safety_answer(state.kb, risk, lang or state.detector.detect(cleaned))
            answer.question = text
            return answer
        question = understand(cleaned, state.detector, lang=lang, grade=grade,
                              place=find_place(city) if city else None, interests=interests)
        answer = _Composer(state, question, top_k or self.top_k).compose()
        if is_vague(cleaned) and not names_a_speciality(answer):
            # «не знаю куда поступать» names no interest: a random list would mislead; offer the test instead.
            answer = Answer(question=text, lang=answer.lang, intent="vague", answer=phrase("vague", answer.lang))
        answer.question = text
        if notes:
            answer.answer = "\n".join([*notes, answer.answer])
        return answer

    def converse(self, text: str, conversation: Conversation | None = None, grade: int | None = None,
                 city: str | None = None, interests: tuple[str, ...] = ()) -> tuple[Answer, Conversation]:
        """Answer one message of a chat: a short follow-up is read against the conversation; returns the new state."""
        conv = conversation if conversation is not None and not conversation.expired() else Conversation()
        detected = self._state.detector.detect(text) if (text or "").strip() else (conv.lang or "ru")
        lang = conversation_language(text or "", conv, detected)
        grade = conv.grade or grade
        city = conv.city or city
        follow = read_follow_up(text or "", conv)
        answer = self._follow_up(follow, text, conv, lang, grade, city) if follow else None
        if answer is None:
            answer = self.ask(text, lang=lang, grade=grade, city=city, interests=interests)
            if answer.specialities:
                conv.question = text
                conv.suggested = [s.id for s in answer.specialities]
                conv.shown = list(conv.suggested)
                conv.focus = conv.suggested[0]
        answer.question = text
        return answer, self._remember(conv, answer)

    def more_suggestions(self, question: str, shown: list[str], lang: str | None = None, grade: int | None = None,
                         city: str | None = None) -> Answer:
        """The next specialities for a question, leaving out those already shown (the «ещё» button or message)."""
        answer = self.ask(question, lang=lang, grade=grade, city=city, top_k=len(shown) + self.top_k)
        fresh = [s for s in answer.specialities if s.id not in shown][: self.top_k]
        if not fresh:
            return Answer(question=question, lang=answer.lang, intent="more", answer=phrase("no_more", answer.lang))
        state = self._state
        composer = _Composer(state, understand(question, state.detector, lang=answer.lang, grade=grade,
                                               place=find_place(city) if city else None), self.top_k)
        return composer.suggestion_answer(fresh)

    def _follow_up(self, follow: FollowUp, text: str, conv: Conversation, lang: str, grade: int | None,
                   city: str | None) -> Answer | None:
        """The answer a follow-up asks for, or None when the message turns out to be a new question."""
        if follow.kind == "thanks":
            if not conv.lang and KAZAKH_THANKS.search(folded_text(text)):  # «рахмет» opens a Kazakh chat
                lang = "kk"
            return Answer(question=text, lang=lang, intent="thanks", answer=phrase("thanks_reply", lang))
        if follow.kind == "unclear":
            return Answer(question=text, lang=lang, intent="clarify", answer=phrase("clarify", lang))
        if follow.kind in ("colleges", "free", "details", "length") and self._names_a_speciality(text, lang):
            return None  # «где учат на повара» is a new question, not a follow-up
        grade = follow.grade or grade
        city = follow.place.label("ru") if follow.place else city
        if follow.grade:
            conv.grade = follow.grade
        if follow.place:
            conv.city = city or ""
        if follow.kind == "more":
            answer = self.more_suggestions(conv.question, conv.shown, lang, grade, city) if conv.question else None
            if answer is not None:
                conv.shown += [s.id for s in answer.specialities]
                conv.suggested = [s.id for s in answer.specialities] or conv.suggested
            return answer
        if follow.kind == "dormitory":
            return Answer(question=text, lang=lang, intent="faq", answer=phrase("dormitory_unknown", lang),
                          answered=False)
        topic = {"free": "free", "colleges": "colleges", "place": "colleges"}.get(follow.kind, "info")
        if follow.speciality:
            conv.focus = follow.speciality
            return self.about_speciality(follow.speciality, topic, lang, grade, city)
        if follow.kind in ("free", "place", "grade") and conv.question:
            return self.ask(conv.question if follow.kind == "grade" else text, lang=lang, grade=grade, city=city)
        return None

    def _names_a_speciality(self, text: str, lang: str) -> bool:
        """True when the message itself names a speciality or profession (not only «колледжи», «бесплатно»)."""
        return names_a_speciality(self.ask(text, lang=lang))

    def _remember(self, conv: Conversation, answer: Answer) -> Conversation:
        """The conversation after this answer: its language, topic, place, grade; the free summary said once."""
        hint = "\n" + phrase("free_hint", answer.lang)
        if conv.free_told:
            answer.answer = answer.answer.replace(hint, "")
        elif hint in answer.answer or answer.intent == "free":
            conv.free_told = True
        conv.lang = answer.lang
        if answer.intent not in ("thanks", "clarify"):
            conv.topic = answer.intent
        conv.city = answer.city or conv.city
        conv.grade = answer.grade or conv.grade
        conv.updated = time.time()
        return conv

    def about_speciality(self, speciality_id: str, topic: str, lang: str = "ru", grade: int | None = None,
                         city: str | None = None) -> Answer | None:
        """Details, colleges or free routes of one speciality (for buttons); None for an unknown id."""
        state = self._state
        spec = state.kb.get(speciality_id)
        if not isinstance(spec, Speciality) or topic not in ("info", "colleges", "free"):
            return None
        intent = {"info": "speciality", "colleges": "colleges", "free": "free"}[topic]
        question = Question(text=spec.name_ru, lang=lang, intent=intent, grade=grade,
                            place=find_place(city) if city else None)
        return _Composer(state, question, self.top_k).about(spec)

    def suggest_for_interests(self, weights: dict[str, float], lang: str = "ru",
                              grade: int | None = None) -> Answer:
        """Specialities ranked by how well their interests match the weights (from the interest test)."""
        state = self._state  # one consistent snapshot, as in ask()
        scored = []
        for spec in state.kb.specialities:
            matched = [i for i in spec.interests if weights.get(i, 0) > 0]
            if matched:
                score = sum(weights[i] for i in matched) / len(spec.interests) ** 0.5
                scored.append((score, spec, sorted(matched, key=lambda i: -weights[i])))
        scored.sort(key=lambda item: (-item[0], item[1].name_ru))
        suggestions = []
        for score, spec, matched in scored[: self.top_k]:
            why = phrase("why_interest", lang, value=", ".join(label(i, lang, interest=True) for i in matched[:3]))
            suggestions.append(SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk,
                                                    round(score, 4), why))
        question = Question(text="", lang=lang, intent="suggest", grade=grade)
        composer = _Composer(state, question, self.top_k)
        if not suggestions:
            return composer._answer("suggest", phrase("not_found", lang), answered=False)
        return composer.suggestion_answer(suggestions)


def _unanswered(text: str, lang: str, message: str) -> Answer:
    return Answer(question=text, lang=lang, intent="offtopic", answer=message, answered=False)


class _Composer:
    """Builds one answer from the records retrieval finds for a question."""

    def __init__(self, state: _State, question: Question, top_k: int):
        self.kb = state.kb
        self.retriever = state.retriever
        self.q = question
        self.lang = question.lang
        self.top_k = top_k
        self.used: dict[str, float] = {}  # record id -> score, in the order the answer uses them
        self.colleges: list[College] = []
        where = place_words(question.text)
        self.ignored_terms = GENERIC_STEMS | {s for w in where for s in stemmed_tokens(w)}
        self.question_terms = set(stemmed_tokens(question.text))
        # A typo-corrected word alone shows what a short question is about («хачу на павара»), but in a
        # longer message one near-miss word is weak evidence («реши уравнение» is not «управление»).
        content_words = [w for w in tokens(question.text) if w not in where and stemmed_tokens(w)
                         and len(w) > 2 and not w.isdigit()]
        self.trust_corrections = len(content_words) <= MAX_WORDS_FOR_CORRECTIONS

    def compose(self) -> Answer:
        """The answer for the question's intent, or an honest 'not found'."""
        intent = self.q.intent or self._intent_from_records()
        if intent == "greeting":
            return self._answer(intent, phrase("greeting", self.lang))
        if DORMITORY.search(folded_text(self.q.text)):
            return self._dormitory()
        handler = {"suggest": self._suggest, "speciality": self._speciality, "colleges": self._colleges,
                   "free": self._free, "admission": self._admission, "faq": self._faq}.get(intent)
        answer = handler() if handler else None
        if answer is None:
            return self._answer(intent, phrase("not_found", self.lang), answered=False)
        return answer

    def _dormitory(self) -> Answer:
        """Whether a college the question names has a dormitory, where a source says; otherwise say it is unknown."""
        named = [c for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if isinstance(c := self.kb.get(h.id), College)]
        known = next((c for c in named if c.dormitory is not None), None)
        if known is None:
            return self._answer("faq", phrase("dormitory_unknown", self.lang), answered=False)
        self.used[known.id] = 1.0
        key = "dormitory_yes" if known.dormitory else "dormitory_no"
        return self._answer("faq", phrase(key, self.lang, college=known.name))

    def _intent_from_records(self) -> str:
        """When the wording shows no intent: the kind of the best relevant record decides."""
        hits = self._search(k=10)
        if self.q.place and (hits or "колледж" in self.q.text.lower()):
            return "colleges"  # «колледж в Актобе на медсестру»
        return INTENT_FOR_KIND[hits[0].kind] if hits else "offtopic"

    # --- retrieval ---------------------------------------------------------------------------
    def _search(self, k: int, kinds: tuple[str, ...] = (), by_name_only: bool = False) -> list[Hit]:
        """Relevant hits for the question, best first; by_name_only ignores closeness in meaning."""
        hits = self.retriever.search(self.q.text, k=k, filters=Filters(kinds=kinds))
        return [h for h in hits if self._named(h) or (h.dense >= DENSE_RELEVANT and not by_name_only)]

    def _named(self, hit: Hit) -> bool:
        """True when a meaningful word of the question (or, in a short one, its correction) names the hit."""
        terms = set(hit.key_terms) - self.ignored_terms
        return bool(terms & self.question_terms) or (self.trust_corrections and bool(terms))

    def _ranked_specialities(self) -> list[SpecialitySuggestion]:
        """Specialities for the question, from speciality and profession hits, each with a reason."""
        scores: dict[str, float] = {}
        reasons: dict[str, str] = {}
        for hit in self._search(k=12, kinds=("speciality", "profession")):
            record = self.kb.get(hit.id)
            if isinstance(record, Speciality) and hit.score > scores.get(record.id, 0):
                scores[record.id] = hit.score
            elif isinstance(record, Profession):
                for position, sid in enumerate(record.specialities):
                    score = hit.score * (0.95 if position == 0 else 0.8)
                    if score > scores.get(sid, 0):
                        scores[sid] = score
                        reasons[sid] = phrase("why_profession", self.lang, value=self._t(record.name_ru,
                                                                                            record.name_kk))
        if not scores:
            return []
        for sid in scores:  # the profile's interests tip the balance between close candidates
            if set(self.q.interests) & set(self._speciality_record(sid).interests):
                scores[sid] *= PROFILE_INTEREST_BOOST
        best = max(scores.values())
        ranked = sorted((item for item in scores.items() if item[1] >= best * 0.5), key=lambda i: -i[1])
        suggestions = []
        for sid, score in ranked[: self.top_k]:
            spec = self._speciality_record(sid)
            why = self._keyword_reason(spec) or reasons.get(sid) or self._interest_reason(spec) \
                or self._profile_reason(spec) or phrase("why_meaning", self.lang)
            suggestions.append(SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk,
                                                    round(score, 4), why))
        return suggestions

    def _keyword_reason(self, spec: Speciality) -> str:
        keywords = spec.keywords_kk + spec.keywords_ru if self.lang == "kk" else spec.keywords_ru + spec.keywords_kk
        for keyword in [*keywords, spec.name_ru, spec.name_kk]:
            terms = set(stemmed_tokens(keyword)) - self.ignored_terms
            if terms and terms <= self.question_terms:
                return phrase("why_keyword", self.lang, value=keyword)
        return ""

    def _profile_reason(self, spec: Speciality) -> str:
        shared = [i for i in self.q.interests if i in spec.interests]
        return phrase("why_profile", self.lang, value=label(shared[0], self.lang, interest=True)) if shared else ""

    def _interest_reason(self, spec: Speciality) -> str:
        question_terms = self.question_terms - self.ignored_terms
        for value in [*spec.interests, *spec.subjects]:
            is_interest = value in spec.interests
            if any(set(stemmed_tokens(label(value, lang, is_interest))) & question_terms for lang in ("ru", "kk")):
                return phrase("why_interest", self.lang, value=label(value, self.lang, is_interest))
        return ""

    # --- intents ------------------------------------------------------------------------------
    def _suggest(self) -> Answer | None:
        specialities = self._ranked_specialities()
        if not specialities:
            return self._faq()
        return self.suggestion_answer(specialities)

    def suggestion_answer(self, specialities: list[SpecialitySuggestion]) -> Answer:
        """The answer listing ranked specialities with their reasons, then colleges or free routes."""
        self._use_specialities(specialities)
        lines = [phrase("suggest_intro", self.lang)]
        for n, suggestion in enumerate(specialities, 1):
            spec = self._speciality_record(suggestion.id)
            # The code stays in the details card: a teenager reads the name and the reason.
            lines.append(f"{n}. {self._spec_name(spec.id)} — {phrase('why', self.lang)}: {suggestion.why}"
                         f"{self._study(spec)}")
        if self.q.place or self.q.intent == "colleges":
            lines.append("\n" + self._college_lines([s.id for s in specialities[:3]]))
        if self.q.wants_free:
            lines.append("\n" + self._free_lines(limit=2))
        elif not self.q.place:
            lines.append(phrase("free_hint", self.lang))
        return self._answer("suggest", "\n".join(lines), specialities)

    def _speciality(self) -> Answer | None:
        specialities = self._ranked_specialities()[:1]
        if not specialities:
            return self._faq()
        return self._speciality_card(specialities)

    def about(self, spec: Speciality) -> Answer:
        """The card, the colleges or the free routes of one chosen speciality."""
        chosen = [SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk, 1.0, "")]
        if self.q.intent == "speciality":
            return self._speciality_card(chosen)
        self._use_specialities(chosen)
        if self.q.intent == "colleges":
            return self._answer("colleges", self._college_lines([spec.id]), chosen)
        return self._answer("free", self._free_lines(limit=4), chosen)

    def _speciality_card(self, specialities: list[SpecialitySuggestion]) -> Answer:
        self._use_specialities(specialities)
        spec = self._speciality_record(specialities[0].id)
        lines = [self._spec_title(spec), self._t(spec.description_ru, spec.description_kk)]
        if work := self._t(spec.work_ru, spec.work_kk):
            lines.append(f"{phrase('work', self.lang)}: {work}")
        if spec.qualifications:
            quals = "; ".join(f"{q.code + ' ' if q.code else ''}{self._t(q.name_ru, q.name_kk)}"
                              for q in spec.qualifications)
            lines.append(f"{phrase('qualifications', self.lang)}: {quals}")
        study = self._study(spec, all_grades=True)
        lines.append(study.strip(" ;") if study else phrase("study_unknown", self.lang).capitalize())
        if spec.code_note:
            lines.append(f"{phrase('code_note', self.lang)}: {spec.code_note}")
        lines.append("\n" + self._college_lines([spec.id]))
        return self._answer("speciality", "\n".join(lines), specialities)

    def _colleges(self) -> Answer | None:
        if not self.q.place:  # «где учат на повара?»: suggest, then ask where
            return self._suggest()
        named = [h for h in self._search(k=5, kinds=("college",), by_name_only=True)
                 if self._in_place(self.kb.get(h.id))]
        specialities = self._ranked_specialities()[:3] if not named else []
        lines = [self._college_lines([s.id for s in specialities], named_ids=[h.id for h in named])]
        self._use_specialities(specialities)
        if self.q.wants_free:
            lines.append("\n" + self._free_lines(limit=2))
        return self._answer("colleges", "\n".join(lines), specialities)

    def _free(self) -> Answer | None:
        quota_lines = self._your_quotas()
        if quota_lines:  # the person named their category: that quota answers the question, first
            return self._answer("free", "\n".join([*quota_lines, "", self._free_lines(limit=2)]))
        faq = self._faq_hit()
        lines = [self._faq_text(faq)] if faq else []
        lines.append(self._free_lines(limit=3 if faq else 4))
        return self._answer("free", "\n\n".join(lines))

    def _your_quotas(self) -> list[str]:
        """The quotas of the categories the person named, with their share of state-order places."""
        programme = self.kb.get("quotas")
        if not isinstance(programme, Programme) or not self.q.tags:
            return []
        quotas = [q for q in programme.quotas if q.tag in self.q.tags]
        if not quotas:
            return []
        self.used.setdefault(programme.id, 1.0)
        lines = [phrase("quota_intro", self.lang)]
        lines += [f"• {self._t(q.category_ru, q.category_kk)} — {q.percent:g} %".replace(".", ",") for q in quotas]
        lines[-1] += self._yearly(programme)
        return lines

    def _admission(self) -> Answer | None:
        hits = self._search(k=6, kinds=("admission",))
        records = [r for h in hits if isinstance(r := self.kb.get(h.id), Admission)
                   and (r.grade is None or self.q.grade is None or r.grade == self.q.grade)]
        faq = self._faq_hit()
        if not records and not faq:
            return None
        # Whichever matches the question better answers it first: a question-and-answer record or the rules.
        faq_first = faq is not None and (not records or faq.score > hits[0].score)
        lines = [self._faq_text(faq), ""] if faq_first else []
        lines.append(phrase("admission_intro", self.lang))
        for record in records[: 1 if faq_first else 2]:
            self.used[record.id] = next(h.score for h in hits if h.id == record.id)
            lines.append(f"• {self._t(record.title_ru, record.title_kk)}: {self._t(record.text_ru, record.text_kk)}"
                         + self._yearly(record))
        if faq and not faq_first:
            lines.append(self._faq_text(faq))
        return self._answer("admission", "\n".join(lines))

    def _faq(self) -> Answer | None:
        faq = self._faq_hit()
        return self._answer("faq", self._faq_text(faq)) if faq else None

    # --- pieces -------------------------------------------------------------------------------
    def _faq_hit(self) -> Hit | None:
        hits = self._search(k=3, kinds=("faq",))
        return hits[0] if hits else None

    def _faq_text(self, hit: Hit) -> str:
        record = self.kb.get(hit.id)
        assert isinstance(record, Faq)
        self.used[record.id] = hit.score
        return (f"{self._t(record.question_ru, record.question_kk)}\n"
                f"{self._t(record.answer_ru, record.answer_kk)}{self._yearly(record)}")

    def _in_place(self, record: KnowledgeRecord | None) -> bool:
        """True for a college in the place the question names (or anywhere, when it names none)."""
        place = self.q.place
        if not isinstance(record, College) or place is None:
            return isinstance(record, College)
        return record.city == place.city if place.city else record.region == place.region

    def _near(self, colleges: list[College]) -> list[College]:
        """The colleges in the question's place; for a town with none, those of its region."""
        here = [c for c in colleges if self._in_place(c)]
        if not here and self.q.place and self.q.place.city:
            here = [c for c in colleges if c.region == self.q.place.region]
        return here

    def _college_lines(self, speciality_ids: list[str], named_ids: list[str] | None = None) -> str:
        """Colleges named in the question, or teaching these specialities, or all of the place."""
        place = self.q.place
        where = f" — {place.label(self.lang)}" if place else ""
        if named_ids:
            colleges = [c for i in named_ids if isinstance(c := self.kb.get(i), College)]
            head = phrase("colleges_in", self.lang, where=where)
        elif speciality_ids:
            what = (f"«{self._spec_name(speciality_ids[0])}»" if len(speciality_ids) == 1
                    else phrase("these_specialities", self.lang))
            colleges = self._near([c for c in self.kb.colleges if set(speciality_ids) & set(c.specialities)])
            if not colleges:  # say so, then at least list the colleges of the place
                others = self._near(self.kb.colleges) if place else []
                missing = phrase("no_colleges_here", self.lang, where=where, what=what)
                return missing + ("\n" + self._college_lines([], [c.id for c in others]) if others else "")
            head = phrase("colleges_intro", self.lang, what=what, where=where)
        else:
            if not place:
                return phrase("ask_place", self.lang)
            colleges = self._near(self.kb.colleges)
            if not colleges:
                return phrase("no_colleges_place", self.lang, where=where)
            head = phrase("colleges_in", self.lang, where=where)
        return self._list_colleges(head, colleges, speciality_ids)

    def _list_colleges(self, head: str, colleges: list[College], speciality_ids: list[str]) -> str:
        # Colleges teaching more of the suggested specialities come first.
        colleges = sorted(colleges, key=lambda c: -len(set(speciality_ids) & set(c.specialities)))
        self.colleges = colleges[:MAX_COLLEGES_SHOWN]
        lines = [head]
        for college in self.colleges:
            self.used.setdefault(college.id, 0.0)
            details = ", ".join(part for part in (college.city, college.address, college.website) if part)
            lines.append(f"• {college.name}" + (f" — {details}" if details else "") + self._caveats(college,
                                                                                                speciality_ids))
        if len(colleges) > MAX_COLLEGES_SHOWN:
            lines.append(phrase("more_colleges", self.lang, n=len(colleges) - MAX_COLLEGES_SHOWN))
        years = sorted({c.as_of for c in self.colleges})
        span = phrase("year_word", self.lang, year=f"{years[0]}–{years[-1]}" if len(years) > 1 else years[0])
        if all(c.unofficial for c in self.colleges):  # said once, not on every line
            span += f" ({phrase('unofficial', self.lang)})"
        lines.append(phrase("college_data_year", self.lang, years=span))
        if not self.q.place:
            lines.append(phrase("ask_place", self.lang))
        return "\n".join(lines)

    def _caveats(self, college: College, speciality_ids: list[str]) -> str:
        """What the answer must not pass off as fact: unofficial data, licences listed to be returned."""
        notes = []
        if set(speciality_ids) & set(college.licence_return_listed):
            notes.append(phrase("licence_return", self.lang))
        if college.unofficial and not all(c.unofficial for c in self.colleges):
            notes.append(phrase("unofficial", self.lang))
        return f" ({'; '.join(notes)})" if notes else ""

    def _free_lines(self, limit: int) -> str:
        hits = self._search(k=8, kinds=("programme",))
        ranked = [h.id for h in hits]
        if self.q.tags:
            ranked.insert(0, "quotas")
        lines = [phrase("free_intro", self.lang)]
        for pid in list(dict.fromkeys([*ranked, *ALWAYS_FREE]))[:limit]:
            programme = self.kb.get(pid)
            if not isinstance(programme, Programme):
                continue
            self.used.setdefault(pid, next((h.score for h in hits if h.id == pid), 0.0))
            lines.append(f"• {self._t(programme.title_ru, programme.title_kk)}: "
                         f"{first_sentence(self._t(programme.summary_ru, programme.summary_kk))}"
                         f"{self._yearly(programme)}")
        return "\n".join(lines)

    def _use_specialities(self, specialities: list[SpecialitySuggestion]) -> None:
        for suggestion in specialities:
            self.used.setdefault(suggestion.id, suggestion.score)

    def _speciality_record(self, speciality_id: str) -> Speciality:
        record = self.kb.get(speciality_id)
        assert isinstance(record, Speciality), speciality_id
        return record

    def _spec_title(self, spec: Speciality) -> str:
        code = f" ({phrase('code', self.lang)} {spec.code})" if spec.code else ""
        return f"{self._spec_name(spec.id)}{code}"

    def _spec_name(self, speciality_id: str) -> str:
        spec = self._speciality_record(speciality_id)
        return self._t(spec.name_ru, spec.name_kk)

    def _study(self, spec: Speciality, all_grades: bool = False) -> str:
        """Study length after the person's grade (or both grades), where a source gives it."""
        if not all_grades and self.q.grade is None:
            return ""
        grades = (9, 11) if all_grades else (self.q.grade,)
        parts = [phrase(f"study_{g}", self.lang, value=value) for g in grades
                 if (value := study_length(spec, g, self.lang))]
        return "; " + "; ".join(parts) if parts else ""

    def _yearly(self, record: Programme | Admission | Faq) -> str:
        return f" ({phrase('yearly', self.lang, year=record.as_of)})" if record.changes_yearly else ""

    def _t(self, ru: str, kk: str) -> str:
        """The text in the answer's language; Russian where no Kazakh text is sourced."""
        return (kk or ru) if self.lang == "kk" else (ru or kk)

    def _answer(self, intent: str, text: str, specialities: list[SpecialitySuggestion] | None = None,
                answered: bool = True) -> Answer:
        # Colleges answers list the colleges first: they are what was asked for.
        order = sorted(self.used, key=lambda rid: 0 if intent == "colleges" and rid in
                       {c.id for c in self.colleges} else 1)
        sources = [_source_ref(record, self.used[rid]) for rid in order if (record := self.kb.get(rid))]
        text = fit_message(text)
        if sources and answered:
            cited = list(dict.fromkeys(citation(record, self.lang) for s in sources
                                       if (record := self.kb.get(s.id))))[:MAX_SOURCES_SHOWN]
            text += f"\n\n{phrase('sources', self.lang)}: " + "; ".join(cited)
        return Answer(
            question=self.q.text, lang=self.lang, intent=intent, answer=text, specialities=specialities or [],
            colleges=[CollegeSuggestion(c.id, c.name, c.city, c.region, c.specialities) for c in self.colleges],
            programmes=[ProgrammeSuggestion(s.id, _title(self.kb.get(s.id), self.lang)) for s in sources
                        if s.kind == "programme"],
            sources=sources, grade=self.q.grade, city=self.q.place.label("ru") if self.q.place else "",
            answered=answered)


# These are matched on folded text: Kazakh letters as Russian ones and «й» as «и» («айлығы» reads «аилыгы»).
VAGUE = re.compile(r"(?<!\w)(не знаю (куда|кем|что|на кого)|куда (мне )?поступ|кем (мне )?стать|помоги(те)? выбрать|"
                   r"не могу выбрать|билмеимин|каида тусу|ким болсам|ким болам|неге тусу)")
# Words of a message that says only «I don't know where to go»; any other word («биология») is a clue to follow.
VAGUE_WORDS = frozenset(folded_text("""не знаю куда кем что на кого поступать поступить мне стать помоги помогите
выбрать я хз вообще пойти могу идти учиться после класса класс колледж колледже а и или не білмеймін қайда түсу
түсуге керек кім болсам болам неге сынып сыныптан кейін 9 11 бола ма""").split())
VAGUE_INTERESTS = ("computers", "machines", "caring", "creativity")
DORMITORY = re.compile(r"(?<!\w)(общаг|общежит|жатакхан)")
SALARY = re.compile(r"(?<!\w)(зарплат|зп\b|получа[еюи]т|платят|зарабатыва|бабк|доход|оклад|жалакы|аилыг|аилык|"
                    r"табыс)")
KAZAKH_THANKS = re.compile(r"(?<!\w)(рахмет|ракмет|рахмат|сагбол|сау бол)")
SAFETY_RECORDS = {"crisis": "crisis-helplines", "illegal": "fake-documents-illegal"}


def names_a_speciality(answer: Answer) -> bool:
    """True when a suggestion matched something the person said (a keyword, a profession), not only meaning."""
    return any(s.why != phrase("why_meaning", answer.lang) for s in answer.specialities)


def is_vague(text: str) -> bool:
    """True for «не знаю куда поступать» and the like: a plea for help that names no interest at all."""
    words = folded_text(text).split()
    return bool(VAGUE.search(" ".join(words))) and all(w in VAGUE_WORDS for w in words)


def safety_answer(kb: KnowledgeBase, risk: str, lang: str) -> Answer:
    """A warm reply with helplines for a crisis, or the law and the legal route for an illegal request."""
    record = kb.get(SAFETY_RECORDS[risk])
    body = [phrase(f"{risk}_opening", lang)]
    sources: list[SourceRef] = []
    if isinstance(record, Faq):
        body.append(record.answer_kk if lang == "kk" else record.answer_ru)
        body.append(f"\n{phrase('sources', lang)}: {citation(record, lang)}")
        sources.append(_source_ref(record, 1.0))
    else:  # the sourced record was removed from the knowledge base: never invent numbers or articles
        body.append(phrase(f"{risk}_fallback", lang))
    return Answer(question="", lang=lang, intent=risk, answer="\n".join(body), sources=sources)


def _source_ref(record: KnowledgeRecord, score: float) -> SourceRef:
    return SourceRef(record.id, record.kind, _title(record), round(score, 4), record.source)


def _title(record: KnowledgeRecord | None, lang: str = "ru") -> str:
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
