"""The advisor: answers a school leaver's question from knowledge records only, and names its sources."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, partial
from typing import Any

from advisor.answer import Answer, SourceRef, SpecialitySuggestion
from advisor.colleges import SAYS_COLLEGE, colleges_in, listed_specialities, name_words, named_among
from advisor.composer import Composer
from advisor.dialogue import (
    REQUEST_COURTESY_WORDS,
    Conversation,
    asks_in_general,
    beside_option,
    chosen_option,
    college_detail,
    conversation_language,
    is_elliptic,
    is_short,
    language_asked,
    last_list,
    leads_with_option,
    marks_ellipsis,
    option_number,
    refers_to_place,
    refers_to_thing,
    says_specialities,
)
from advisor.fields import FieldModel
from advisor.intents import COMBINABLE, IntentModel, Prediction
from advisor.language import LanguageDetector
from advisor.phrases import phrase
from advisor.places import Place, find_place
from advisor.ranking import NAME_PHRASE, Relevance, found_by, name_words_said, named_by_a_real_word
from advisor.render import citation
from advisor.safety import SAFETY_RECORDS, folded_text, risk_of
from advisor.sections import source_ref
from advisor.understanding import Question, bare_grade, detect_grade, detect_tags, understand
from embeddings.retriever import Filters, Hit, HybridRetriever
from knowledge.loader import KnowledgeBase
from knowledge.schema import College, Faq, Profession, Programme, Speciality
from knowledge.text import tokens
from knowledge.vocabulary import label


@dataclass(frozen=True)
class _State:
    """What one answer is computed from; swapped as a whole on reload."""

    kb: KnowledgeBase
    retriever: HybridRetriever
    detector: LanguageDetector
    intents: IntentModel
    fields: FieldModel | None

    def composer(self, question: Question, top_k: int) -> Composer:
        """A composer for one question over this state, reading fields with the field model when there is one."""
        return Composer(self.kb, self.retriever, question, top_k,
                        self.field_named if self.fields is not None else None)

    def field_named(self, text: str) -> str:
        """The field of specialities a text surely names on its own («шығармашылыққа ше?»), or ''."""
        return self.fields.read(text, self.retriever.query_vector(text))[1] if self.fields is not None else ""


@dataclass(frozen=True)
class _Turn:
    """One chat message read against the conversation: what the rules of a thread decide on."""

    text: str
    conv: Conversation
    lang: str
    grade: int | None  # the grade said in this message, else the chat's
    city: str | None
    act: str  # the dialogue act or question the model reads (its runner-up when that points at the focus)
    sure: bool
    place: Place | None  # the place this message names
    says_grade: bool
    named_speciality: Callable[[], str]  # the speciality the message names by a word (searched when first asked)
    named_exactly: Callable[[], str]  # the same, not found by correcting a typo


class Advisor:
    """Answers questions over one knowledge base, index and intent model; `replace` swaps all at once for a reload."""

    def __init__(self, kb: KnowledgeBase, retriever: HybridRetriever, intents: IntentModel,
                 fields: FieldModel | None = None, top_k: int = 5, max_chars: int = 1000):
        self._state = _State(kb, retriever, intents.language, intents, fields)
        self.top_k = top_k
        self.max_chars = max_chars

    @property
    def kb(self) -> KnowledgeBase:
        return self._state.kb

    @property
    def intents(self) -> IntentModel:
        return self._state.intents

    @property
    def fields(self) -> FieldModel | None:
        return self._state.fields

    def replace(self, kb: KnowledgeBase, retriever: HybridRetriever, intents: IntentModel,
                fields: FieldModel | None = None) -> None:
        """Answer from a new knowledge base, index and models; questions in flight finish on the old ones."""
        self._state = _State(kb, retriever, intents.language, intents, fields)  # one reference swap: atomic

    def predict(self, text: str) -> Prediction:
        """What the message asks, by the intent model, from the vector retrieval computes for it anyway."""
        return _predict(self._state, text)

    def ask(self, text: str, lang: str | None = None, grade: int | None = None, city: str | None = None,
            top_k: int | None = None, interests: tuple[str, ...] = (), overrides: dict[str, Any] | None = None
            ) -> Answer:
        """Answer one question; never raises on bad input. Grade, city and interests come from a profile;
        `overrides` replace what the text says (a chat's changed grade, place or category re-asks with them)."""
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
        prediction = _predict(state, cleaned)
        # A crisis or an illegal request found by either the model or the word-list floor wins over everything; a
        # crisis even read unsure, an illegal request only read surely («а на спасателя в нём можно?» at 0.27 is not).
        modelled = prediction.intent if prediction.intent == "crisis" or (prediction.intent in SAFETY_RECORDS
                                                                          and prediction.sure) else None
        if risk := risk_of(cleaned) or modelled:
            answer = safety_answer(state.kb, risk, lang or state.detector.detect(cleaned))
            answer.question, answer.label, answer.confidence = text, prediction.intent, prediction.confidence
            return answer
        question = understand(cleaned, state.detector, prediction, lang=lang, grade=grade,
                              place=find_place(city) if city else None, interests=interests)
        question = replace(question, **(overrides or {}))
        if state.fields is not None and question.intent in SUGGESTING:
            vector = state.retriever.query_vector(cleaned)  # cached: the intent model asked for it already
            boosts, group = state.fields.read(cleaned, vector)
            question = replace(question, field_boosts=boosts, field=question.field or group)  # a chat's field first
        elif question.intent in BY_FIELD:
            # «когда подавать на медицинское?»: medical specialities have dates of their own.
            question = replace(question, field=question.field or self._field_named(cleaned))
        answer = state.composer(question, top_k or self.top_k).compose()
        answer.label, answer.confidence = question.intent, prediction.confidence
        if is_vague(cleaned) and not names_a_speciality(answer):
            # «не знаю куда поступать» names no interest: a random list would mislead; offer the test instead.
            answer = Answer(question=text, lang=answer.lang, intent="vague", answer=phrase("vague", answer.lang))
        answer.question = text
        if notes:
            answer.answer = "\n".join([*notes, answer.answer])
        return answer

    def converse(self, text: str, conversation: Conversation | None = None, grade: int | None = None,
                 city: str | None = None, interests: tuple[str, ...] = ()) -> tuple[Answer, Conversation]:
        """Answer one message of a chat, read against the conversation; returns the new state."""
        conv = conversation if conversation is not None and not conversation.expired() else Conversation()
        focus_before = conv.focus
        asked_lang, trimmed = language_asked((text or "").strip()[: self.max_chars])
        repeat = bool(asked_lang) and len(tokens(trimmed)) <= REQUEST_COURTESY_WORDS
        if repeat and not conv.question:  # «qazaqsha jaz» first: a word that it is heard
            answer = Answer(text, asked_lang, "thanks", phrase("language_switched", asked_lang))
            return answer, self._remember(conv, answer)
        if repeat:  # «ответьте на русском»: the last question again, in that language
            trimmed = conv.question
        cleaned = self._question_after_courtesy(trimmed)
        detector = self._state.detector
        detected = detector.reply_language(cleaned) if cleaned else (conv.lang or "ru")
        sure = bool(cleaned) and detector.sure_of(cleaned, detected, LANGUAGE_SWITCH_MARGINS[detected])
        lang = asked_lang or conversation_language(cleaned, conv, detected, sure)
        grade = conv.grade or grade
        city = conv.city or city
        answer = self._in_thread(cleaned, conv, lang, grade, city) if cleaned and conv.topic and not repeat else None
        if answer is None:
            # a thanks or a language request cut off before the question, else the whole text (a note if too long)
            asked = cleaned if cleaned != trimmed or asked_lang else text
            answer = self.ask(asked, lang=lang, grade=grade, city=city, interests=interests)
            _note_question(conv, asked, answer)
            if not answer.specialities and answer.intent in ("free", "paid") \
                    and (named := self._named_speciality(asked, exact=True)):
                conv.focus = named  # «…на автомеханика… бесплатно это?»: «а в Кокшетау где на это учат?» next
        answer.question = text
        if conv.focus != focus_before and focus_before:
            conv.previous_focus = focus_before
        return answer, self._remember(conv, answer)

    def _in_thread(self, text: str, conv: Conversation, lang: str, grade: int | None,
                   city: str | None) -> Answer | None:
        """The answer to a dialogue act or a reference to what is in focus; None for a question of its own."""
        turn = self._read_turn(text, conv, lang, grade, city)
        if turn is None:
            return None
        if self._picks_option(turn):
            return self._picked_option(turn)
        # The rules in the order they win: a college pointed at, more or back, a changed detail, a field added to the
        # last question, the speciality in focus.
        for rule in (self._about_colleges_in_focus, self._more_or_back, self._changed_detail_in_thread,
                     self._last_question_with_field, self._about_speciality_in_focus):
            if (answer := rule(turn)) is not None:
                return answer
        return None

    def _read_turn(self, text: str, conv: Conversation, lang: str, grade: int | None,
                   city: str | None) -> _Turn | None:
        """The message read against the chat; None for a crisis or an illegal request (answered on their own)."""
        prediction = self.predict(text)
        act = prediction.intent
        if act in SAFETY_RECORDS or risk_of(text):
            return None
        if not prediction.sure and act not in FOCUS_INTENTS and conv.focus and len(prediction.ranked) > 1 \
                and prediction.ranked[1][0] in FOCUS_INTENTS and (refers_to_thing(text) or refers_to_place(text)):
            # «ony 11 synyptan kein oqysam qansha uaqyt ketedi» (off-topic at 0.31, study length at 0.25) points at
            # the speciality in focus: the runner-up that asks about it.
            act = prediction.ranked[1][0]
        # A retrieval search: once, when needed. «бұл мамандықтың коды қандай» asks a code: «код» names no speciality.
        # «там есть чтото про нефть»: of the specialities «нефть» names, the one the college in focus teaches;
        # «электр саласында жалақы» while electrical equipment is in focus: that one, not welding («электр
        # дәнекерлеуші»).
        taught = [sid for cid in ([conv.college] if conv.college else conv.colleges)
                  if isinstance(c := self.kb.get(cid), College) for sid in c.specialities]
        named_speciality = cache(partial(self._named_speciality, CODE_WORDS.sub(" ", text)
                                         if act == "speciality_code" else text, prefer=(*taught, conv.focus)))
        said_grade = detect_grade(text) or bare_grade(text)  # «а после 9?» changes the grade
        return _Turn(text, conv, lang, said_grade or grade, city, act, prediction.sure, find_place(text),
                     bool(said_grade), named_speciality, cache(partial(self._named_speciality, text, exact=True)))

    def _picks_option(self, turn: _Turn) -> bool:
        """True when the message picks an option of the last list: read so by the model, or a number or an ordinal
        alone, or a short message opening with one («а второй частный?»)."""
        # «3», or «соңғысы ше» read by the model as another chat act; «обратно к первым» is back.
        text, act = turn.text, turn.act
        number = self._option_number(turn)
        # «номер их скинь пж» with a college in focus asks its phone, whatever «номер» suggests to the model
        asks_contact = not number and bool(turn.conv.college or turn.conv.colleges) and bool(college_detail(text))
        return act == "pick_option" and not asks_contact or bool(number) and (
            text.strip(" .!?#№").isdigit() or is_short(text) and leads_with_option(text)
            or act in CHAT_ACTS and act not in ("back", "more") and is_short(text))

    @staticmethod
    def _option_number(turn: _Turn) -> int | None:
        """The number of the option a message names, when there is a list and no grade is said."""
        return option_number(turn.text) if last_list(turn.conv)[1] and not turn.says_grade else None

    def _picked_option(self, turn: _Turn) -> Answer | None:
        """The option picked: its card, its colleges in a place named, or a question asked beside it."""
        text, conv, lang, grade, city = turn.text, turn.conv, turn.lang, turn.grade, turn.city
        kind, options = last_list(conv)
        # «9» of «после 9» is a grade, not the ninth option; «бириншиси унады, ол 9 класстан кейин канша жыл» opens
        # with an ordinal word and picks the first.
        picked = "" if turn.says_grade and not leads_with_option(text) else chosen_option(text, conv)
        if picked and kind in ("college", "programme"):
            answer = self.about_college(picked, lang, college_detail(text)) if kind == "college" \
                else self.about_programme(picked, lang)
            if answer is not None:
                answer.label = "pick_option"
            return answer
        conv.focus = picked or conv.focus
        if picked and turn.place:  # «а первый есть в павлодаре?»: its colleges there
            return self.about_speciality(picked, "colleges", lang, grade, turn.place.label("ru"))
        if picked and (asked := self._question_beside_option(text)):
            # «2-шісіне құжат қашанға дейін?»: that question, about the option picked; «первый вариант. какие
            # документы туда нужны?»: a question of its own once the option is in focus.
            return self._in_thread(asked, conv, lang, grade, city) \
                or self.ask(asked, lang=lang, grade=grade, city=city, overrides={"field": self._group_of(picked)})
        if picked:
            return self.about_speciality(picked, "info", lang, grade, city)
        if self._option_number(turn):  # «3» or «а шестой есть?» after a list of two: say how many there are
            return Answer(text, lang, "clarify", phrase(f"option_out_of_range_{kind}", lang, n=len(options)),
                          label="pick_option")
        return None

    def _about_colleges_in_focus(self, turn: _Turn) -> Answer | None:
        """A question about the college(s) in focus or one of them named: «а чему там учат?», «онда шаштараз бар
        ма», «а адрес у них какой?», «колледж туризма — там на каком языке?»."""
        text, conv, lang, act, place = turn.text, turn.conv, turn.lang, turn.act, turn.place
        # «какие документы туда нужны?» asks a topic of its own about them; an unsure reading («на повара там
        # можно?» as demand at 0.22) yields to the reference. «где он находится?», «он гос или частный?» with
        # colleges in focus ask about them; «а где его учат в Астане?» asks about the speciality in focus.
        pointed = refers_to_place(text) or bool(conv.college or conv.colleges) and act == "colleges" \
            and refers_to_thing(text) and place is None
        there = pointed and (act in ("suggest", "speciality_info", "colleges") or not turn.sure
                             or act in CHAT_ACTS and act not in ("greeting", "thanks", "goodbye"))
        detail = college_detail(text)
        # «a u bolashaka sait kakoi» under a town's colleges: that college (not «рахмет. Кастеев колледжине
        # дизайнга кашанга дейин тапсырады»: a question of its own about it).
        if (act in ABOUT_COLLEGES or not turn.sure or detail) \
                and (named_college := self._college_named_in_thread(text, conv, place)) is not None:
            conv.college = named_college.id
            return self.about_college(named_college.id, lang, detail)
        # «Maqat kolledjinin saity qandai»: a contact of a town's only college.
        if detail and place and place.city and len(here := colleges_in(self.kb, place)) == 1:
            return self.about_college(here[0].id, lang, detail)
        # «а номер телефона у них есть?»: a contact of the college in focus, not the speciality «телефон» names.
        if detail and (conv.college or conv.colleges) and not place:
            if conv.college or len(conv.colleges) == 1:
                return self.about_college(conv.college or conv.colleges[0], lang, detail)
            return self.about_colleges(conv.colleges, lang)  # each card shows what the source gives
        if there and (conv.college or conv.colleges) and (named := turn.named_speciality()):
            conv.focus = named  # «а на парикмахера у них?»: that college, or the listed place, and that speciality
            if conv.college:
                return self.college_and_speciality(conv.college, named, lang)
            return self.about_speciality(named, "colleges", lang, turn.grade, turn.city)
        if conv.college and there:
            return self.about_college(conv.college, lang)
        if there and act in ("colleges", "speciality_info") and len(conv.colleges) > 1:
            return self.about_colleges(conv.colleges, lang)  # «а чему у них учат?» after a list of colleges
        return None

    def _more_or_back(self, turn: _Turn) -> Answer | None:
        """«ещё»: the next specialities or colleges for the last question; «назад»: the last list again."""
        conv, lang, grade, city, act = turn.conv, turn.lang, turn.grade, turn.city, turn.act
        if act == "more" and conv.topic == "free" and conv.routes:  # «а ещё варианты есть?» after free routes
            answer = self.more_routes(conv.question or turn.text, conv.routes, lang, grade)
            answer.label = "more"
            return answer
        # «ещё» under a list of colleges asks more colleges; «тағы қандай мамандықтар бар» more specialities
        more_specialities = self._more(conv, lang, grade, city) if act == "more" and conv.listing \
            and (conv.topic != "colleges" or says_specialities(turn.text)) else None
        if more_specialities and more_specialities.specialities:
            return more_specialities
        # «ещё» after a list of colleges, or after the one speciality the person named with its colleges («где
        # учиться на сварщика в актюбинской области», «eshe»): the next colleges for the same question.
        next_colleges = conv.topic == conv.asked == "colleges" or more_specialities is not None
        if act == "more" and next_colleges and conv.colleges and conv.question:
            # «а по всей области Жетісу ещё какие есть» after Taldykorgan's: the place it names, without those seen
            overrides: dict[str, Any] = {"seen_colleges": tuple(conv.colleges_seen or conv.colleges),
                                         "intent": "colleges", **({"place": turn.place} if turn.place else {})}
            answer = self.ask(conv.question, lang=lang, grade=grade, city=city, overrides=overrides)
            answer.label = "more"
            return answer
        if more_specialities:
            return more_specialities
        if act == "more" and not conv.listing and conv.college and conv.suggested:
            # «tagy bar ma?» after a college's own list of specialities: that list is all its source names.
            answer = self.about_college(conv.college, lang)
            if answer is not None:
                answer.answer = phrase("no_more_taught", lang) + "\n" + answer.answer
                answer.label = "more"
            return answer
        if act == "back" and not conv.listing and conv.previous_focus and conv.topic == "speciality":
            # «вернись к прошлой» after the card of another speciality asked on its own: the one before it
            conv.focus = conv.previous_focus
            return self.about_speciality(conv.focus, "info", lang, grade, city)
        if act == "back" and (conv.listing or conv.asked == "colleges" and conv.question):
            # the last list of specialities again, or of colleges («artqa» after «тағы» under a list of colleges)
            asked = conv.listing or conv.question
            answer = self.ask(asked, lang=lang, grade=grade, city=city)
            _note_question(conv, asked, answer)
            return answer
        return None

    def _changed_detail_in_thread(self, turn: _Turn) -> Answer | None:
        """A new grade, place or quota category said in a follow-up, or another interest after suggestions."""
        text, conv, act, place = turn.text, turn.conv, turn.act, turn.place
        # «Шымкенттегілерді де жазшы» after colleges of Taraz: a short message naming a new place or grade changes
        # it, whichever chat act the model reads in it, or whatever it reads unsure («жазшы» once read as injection,
        # «он бірінші сыныпты бітірсе қанша болады» as salary); so does a place alone («риддер?»), and a quota
        # category read unsure in a longer message («ал мүгедектігі болса ше? короче інім үшін сұрап жатырмын»).
        loose = act in CHAT_ACTS or not turn.sure
        # «а в жанакале есть что нибудь» under a list of colleges, read as an interest: the place changes too.
        # «а в северо казахстанской?» read as off-topic: a place and nothing else.
        # «Ембіде ше? ауылымыз сол жаққа жақын» under colleges of a town, read as the rural quota: another town.
        place_talk = len(tokens(text)) <= 2 or act == "offtopic" and is_elliptic(text) \
            or act == "suggest" and conv.topic == "colleges" and not turn.named_speciality() \
            or conv.topic == "colleges" and act == "quota" and marks_ellipsis(text)
        # «ал мүгедек баланы тәрбиелеп отырған отбасының баласына ше» while quotas are talked about: the category.
        category_talk = conv.asked == "quota" and marks_ellipsis(text)
        changes_detail = (loose or place_talk) and is_short(text) and place is not None \
            or (loose or category_talk) and (is_short(text) and turn.says_grade or bool(detect_tags(text)))
        if (act == "change_detail" or changes_detail) and (answer := self._changed_detail(turn)):
            return answer
        if act == "change_detail" and conv.asked == "suggest":
            return self._other_interest(turn)
        return None

    def _last_question_with_field(self, turn: _Turn) -> Answer | None:
        """«а если на медицинский?» after «когда подавать доки?»: the last question with the field this one adds;
        «до какого числа документы?» while a speciality is talked about: the question for its field."""
        text, conv, lang, grade, city, act = turn.text, turn.conv, turn.lang, turn.grade, turn.city, turn.act
        # The model may read a field named alone as an interest («al medicinalyq mamandyqqa tapsyrsam?»), or read it
        # unsure («meditsinaga tusemin desem?», «А на педагогические специальности?» as a speciality's card at 0.46).
        as_interest = act in ("suggest", "colleges")
        adds_field = conv.asked in BY_FIELD and is_short(text) \
            and (as_interest and (is_elliptic(text) or not turn.sure)
                 or is_elliptic(text) and act not in CHAT_ACTS and bool(self._field_named(text)))
        if (act == "change_detail" or adds_field) and conv.asked in COMBINABLE and conv.question and not conv.focus:
            overrides: dict[str, Any] = {"intent": conv.asked, "field": self._field_named(text),
                                         **({"grade": grade} if grade else {})}
            return self.ask(f"{conv.question} {text}", lang=lang, grade=grade, city=city, overrides=overrides)
        if act in BY_FIELD and isinstance(spec := self.kb.get(conv.focus), Speciality):
            # its own dates for a medical speciality, unless the message adds another field («а на педагогический
            # когда?»); «когда документы подавать» names none, though the field model reads «документы» as office work
            field_asked = marks_ellipsis(text) and self._field_named(text) or spec.group.value
            answer = self.ask(text, lang=lang, grade=grade, city=city, overrides={"field": field_asked})
            _note_question(conv, text, answer)  # a question of its own: «а после 9?» re-asks it
            return answer
        return None

    def _about_speciality_in_focus(self, turn: _Turn) -> Answer | None:
        """A question about the speciality in focus, or the same question about another one named."""
        text, conv, lang, grade, city, act, place = (turn.text, turn.conv, turn.lang, turn.grade, turn.city,
                                                     turn.act, turn.place)
        if conv.asked in FOCUS_INTENTS and (act in ("change_detail", conv.asked) or is_elliptic(text)) \
                and (other := turn.named_speciality()):
            conv.focus = other  # «а на бухгалтера?» after «сколько учиться на повара?»: the same, about another
            return self.about_speciality(other, FOCUS_INTENTS[conv.asked], lang, grade,
                                         place.label("ru") if place else city)
        # «айлыгы канша шамамен?» (three words) leans on the focus too, as in _about_focus; «электр саласында жалақы
        # жақсы ма өзі» names the focus among others.
        if act in ("demand", "salary") and isinstance(spec := self.kb.get(conv.focus), Speciality) \
                and (turn.named_speciality() == conv.focus or not turn.named_speciality()
                     and (refers_to_thing(text) or is_elliptic(text) or len(tokens(text)) <= ELLIPTIC_WORDS)):
            # «она вообще востребована?»: the same question, about the speciality in focus by its name.
            name = spec.name_kk if lang == "kk" and spec.name_kk else spec.name_ru
            answer = self.ask(f"{text} {name}", lang=lang, grade=grade, city=city, overrides={"intent": act})
            _note_question(conv, f"{text} {name}", answer)  # «Atyrauda she» next re-asks it about that speciality
            return answer
        if (act == "suggest" or not turn.sure) and conv.focus and refers_to_thing(text) and is_short(text) \
                and not turn.named_speciality():
            # «с ним куда работать идти», «онын дипломда биліктілігі кандай жазылады» (read unsure): its card.
            return self.about_speciality(conv.focus, "info", lang, grade, city)
        if act in FOCUS_INTENTS:
            return self._about_focus(turn)
        return None

    def _common_field(self, speciality_ids: list[str]) -> str:
        """The field every one of these specialities is in, or ''."""
        fields = {self._group_of(sid) for sid in speciality_ids}
        return fields.pop() if len(fields) == 1 else ""

    def _group_of(self, speciality_id: str) -> str:
        """The field of a speciality («health»), or ''."""
        spec = self.kb.get(speciality_id)
        return spec.group.value if isinstance(spec, Speciality) else ""

    def _college_named_in_thread(self, text: str, conv: Conversation, place: Place | None) -> College | None:
        """The one college of those listed or of the place talked about that the message names by a word of its
        name, when it points at them («юридический там есть? адрес его») or says «колледж»."""
        if not (refers_to_place(text) or college_detail(text) or SAYS_COLLEGE.search(folded_text(text))):
            return None
        around = place or (find_place(conv.city) if conv.city else None)
        pool = [c for cid in conv.colleges if isinstance(c := self.kb.get(cid), College)]
        # the region's too: «туризм колледжы да бар деп еститим» under the colleges of Aktau, in Mangistau region
        pool += [c for c in self.kb.colleges if around and c.region == around.region and c.id not in conv.colleges]
        return named_among(name_words(text, self._speciality_words(text)), pool, Relevance.of(text).ignored_terms)

    def _question_beside_option(self, text: str) -> str:
        """What a message picking an option also asks, when the model is sure it is a question about a speciality
        («второй вариант, сколько учиться?»); else ''."""
        rest = beside_option(text)
        if rest == text or len(tokens(rest)) < 2 or option_number(rest) is not None:
            return ""
        question = self.predict(rest)
        return rest if question.sure and question.intent not in CHAT_ACTS | NOT_ABOUT_A_SPECIALITY else ""

    def _question_after_courtesy(self, text: str) -> str:
        """The question in a message that as a whole reads as a courtesy or off-topic, when the model is sure of it:
        after a thanks or a greeting («спасибо большое. а через интернет можно подать?», «рахмет 🙏 075ті қайдан
        аламын»), or before a sentence about oneself («Онлайн тапсыруға бола ма? Біз ауданда тұрамыз»); else the
        text itself."""
        first, *rest = SENTENCE_BREAK.split(text, maxsplit=1)
        if not rest:
            return text
        whole = self.predict(text).intent
        part = rest[0] if whole in COURTESY else first if whole == "offtopic" and first.endswith("?") else ""
        if not part:
            return text
        question = self.predict(part)
        return part if question.sure and question.intent not in COURTESY | {"offtopic", "feedback"} else text

    def _other_interest(self, turn: _Turn) -> Answer | None:
        """«ал жануарларды емдеу ше?», «а если мне больше электрика нравится» after suggestions: suggest for it."""
        answer = self.ask(turn.text, lang=turn.lang, grade=turn.grade, city=turn.city, overrides={"intent": "suggest"})
        if not names_a_speciality(answer):
            return None  # nothing the message names: a clarifying question beats a list by meaning alone
        answer.label = "suggest"
        _note_question(turn.conv, turn.text, answer)
        return answer

    def _more(self, conv: Conversation, lang: str, grade: int | None, city: str | None) -> Answer:
        """The next specialities for the last list's question."""
        answer = self.more_suggestions(conv.listing, conv.shown, lang, grade, city)
        conv.shown += [s.id for s in answer.specialities]
        conv.suggested = [s.id for s in answer.specialities] or conv.suggested
        return answer

    def _changed_detail(self, turn: _Turn) -> Answer | None:
        """«а после 9?», «а в Шымкенте?», «көп балалы болсақ ше?»: the focused question again with the new detail;
        «медколледж ше сол оралда» names its speciality too (by its own word: «poedu» is no «поезд»)."""
        text, conv, lang, place = turn.text, turn.conv, turn.lang, turn.place
        categories = detect_tags(text)
        if not (turn.says_grade or place or categories):
            return None
        grade = turn.grade
        city = place.label("ru") if place else turn.city
        conv.grade, conv.city = grade, city or ""
        if categories and not (place and conv.topic == "colleges"):  # «ауылдан» beside a town asks its colleges
            quota_talk = conv.topic == "free" and conv.question
            return self.ask(conv.question if quota_talk else text, lang=lang, grade=grade, city=city,
                            overrides={"tags": frozenset(categories), "intent": "quota"})
        if conv.focus and conv.topic in ("suggest", "speciality", "colleges"):
            topic = "colleges" if place else "length"
            conv.focus = place and turn.named_exactly() or conv.focus
            return self.about_speciality(conv.focus, topic, lang, grade, city)
        if not conv.question:
            return None
        overrides: dict[str, Any] = {"grade": grade} if turn.says_grade else {}
        if place:
            overrides["place"] = place
        return self.ask(conv.question, lang=lang, grade=grade, city=city, overrides=overrides)

    def _about_focus(self, turn: _Turn) -> Answer | None:
        """«а там общага есть?», «сколько на это учиться?»: the question about the college or speciality in focus."""
        text, act, conv, lang, grade, place = turn.text, turn.act, turn.conv, turn.lang, turn.grade, turn.place
        pointed = refers_to_place(text) or refers_to_thing(text)
        # «сколько учиться?», «кай жерде окиды», «Ақтөбеде қай колледжге барам» lean on the focus; «сколько
        # колледжей в Казахстане» does not.
        # «bitirgende kim bolyp shygam, biliktiligi qandai» about a speciality, with one in focus, names no other.
        about_speciality = act in ("speciality_info", "speciality_code", "speciality_length") and is_short(text)
        leans = pointed or is_elliptic(text) or len(tokens(text)) <= ELLIPTIC_WORDS or (act == "colleges" and place) \
            or about_speciality and bool(conv.focus)
        if not leans or turn.named_speciality():
            return None  # «а на повара сколько учиться?» names its own subject
        city = place.label("ru") if place else turn.city
        if act == "dormitory":
            colleges = (conv.college,) if conv.college else tuple(conv.colleges)
            if not colleges and not conv.focus:
                return self._clarify(text, lang) if pointed else None
            return self.ask(text, lang=lang, grade=grade, city=city, overrides={"colleges": colleges})
        if not conv.focus:
            return self._clarify(text, lang) if pointed else None
        if conv.asked == "colleges" and is_elliptic(text) and not pointed \
                and (field := self._field_named(text)) and field != self._group_of(conv.focus):
            # «a pedagogicheskiy?» after «a medicinskiy tam est?»: colleges of that field, not the focus's card
            return self.ask(text, lang=lang, grade=grade, city=city, overrides={"intent": "colleges", "field": field})
        if act == "colleges" and place and asks_in_general(text) and SAYS_COLLEGE.search(folded_text(text)) \
                and not pointed:
            # «а вообще какие колледжи в уральске есть» while primary teaching is talked about: the place's colleges,
            # those teaching it first and said so
            return self.ask(text, lang=lang, grade=grade, city=city,
                            overrides={"place": place, "focus": conv.focus, "intent": "colleges"})
        return self.about_speciality(conv.focus, FOCUS_INTENTS[act], lang, grade, city)

    def _field_named(self, text: str) -> str:
        """The field of specialities a message surely names on its own («шығармашылыққа ше?»), or ''."""
        return self._state.field_named(text)

    @staticmethod
    def _clarify(text: str, lang: str) -> Answer:
        """One short question when a message points at something the chat has not named."""
        return Answer(question=text, lang=lang, intent="clarify", answer=phrase("clarify", lang), answered=False)

    def _naming_hits(self, text: str, k: int) -> list[Hit]:
        """The speciality and profession records the message names by a word (not by meaning), best first."""
        hits = self._state.retriever.search(text, k=k, filters=Filters(kinds=("speciality", "profession")))
        return Relevance.of(text).keep(hits, by_name_only=True)

    def _speciality_words(self, text: str) -> set[str]:
        """The stems by which the message names specialities or professions («дизайн», «туризм»)."""
        return {term for hit in self._naming_hits(text, k=12) for term in hit.key_terms}

    def _named_speciality(self, text: str, exact: bool = False, prefer: tuple[str, ...] = ()) -> str:
        """The speciality the message names by a word of its own or of its profession (not by meaning), or '';
        `exact` leaves out names found only by correcting a typo; of several named, one in `prefer` comes first."""
        kb = self._state.kb
        relevance = Relevance.of(text)
        words = tokens(text)
        named: list[tuple[int, int, str]] = []  # (words of its own name said, of its name and keywords, its id)
        for hit in self._naming_hits(text, k=5):
            if exact and not relevance.names_exactly(hit):
                continue
            if not named_by_a_real_word(hit, relevance):
                continue
            record = kb.get(hit.id)
            sid = record.specialities[0] if isinstance(record, Profession) and record.specialities else hit.id
            if isinstance(kb.get(sid), Speciality):
                naming = [w for w in words if found_by(hit, w)]
                named.append((name_words_said(kb, sid, naming), len(hit.key_terms), sid))
        if not named:
            return ""
        # «бурение скважин» says two words of drilling's own name: exploration, whose keywords have them, does not
        # win, nor does a speciality named by one of them win by `prefer`.
        if (top := max(said for said, _, _ in named)) >= NAME_PHRASE:
            named = [item for item in named if item[0] == top]
        most = max(words for _, words, _ in named)
        best = [sid for _, words, sid in named if words == most]
        return next((sid for sid in best if sid in prefer), named[0][2])

    def more_suggestions(self, question: str, shown: list[str], lang: str | None = None, grade: int | None = None,
                         city: str | None = None) -> Answer:
        """The next specialities for a question, leaving out those already shown (the «ещё» button or message)."""
        answer = self.ask(question, lang=lang, grade=grade, city=city, top_k=len(shown) + self.top_k,
                          overrides={"near_too": True})
        fresh = [s for s in answer.specialities if s.id not in shown][: self.top_k]
        if not fresh and (field := self._common_field(shown)):
            # «IT ga qatysty qandai mamandyqtar bar», «tagy bar ma»: the message named three IT specialities and
            # no field the model is sure of; the others of the field the list was in come next.
            answer = self.ask(question, lang=lang, grade=grade, city=city, top_k=len(shown) + self.top_k,
                              overrides={"near_too": True, "field": field})
            fresh = [s for s in answer.specialities if s.id not in shown][: self.top_k]
        if not fresh:
            return Answer(question=question, lang=answer.lang, intent="more", answer=phrase("no_more", answer.lang))
        state = self._state
        understood = understand(question, state.detector, self.predict(question), lang=answer.lang, grade=grade,
                                place=find_place(city) if city else None)
        composer = state.composer(understood, self.top_k)
        return composer.suggestion_answer(fresh)

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
        listed = [c.id for c in answer.colleges]
        if len(listed) == 1 and listed[0] in conv.colleges:  # one college of the list: «а второй?» picks from it still
            conv.college = listed[0]
        elif listed:  # what «там» points at next
            conv.colleges = listed
            conv.colleges_seen = (conv.colleges_seen if answer.label == "more" else []) + listed
            conv.college = listed[0] if len(listed) == 1 else ""
        if len(listed) == 1 and conv.college == listed[0] and not conv.suggested \
                and isinstance(card := self.kb.get(listed[0]), College):
            # a college's card lists what it teaches: «третий что за специальность» picks from that list
            conv.suggested = listed_specialities(self.kb, card)
        routes = [p.id for p in answer.programmes if p.option]
        if answer.intent == "free" and answer.label == "more":  # numbered on from the routes shown before
            conv.routes += [r for r in routes if r not in conv.routes]
        elif answer.intent == "free" and len(routes) > 1:  # a list of routes (one is a route picked from it)
            conv.routes = routes
        conv.city = answer.city or conv.city
        conv.grade = answer.grade or conv.grade
        conv.updated = time.time()
        return conv

    def about_speciality(self, speciality_id: str, topic: str, lang: str = "ru", grade: int | None = None,
                         city: str | None = None) -> Answer | None:
        """Details, colleges or free routes of one speciality (for buttons); None for an unknown id."""
        state = self._state
        spec = state.kb.get(speciality_id)
        intent = {"info": "speciality", "length": "speciality_length", "colleges": "colleges", "free": "free"}.get(topic)
        if not isinstance(spec, Speciality) or intent is None:
            return None
        question = Question(text=spec.name_ru, lang=lang, intent=intent, grade=grade,
                            place=find_place(city) if city else None)
        return state.composer(question, self.top_k).about(spec)

    def about_college(self, college_id: str, lang: str = "ru", detail: str = "") -> Answer | None:
        """One college's card, first the contact `detail` («phone», «address», «website») if asked; None for an
        unknown id."""
        state = self._state
        college = state.kb.get(college_id)
        if not isinstance(college, College):
            return None
        question = Question(text=college.name, lang=lang, intent="colleges")
        return state.composer(question, self.top_k).college(college, detail)

    def about_programme(self, programme_id: str, lang: str = "ru") -> Answer | None:
        """One free-tuition route in full (picked from a list); None for an unknown id."""
        state = self._state
        programme = state.kb.get(programme_id)
        if not isinstance(programme, Programme):
            return None
        question = Question(text=programme.title_ru, lang=lang, intent="free")
        return state.composer(question, self.top_k).programme(programme)

    def more_routes(self, question: str, shown: list[str], lang: str = "ru", grade: int | None = None) -> Answer:
        """The free-tuition routes after those `shown` for a question, numbered on, or that there are no more."""
        state = self._state
        asked = Question(text=question, lang=lang, intent="free", grade=grade)
        return state.composer(asked, self.top_k).more_routes(tuple(shown))

    def about_colleges(self, college_ids: list[str], lang: str = "ru") -> Answer | None:
        """The cards of a few colleges (the ones a chat just listed); None when none is known."""
        state = self._state
        colleges = [c for cid in college_ids if isinstance(c := state.kb.get(cid), College)]
        if not colleges:
            return None
        question = Question(text=colleges[0].name, lang=lang, intent="colleges")
        return state.composer(question, self.top_k).colleges_cards(colleges)

    def college_and_speciality(self, college_id: str, speciality_id: str, lang: str = "ru") -> Answer | None:
        """Whether one college teaches one speciality, and where it is taught near it; None for unknown ids."""
        state = self._state
        college, spec = state.kb.get(college_id), state.kb.get(speciality_id)
        if not isinstance(college, College) or not isinstance(spec, Speciality):
            return None
        question = Question(text=spec.name_ru, lang=lang, intent="colleges", place=find_place(college.city or ""))
        return state.composer(question, self.top_k).college_and_speciality(college, spec)

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
        composer = state.composer(question, self.top_k)
        if not suggestions:
            return composer.not_found("suggest")
        return composer.suggestion_answer(suggestions)


def _note_question(conv: Conversation, text: str, answer: Answer) -> None:
    """Remember a question of its own: what it listed and what is in focus, for the follow-ups."""
    if answer.label in CHAT_ACTS or answer.intent in ("clarify", "offtopic", "crisis", "illegal"):
        return
    conv.question, conv.asked = text, answer.label
    if not refers_to_place(text):  # a new question: «там» points at what its answer names, if anything; «сол
        conv.college, conv.colleges = "", []  # жерде стипендия канша» keeps the college it points at
    if answer.specialities:
        conv.suggested = [s.id for s in answer.specialities]
        conv.focus = conv.suggested[0]
        if len(answer.specialities) > 1 or answer.intent == "suggest":  # «тағы» after one suggestion: the next
            conv.listing, conv.shown = text, list(conv.suggested)


def _predict(state: _State, text: str) -> Prediction:
    return state.intents.predict(text, state.retriever.query_vector(text))


def _unanswered(text: str, lang: str, message: str) -> Answer:
    return Answer(question=text, lang=lang, intent="offtopic", answer=message, answered=False)


# These are matched on folded text: Kazakh letters as Russian ones and «й» as «и» («айлығы» reads «аилыгы»).
VAGUE = re.compile(r"(?<!\w)(не знаю (куда|кем|что|на кого)|куда (мне )?поступ|кем (мне )?стать|помоги(те)? выбрать|"
                   r"не могу выбрать|билмеимин|каида тусу|ким болсам|ким болам|неге тусу)")
# Words of a message that says only «I don't know where to go»; any other word («биология») is a clue to follow.
VAGUE_WORDS = frozenset(folded_text("""не знаю куда кем что на кого поступать поступить мне стать помоги помогите
выбрать я хз вообще пойти могу идти учиться после класса класс колледж колледже а и или не білмеймін қайда түсу
түсуге керек кім болсам болам неге сынып сыныптан кейін 9 11 бола ма""").split())
VAGUE_INTERESTS = ("computers", "machines", "caring", "creativity")
ELLIPTIC_WORDS = 3  # a message this short, with no reference word, still leans on the focus
# Intents that, asked about «там» / «это» or left elliptic, are about the speciality in focus: the topic each asks.
FOCUS_INTENTS = {"speciality_info": "info", "speciality_code": "info", "speciality_length": "length",
                 "colleges": "colleges", "free": "free", "dormitory": "colleges"}
CHAT_ACTS = frozenset({"greeting", "thanks", "goodbye", "who_are_you", "more", "pick_option", "back", "change_detail",
                       "feedback"})
SUGGESTING = frozenset({"suggest", "colleges", "clarify"})  # intents whose answer may list suggested specialities
# Log-odds above which a short message switches the chat to that language: «ты бот или живой?» (5.8), «а он в каком
# районе?» (4.7), «туда как доехать адрес скажите» (4.0) to Russian; «рахмет» (4.3 for Kazakh: Russian speakers
# thank with it too), «иә» (1.4 for Russian), «ок», «ещё», «давай», «спс» (≤ 3.5) do not. Read on dev chats: no
# message of a Kazakh chat reads Russian between 2.5 and 4.5 unless written in Russian.
LANGUAGE_SWITCH_MARGINS = {"ru": 4.0, "kk": 4.5}
COURTESY = frozenset({"greeting", "thanks", "goodbye"})
# Where a message's courtesy or question ends: a stop, a comma, a bracket or an emoji, then a space.
SENTENCE_BREAK = re.compile(r"(?<=[.!?…,)\u2600-\u27bf\U0001f300-\U0001faff])\s+")
ABOUT_COLLEGES = frozenset({"colleges", "speciality_info", "suggest", "dormitory"})  # acts a named college answers
NOT_ABOUT_A_SPECIALITY = frozenset({"offtopic", "suggest", "feedback", "vague"})  # no question beside an option
CODE_WORDS = re.compile(r"(?i)(?<!\w)(код\w*|kod\w*|шифр\w*)")  # the word «code», not code as a job
BY_FIELD = frozenset({"admission_dates"})  # intents with a rule of their own for some fields (see Admission.groups)


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
        sources.append(source_ref(record, 1.0))
    else:  # the sourced record was removed from the knowledge base: never invent numbers or articles
        body.append(phrase(f"{risk}_fallback", lang))
    return Answer(question="", lang=lang, intent=risk, answer="\n".join(body), sources=sources)
