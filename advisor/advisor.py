"""The advisor: answers a school leaver's question from knowledge records only, and names its sources."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from advisor.answer import (Answer, CollegeSuggestion, ProgrammeSuggestion, SourceRef,
                            SpecialitySuggestion)
from advisor.phrases import phrase
from advisor.understanding import Question, understand
from embeddings.retriever import Filters, Hit, HybridRetriever
from embeddings.text import stemmed_tokens
from knowledge.loader import KnowledgeBase
from knowledge.schema import Admission, College, Faq, KnowledgeRecord, Profession, Programme, Speciality
from knowledge.vocabulary import label

# A hit counts as relevant when it shares a meaningful word with the question or is this close in meaning.
DENSE_RELEVANT = 0.86
MAX_COLLEGES_SHOWN = 6
MAX_SOURCES_SHOWN = 4
ALWAYS_FREE = ("free-first-qualification", "state-order")
# Words too general to show that a record is about what the person asked.
_STOP_STEMS = set(stemmed_tokens("специальность специальности мамандық мамандығы профессия профессию кәсіп "
                                 "работа работать жұмыс учеба студент"))
_INTENT_FOR_KIND = {"speciality": "suggest", "profession": "suggest", "college": "colleges",
                    "programme": "free", "admission": "admission", "faq": "faq"}


@dataclass(frozen=True)
class _State:
    kb: KnowledgeBase
    retriever: HybridRetriever


class Advisor:
    """Answers questions over one knowledge base and index; `replace` swaps both at once for a reload."""

    def __init__(self, kb: KnowledgeBase, retriever: HybridRetriever, top_k: int = 5, max_chars: int = 1000):
        self._state = _State(kb, retriever)
        self._lock = threading.Lock()
        self.top_k = top_k
        self.max_chars = max_chars

    @property
    def kb(self) -> KnowledgeBase:
        return self._state.kb

    def replace(self, kb: KnowledgeBase, retriever: HybridRetriever) -> None:
        """Start answering from a new knowledge base and index; questions in flight finish on the old ones."""
        with self._lock:
            self._state = _State(kb, retriever)

    def ask(self, text: str, lang: str | None = None, grade: int | None = None, city: str | None = None) -> Answer:
        """Answer one question; never raises on bad input."""
        state = self._state  # one consistent snapshot for the whole answer
        cleaned = (text or "").strip()
        from advisor.places import find_place

        place = find_place(city) if city else None
        if not cleaned:
            return self._plain(text, lang or "ru", "offtopic", phrase("empty", lang or "ru"))
        notes: list[str] = []
        if len(cleaned) > self.max_chars:
            cleaned = cleaned[: self.max_chars]
            notes.append(phrase("too_long", lang or understand(cleaned).lang, limit=self.max_chars))
        if not any(ch.isalpha() for ch in cleaned):
            return self._plain(text, lang or "ru", "offtopic", phrase("no_text", lang or "ru"))
        question = understand(cleaned, lang=lang, grade=grade, place=place)
        answer = _Composer(state, question, self.top_k).compose()
        answer.question = text
        if notes:
            answer.answer = "\n".join(notes + [answer.answer])
        return answer

    @staticmethod
    def _plain(text: str, lang: str, intent: str, message: str) -> Answer:
        return Answer(question=text, lang=lang, intent=intent, answer=message, answered=False)


class _Composer:
    """Builds one answer from the records retrieval finds for a question."""

    def __init__(self, state: _State, question: Question, top_k: int):
        self.kb = state.kb
        self.retriever = state.retriever
        self.q = question
        self.lang = question.lang
        self.top_k = top_k
        self.used: dict[str, float] = {}  # record id -> score, in the order used
        self.query_stems = set(stemmed_tokens(question.text)) - _STOP_STEMS

    def compose(self) -> Answer:
        hits = [h for h in self.retriever.search(self.q.text, k=8) if self._relevant(h)]
        intent = self.q.intent or (_INTENT_FOR_KIND[hits[0].kind] if hits else "offtopic")
        if intent == "greeting":
            return self._answer(intent, phrase("greeting", self.lang), answered=True)
        handler = {"suggest": self._suggest, "speciality": self._speciality, "colleges": self._colleges,
                   "free": self._free, "admission": self._admission, "faq": self._faq}.get(intent)
        answer = handler() if handler else None
        if answer is None:
            return self._answer("offtopic" if intent == "offtopic" else intent, phrase("not_found", self.lang),
                                answered=False)
        return answer

    # --- relevance and ranking -------------------------------------------------------------
    def _relevant(self, hit: Hit) -> bool:
        meaningful = set(hit.matched_terms) - _STOP_STEMS
        return bool(meaningful) or hit.dense >= DENSE_RELEVANT

    def _ranked_specialities(self) -> list[SpecialitySuggestion]:
        """Specialities for the question, from speciality and profession hits, each with a reason."""
        hits = self.retriever.search(self.q.text, k=12, filters=Filters(kinds=("speciality", "profession")))
        scores: dict[str, float] = {}
        reasons: dict[str, str] = {}
        for hit in hits:
            if not self._relevant(hit):
                continue
            record = self.kb.get(hit.id)
            if isinstance(record, Speciality):
                if hit.score > scores.get(record.id, 0):
                    scores[record.id] = hit.score
            elif isinstance(record, Profession):
                for position, sid in enumerate(record.specialities):
                    score = hit.score * (0.95 if position == 0 else 0.8)
                    if score > scores.get(sid, 0):
                        scores[sid] = score
                        reasons[sid] = phrase("why_profession", self.lang,
                                              value=record.name_kk if self.lang == "kk" else record.name_ru)
        if not scores:
            return []
        best = max(scores.values())
        ranked = sorted((s for s in scores.items() if s[1] >= best * 0.5), key=lambda s: s[1], reverse=True)
        suggestions = []
        for sid, score in ranked[: self.top_k]:
            spec = self.kb.get(sid)
            if not isinstance(spec, Speciality):
                continue
            why = self._keyword_reason(spec) or reasons.get(sid) or self._interest_reason(spec) \
                or phrase("why_meaning", self.lang)
            suggestions.append(SpecialitySuggestion(spec.id, spec.code or "", spec.name_ru, spec.name_kk,
                                                    round(score, 4), why))
            self.used[spec.id] = score
        return suggestions

    def _keyword_reason(self, spec: Speciality) -> str:
        keywords = spec.keywords_kk + spec.keywords_ru if self.lang == "kk" else spec.keywords_ru + spec.keywords_kk
        for keyword in [*keywords, spec.name_ru, spec.name_kk]:
            stems = set(stemmed_tokens(keyword)) - _STOP_STEMS
            if stems and stems <= set(stemmed_tokens(self.q.text)):
                return phrase("why_keyword", self.lang, value=keyword)
        return ""

    def _interest_reason(self, spec: Speciality) -> str:
        for value in [*spec.interests, *spec.subjects]:
            for lang in ("ru", "kk"):
                if set(stemmed_tokens(label(value, lang, interest=True))) & self.query_stems:
                    return phrase("why_interest", self.lang, value=label(value, self.lang, interest=True))
        return ""

    # --- intents ------------------------------------------------------------------------------
    def _suggest(self) -> Answer | None:
        specialities = self._ranked_specialities()
        if not specialities:
            return self._faq()
        lines = [phrase("suggest_intro", self.lang)]
        for n, s in enumerate(specialities, 1):
            spec = self.kb.get(s.id)
            assert isinstance(spec, Speciality)
            lines.append(f"{n}. {self._spec_title(spec)} — {phrase('why', self.lang)}: {s.why}{self._study(spec)}")
        if self.q.wants_free:
            lines.append("\n" + self._free_lines(limit=2))
        elif self.q.place:
            lines.append("\n" + self._college_lines([s.id for s in specialities[:3]]))
        else:
            lines.append(phrase("free_hint", self.lang))
        return self._answer("suggest", "\n".join(lines), specialities=specialities)

    def _speciality(self) -> Answer | None:
        specialities = self._ranked_specialities()
        if not specialities:
            return self._faq()
        spec = self.kb.get(specialities[0].id)
        assert isinstance(spec, Speciality)
        lines = [self._spec_title(spec), self._t(spec.description_ru, spec.description_kk)]
        work = self._t(spec.work_ru, spec.work_kk)
        if work:
            lines.append(f"{phrase('work', self.lang)}: {work}")
        if spec.qualifications:
            quals = "; ".join(f"{q.code + ' ' if q.code else ''}{self._t(q.name_ru, q.name_kk)}"
                              for q in spec.qualifications)
            lines.append(f"{phrase('qualifications', self.lang)}: {quals}")
        study = self._study(spec, all_grades=True)
        if study:
            lines.append(study.strip(" ;,"))
        if spec.code_note:
            lines.append(f"{phrase('code_note', self.lang)}: {spec.code_note}")
        lines.append("\n" + self._college_lines([spec.id]))
        return self._answer("speciality", "\n".join(lines), specialities=specialities[:1])

    def _colleges(self) -> Answer | None:
        specialities = self._ranked_specialities() if self.query_stems - self._place_stems() else []
        ids = [s.id for s in specialities[:3]]
        lines = [self._college_lines(ids)]
        if self.q.wants_free:
            lines.append("\n" + self._free_lines(limit=2))
        return self._answer("colleges", "\n".join(lines), specialities=specialities[:3])

    def _free(self) -> Answer | None:
        return self._answer("free", self._free_lines(limit=4))

    def _admission(self) -> Answer | None:
        hits = self.retriever.search(self.q.text, k=6, filters=Filters(kinds=("admission",)))
        records = [r for h in hits if isinstance(r := self.kb.get(h.id), Admission)
                   and (r.grade is None or self.q.grade is None or r.grade == self.q.grade)]
        if self.q.grade is None:
            records = [r for r in records if r.grade is None] or records
        if not records:
            return None
        lines = [phrase("admission_intro", self.lang)]
        for record, hit in [(r, next(h for h in hits if h.id == r.id)) for r in records[:2]]:
            self.used[record.id] = hit.score
            lines.append(f"• {self._t(record.title_ru, record.title_kk)}: {self._t(record.text_ru, record.text_kk)}"
                         + self._yearly(record))
        return self._answer("admission", "\n".join(lines))

    def _faq(self) -> Answer | None:
        hits = [h for h in self.retriever.search(self.q.text, k=3, filters=Filters(kinds=("faq",)))
                if self._relevant(h)]
        if not hits:
            return None
        record = self.kb.get(hits[0].id)
        assert isinstance(record, Faq)
        self.used[record.id] = hits[0].score
        text = f"{self._t(record.question_ru, record.question_kk)}\n{self._t(record.answer_ru, record.answer_kk)}"
        return self._answer("faq", text + self._yearly(record))

    # --- pieces -------------------------------------------------------------------------------
    def _college_lines(self, speciality_ids: list[str]) -> str:
        place = self.q.place
        where_ru = phrase("where_ru", self.lang, place=place.label(self.lang)) if place else ""
        where_kk = phrase("where_kk", self.lang, place=place.label(self.lang)) if place else ""
        where = where_ru or where_kk
        colleges = [c for c in self.kb.colleges if not speciality_ids or set(speciality_ids) & set(c.specialities)]
        if place:
            colleges = [c for c in colleges if (place.city and c.city == place.city) or
                        (not place.city and c.region == place.region)] or \
                       [c for c in colleges if c.region == place.region]
        if speciality_ids:
            names = ", ".join(self._spec_name(sid) for sid in speciality_ids[:2])
            what = f"«{names}»" if len(speciality_ids) == 1 else phrase("these_specialities", self.lang)
            if not colleges:
                return phrase("no_colleges_here", self.lang, where=where, what=what)
            head = phrase("colleges_intro", self.lang, what=what, where=where)
        else:
            if not place:
                return phrase("ask_place", self.lang)
            if not colleges:
                return phrase("no_colleges_place", self.lang, where=where)
            head = phrase("colleges_in", self.lang, where=where)
        # Colleges teaching more of the suggested specialities come first.
        colleges.sort(key=lambda c: -len(set(speciality_ids) & set(c.specialities)))
        lines = [head]
        for college in colleges[:MAX_COLLEGES_SHOWN]:
            self.used.setdefault(college.id, 0.0)
            details = ", ".join(part for part in (college.city, college.address, college.website) if part)
            lines.append(f"• {college.name}" + (f" — {details}" if details else ""))
        if len(colleges) > MAX_COLLEGES_SHOWN:
            lines.append(phrase("more_colleges", self.lang, n=len(colleges) - MAX_COLLEGES_SHOWN))
        self._college_results = colleges[:MAX_COLLEGES_SHOWN]
        return "\n".join(lines)

    def _free_lines(self, limit: int) -> str:
        hits = self.retriever.search(self.q.text, k=8, filters=Filters(kinds=("programme",)))
        ranked = [h.id for h in hits if self._relevant(h)]
        if self.q.tags:
            ranked.insert(0, "quotas")
        ordered = list(dict.fromkeys([*ranked, *ALWAYS_FREE]))[:limit]
        lines = [phrase("free_intro", self.lang)]
        for pid in ordered:
            programme = self.kb.get(pid)
            if not isinstance(programme, Programme):
                continue
            self.used.setdefault(pid, next((h.score for h in hits if h.id == pid), 0.0))
            lines.append(f"• {self._t(programme.title_ru, programme.title_kk)}: "
                         f"{self._t(programme.summary_ru, programme.summary_kk)}" + self._yearly(programme))
            quotas = [q for q in programme.quotas if q.tag in self.q.tags]
            for quota in quotas:
                lines.append(f"  {phrase('your_quota', self.lang)}: {self._t(quota.category_ru, quota.category_kk)}"
                             f" — {quota.percent:g} %")
        return "\n".join(lines)

    def _spec_title(self, spec: Speciality) -> str:
        code = f" ({phrase('code', self.lang)} {spec.code})" if spec.code else ""
        return f"{self._spec_name(spec.id)}{code}"

    def _spec_name(self, speciality_id: str) -> str:
        spec = self.kb.get(speciality_id)
        assert isinstance(spec, Speciality)
        return (spec.name_kk or spec.name_ru) if self.lang == "kk" else spec.name_ru

    def _study(self, spec: Speciality, all_grades: bool = False) -> str:
        grades = (9, 11) if all_grades or self.q.grade is None else (self.q.grade,)
        parts = [phrase(f"study_{g}", self.lang, value=value) for g in grades
                 if (value := spec.study_after_9 if g == 9 else spec.study_after_11)]
        if not parts or (not all_grades and self.q.grade is None):
            return ""
        return "; " + "; ".join(parts)

    def _yearly(self, record: Programme | Admission | Faq) -> str:
        return f" ({phrase('yearly', self.lang, year=record.as_of)})" if record.changes_yearly else ""

    def _t(self, ru: str, kk: str) -> str:
        return (kk or ru) if self.lang == "kk" else (ru or kk)

    def _place_stems(self) -> set[str]:
        if not self.q.place:
            return set()
        stems = {s for w in self.q.text.split() for s in stemmed_tokens(w)
                 if any(s.startswith(p[:4]) for p in self.q.place.stems)}
        return stems

    def _answer(self, intent: str, text: str, specialities: list[SpecialitySuggestion] | None = None,
                answered: bool = True) -> Answer:
        colleges = [CollegeSuggestion(c.id, c.name, c.city, c.region, c.specialities)
                    for c in getattr(self, "_college_results", [])]
        programmes = [ProgrammeSuggestion(r.id, self._t(r.title_ru, r.title_kk))
                      for rid in self.used if isinstance(r := self.kb.get(rid), Programme)]
        sources = [self._source(self.kb.get(rid), score) for rid, score in self.used.items() if self.kb.get(rid)]
        if sources and answered:
            cited = dict.fromkeys(f"{s.title} — {short_source(s.source)}" for s in sources[:MAX_SOURCES_SHOWN])
            text += f"\n\n{phrase('sources', self.lang)}:\n" + "\n".join(f"· {c}" for c in cited)
        return Answer(question=self.q.text, lang=self.lang, intent=intent, answer=text,
                      specialities=specialities or [], colleges=colleges, programmes=programmes, sources=sources,
                      grade=self.q.grade, city=self.q.place.label("ru") if self.q.place else "", answered=answered)

    def _source(self, record: KnowledgeRecord | None, score: float) -> SourceRef:
        assert record is not None
        return SourceRef(record.id, record.kind, _title(record), round(score, 4), record.source)


def short_source(source: str) -> str:
    """The most telling part of a record's source line: a web address or a legal act if there is one."""
    parts = [p.strip() for p in re.split(r" \| |; ", source) if p.strip()]
    preferred = [p for p in parts if re.search(r"https?://|adilet|Приказ|Закон|Постановлени|egov|gov\.kz", p)]
    best = (preferred or parts or [source])[0]
    return best if len(best) <= 110 else best[:107].rstrip() + "…"


def _title(record: KnowledgeRecord) -> str:
    """A short human title of any record."""
    if isinstance(record, (Speciality, Profession)):
        return record.name_ru
    if isinstance(record, College):
        return record.name
    if isinstance(record, (Programme, Admission)):
        return record.title_ru
    if isinstance(record, Faq):
        return record.question_ru
    return record.id
