"""Conversation state and follow-ups: the chat continues instead of starting from zero each message."""

from __future__ import annotations

import time

import pytest

from advisor.dialogue import (
    EXPIRES_SECONDS,
    Conversation,
    chosen_option,
    conversation_language,
    refers_to_place,
    refers_to_thing,
)
from advisor.evaluation import evaluate_conversations, load_conversation_cases
from conftest import ROOT

AFTER_SUGGESTIONS = Conversation(lang="ru", suggested=["cooking", "bakery", "hotel"], focus="cooking",
                                 topic="suggest", question="хочу быть поваром", updated=time.time())


@pytest.mark.parametrize("text, speciality", [
    ("второй вариант", "bakery"), ("екінші нұсқа", "bakery"), ("ekinshisin tandaimyn", "bakery"), ("3", "hotel"),
    ("подробнее про третий", "hotel"), ("үшіншісі туралы айтшы", "hotel"), ("давай последний", "hotel"),
    ("birinshi", "cooking"), ("№2", "bakery"),
])
def test_an_option_is_picked_by_its_ordinal_or_number_in_either_language(text: str, speciality: str) -> None:
    assert chosen_option(text, AFTER_SUGGESTIONS) == speciality


def test_a_number_that_is_not_an_option_picks_nothing() -> None:
    assert chosen_option("а после 11?", AFTER_SUGGESTIONS) == ""  # a grade
    assert chosen_option("пятый", AFTER_SUGGESTIONS) == ""  # the list has three
    assert chosen_option("второй", Conversation()) == ""  # no list yet


@pytest.mark.parametrize("text, there, it", [
    ("а там общага есть?", True, False), ("онда жатақхана бар ма", True, False), ("sonda stipendiya bar ma", True, False),
    ("сколько на это учиться?", False, True), ("бұл не мамандық", False, True), ("ол неше жыл оқиды", False, True),
    ("хочу стать сварщиком после 9 класса в Астане", False, False),
])
def test_references_to_the_college_or_speciality_in_focus_are_found(text: str, there: bool, it: bool) -> None:
    assert (refers_to_place(text), refers_to_thing(text)) == (there, it)


def test_a_short_message_keeps_the_conversation_language_unless_clearly_the_other() -> None:
    assert conversation_language("а в Шымкенте?", AFTER_SUGGESTIONS, detected="kk") == "ru"
    assert conversation_language("Шымкентте ше?", AFTER_SUGGESTIONS, detected="kk") == "kk"


def test_state_expires_after_a_day_and_survives_a_round_trip_through_storage() -> None:
    old = Conversation(lang="kk", focus="welding", updated=time.time() - EXPIRES_SECONDS - 1)
    assert old.expired() and not AFTER_SUGGESTIONS.expired()
    assert Conversation.from_json(AFTER_SUGGESTIONS.to_json()) == AFTER_SUGGESTIONS
    assert Conversation.from_json({"focus": "x", "unknown": 1, "grade": "not a grade"}).focus == "x"


def test_follow_ups_resolve_in_a_real_chat(real_advisor) -> None:
    answer, chat = real_advisor.converse("хочу быть поваром")
    assert answer.specialities and chat.focus == answer.specialities[0].id
    answer, chat = real_advisor.converse("а где в Шымкенте?", chat)
    assert answer.intent == "colleges" and "Шымкент" in answer.answer and "Организация питания" in answer.answer
    answer, chat = real_advisor.converse("рахмет", chat)
    assert answer.intent == "thanks" and not answer.specialities and answer.lang == "ru"


def test_the_free_tuition_hint_is_said_once_per_conversation(real_advisor) -> None:
    first, chat = real_advisor.converse("хочу стать сварщиком")
    second, chat = real_advisor.converse("хочу стать медсестрой", chat)
    hint = "Первая рабочая квалификация бесплатна"
    assert hint in first.answer and hint not in second.answer


def test_conversation_eval_passes_nine_in_ten_in_each_language(real_advisor) -> None:
    """Answer content over 248 questions and 49 dialogues written as teenagers write."""
    report = evaluate_conversations(real_advisor, load_conversation_cases(ROOT / "tests" / "eval" /
                                                                          "conversations.yaml"))
    assert report["groups"]["lang:ru"]["pass"] >= 0.90 and report["groups"]["lang:kk"]["pass"] >= 0.90
    assert report["groups"]["type:crisis"]["pass"] == 1.0 and report["groups"]["type:illegal"]["pass"] >= 0.9


def test_there_points_at_the_college_in_focus_and_it_at_the_speciality(real_advisor) -> None:
    answer, chat = real_advisor.converse("расскажи про Политехнический колледж им. Саламата Мукашева")
    assert answer.answer.startswith("Политехнический колледж им. Саламата Мукашева") and chat.college
    answer, chat = real_advisor.converse("а чему там учат?", chat)
    assert "Программное обеспечение" in answer.answer  # its own list, not a speciality found by a word
    answer, chat = real_advisor.converse("хочу быть бухгалтером")
    answer, chat = real_advisor.converse("сколько на это учиться после 9?", chat)
    assert answer.answer.startswith("«Учет и аудит»: после 9 класса")


def test_a_changed_grade_or_speciality_re_answers_the_question_in_focus(real_advisor) -> None:
    answer, chat = real_advisor.converse("на бухгалтера после 9 скок учиться")
    assert "2 года 10 месяцев" in answer.answer.splitlines()[0]
    answer, chat = real_advisor.converse("а после 11?", chat)
    assert "1 год 10 месяцев" in answer.answer.splitlines()[0]
    answer, chat = real_advisor.converse("а на программиста?", chat)
    assert answer.answer.startswith("«Программное обеспечение")


def test_a_changed_category_gets_that_category_and_never_another_ones_figure(real_advisor) -> None:
    answer, chat = real_advisor.converse("есть квота для сельской молодёжи?")
    answer, chat = real_advisor.converse("а если мы многодетные?", chat)
    assert "не подтверждена" in answer.answer and "%" not in answer.answer


def test_options_by_kazakh_ordinal_more_and_back_continue_the_list(real_advisor) -> None:
    first, chat = real_advisor.converse("компьютерді жақсы көремін, қандай мамандық бар")
    listed = [s.id for s in first.specialities]
    assert len(listed) >= 2 and first.lang == "kk"
    answer, chat = real_advisor.converse("екіншісі туралы айтшы", chat)
    assert answer.specialities[0].id == listed[1] and answer.lang == "kk"
    answer, chat = real_advisor.converse("тағы бар ма", chat)
    assert answer.specialities and not {s.id for s in answer.specialities} & set(listed)
    answer, chat = real_advisor.converse("артқа қайтшы", chat)
    assert [s.id for s in answer.specialities] == listed


def test_a_new_interest_said_in_passing_gets_suggestions_for_it(real_advisor) -> None:
    answer, chat = real_advisor.converse("хочу лечить людей")
    answer, chat = real_advisor.converse("а животных лечить?", chat)
    assert answer.specialities[0].id == "veterinary"
    answer, chat = real_advisor.converse("маған тамақ пісіру ұнайды")
    answer, chat = real_advisor.converse("ал шаш қию ше", chat)
    assert answer.specialities[0].id == "hairdressing" and answer.lang == "kk"


def test_more_and_back_work_after_a_list_of_one(real_advisor) -> None:
    first, chat = real_advisor.converse("люблю рисовать")
    answer, chat = real_advisor.converse("а ещё варианты есть?", chat)
    assert answer.intent != "clarify" and not {s.id for s in answer.specialities} & {s.id for s in first.specialities}
    answer, chat = real_advisor.converse("назад", chat)
    assert [s.id for s in answer.specialities] == [s.id for s in first.specialities]


def test_a_number_past_the_list_says_how_many_there_are_and_back_is_not_the_first(real_advisor) -> None:
    first, chat = real_advisor.converse("мне нравится работать с детьми")
    answer, chat = real_advisor.converse("покажи другие", chat)
    answer, chat = real_advisor.converse("не, давай обратно к первым", chat)
    assert [s.id for s in answer.specialities] == [s.id for s in first.specialities]
    answer, chat = real_advisor.converse(str(len(first.specialities) + 1), chat)
    assert answer.answer.startswith(f"В последнем списке всего {len(first.specialities)}, такого номера нет")


def test_latin_typed_kazakh_about_computers_suggests_several_it_specialities(real_advisor) -> None:
    answer = real_advisor.ask("men kompiuterdi jaqsy koremin")
    groups = [spec.group.value for s in answer.specialities if (spec := real_advisor.kb.get(s.id))]
    assert len(groups) >= 2 and set(groups) == {"it"}, answer.answer


def test_a_short_message_naming_another_place_lists_that_places_colleges(real_advisor) -> None:
    answer, chat = real_advisor.converse("Тараздағы колледждер")
    answer, chat = real_advisor.converse("Павлодардағыларды да жазшы", chat)
    assert answer.colleges and all("Павлодар" in c.city for c in answer.colleges)


def test_colleges_in_a_place_after_a_suggestion_are_for_the_speciality_in_focus(real_advisor) -> None:
    answer, chat = real_advisor.converse("дәнекерлеуші болғым келеді")
    answer, chat = real_advisor.converse("Атырауда қай колледжге барам", chat)
    assert "Дәнекерлеу" in answer.answer.splitlines()[0] and "Атырау" in answer.answer


def test_a_speciality_asked_about_the_college_in_focus_is_answered_for_that_college(real_advisor) -> None:
    answer, chat = real_advisor.converse("расскажи про Политехнический колледж им. Саламата Мукашева")
    answer, chat = real_advisor.converse("а на бухгалтера у них учат?", chat)
    assert answer.answer.startswith("Да") and "Учет и аудит" in answer.answer.splitlines()[0]
    answer, chat = real_advisor.converse("а на парикмахера там можно?", chat)
    first = answer.answer.splitlines()[0]
    assert "Парикмахерское" in first and "нет" in first  # its list lacks it: said, then where it is taught
    answer, chat = real_advisor.converse("а сайт у них какой?", chat)
    assert "politcol.kz" in answer.answer


def test_there_with_nothing_in_focus_gets_one_short_question(real_advisor) -> None:
    answer, chat = real_advisor.converse("привет")
    answer, chat = real_advisor.converse("а там общага есть?", chat)
    assert answer.intent == "clarify" or "нет данных" in answer.answer or "уточн" in answer.answer.lower()


def test_colleges_of_a_named_place_in_other_words_and_in_kazakh(real_advisor) -> None:
    for text in ("какие вообще колледжи есть в Костанае", "Семейде оқуға бола ма", "pavlodarda qandai kolledzh bar"):
        answer = real_advisor.ask(text)
        assert answer.colleges, (text, answer.answer)


def test_treating_people_suggests_medicine_and_machinery_no_mining_first(real_advisor) -> None:
    answer = real_advisor.ask("хочу людей лечить")
    assert answer.specialities[0].id in {"nursing", "paramedic", "midwifery", "dentistry"}
    assert "veterinary" not in [s.id for s in answer.specialities]
    answer = real_advisor.ask("люблю технику, всё время что-то чиню")
    assert "mining" not in answer.specialities[0].id


@pytest.fixture(scope="module")
def dialogue_test_part(real_advisor) -> dict:
    """The dialogue test part (60 chats by other writers), held as `run_bot.py eval` holds it."""
    return evaluate_conversations(real_advisor, load_conversation_cases(ROOT / "tests" / "eval" / "dialogues" /
                                                                        "test.yaml"))


def test_dialogue_test_part_keeps_the_thread_in_both_languages(dialogue_test_part: dict) -> None:
    groups = dialogue_test_part["groups"]
    assert groups["turns:ru"]["n"] >= 100 and groups["turns:kk"]["n"] >= 100
    # The bar: 0.90 of turns per language. The shipped advisor passes 0.907 (ru) and 0.923 (kk) of this
    # part's turns (0.91-1.00 on the dev parts it was tuned on), so one Russian turn lost fails it.
    assert groups["turns:ru"]["pass"] >= TURN_BAR and groups["turns:kk"]["pass"] >= TURN_BAR, groups


TURN_BAR = 0.90


def test_a_question_about_the_colleges_just_listed_shows_their_cards(real_advisor) -> None:
    listed, chat = real_advisor.converse("где можно учиться в караганде")
    answer, chat = real_advisor.converse("а чему там учат?", chat)
    assert len(listed.colleges) > 1 and "Специальности по данным источника" in answer.answer, answer.answer
    assert {c.id for c in answer.colleges} <= {c.id for c in listed.colleges} and len(answer.answer) <= 1200
    listed, chat = real_advisor.converse("в астане есть колледж транспорта и коммуникации?")
    answer, chat = real_advisor.converse("он гос или частный", chat)
    assert "Государственный колледж" in answer.answer, answer.answer


def test_a_contact_asked_of_the_college_in_focus_is_its_own_or_an_honest_none(real_advisor) -> None:
    _, chat = real_advisor.converse("Медицинский колледж в Караганде")
    answer, chat = real_advisor.converse("а номер телефона у них есть?", chat)
    assert answer.answer.startswith("Телефон этого колледжа в моей базе не указан"), answer.answer
    assert "связи" not in answer.answer  # «телефон» names no speciality here
    _, chat = real_advisor.converse("Кызылординский высший многопрофильный колледж туралы айтшы")
    answer, _ = real_advisor.converse("телефоны бар ма сонын", chat)
    assert "24-84-25" in answer.answer.splitlines()[0] and answer.lang == "kk", answer.answer


def test_the_language_of_the_college_in_focus_comes_first_and_a_general_question_there_keeps_the_focus(
        real_advisor) -> None:
    _, chat = real_advisor.converse("расскажи про колледж Мукашева в Атырау")
    answer, chat = real_advisor.converse("на каком языке там обучение", chat)
    assert answer.answer.splitlines()[0] == "Язык обучения: казахский, русский.", answer.answer
    answer, chat = real_advisor.converse("а стипендия там сколько", chat)  # the same for every college
    answer, chat = real_advisor.converse("а адрес?", chat)
    assert "Бергалиева" in answer.answer.splitlines()[0], answer.answer


def test_more_after_a_list_of_colleges_lists_the_next_ones_then_the_region_s_then_says_there_are_no_more(
        real_advisor) -> None:
    first, chat = real_advisor.converse("колледжи актобе")
    more, chat = real_advisor.converse("ещё", chat)
    assert more.colleges and not {c.id for c in more.colleges} & {c.id for c in first.colleges}, more.answer
    towns = set()
    while more.colleges:
        towns |= {c.city for c in more.colleges}
        more, chat = real_advisor.converse("ещё", chat)
    assert more.answer.startswith("Других колледжей по этому вопросу в моей базе нет"), more.answer
    region = {c.city for c in real_advisor.kb.colleges if c.region == "Актюбинская область"}
    assert towns == region and len(towns) > 1  # the town's colleges, then the rest of its region


def test_a_change_with_no_grade_place_or_category_re_asks_the_last_question_with_it(real_advisor) -> None:
    _, chat = real_advisor.converse("а стипуха сколько")
    answer, _ = real_advisor.converse("а если у меня уже есть одна профессия?", chat)
    assert "43 574" in answer.answer and answer.intent != "clarify", answer.answer


def test_an_option_number_after_a_list_of_colleges_picks_a_college_and_the_list_stays(real_advisor) -> None:
    answer, chat = real_advisor.converse("где в астане учат на программиста")
    listed = [college.name for college in answer.colleges]
    assert len(listed) >= 3
    answer, chat = real_advisor.converse("первый — где он находится?", chat)
    assert answer.answer.startswith(listed[0])
    answer, chat = real_advisor.converse("а второй частный или государственный", chat)
    first, card = answer.answer.splitlines()[:2]
    assert "колледж" in first and card.startswith(listed[1]), answer.answer  # the answer, then the second's card
    answer, chat = real_advisor.converse("а последний?", chat)
    assert answer.answer.startswith(listed[-1])
    answer, chat = real_advisor.converse("8", chat)  # six are shown at most
    assert "нет" in answer.answer and not answer.colleges


def test_medical_or_creative_dates_answer_a_changed_field_even_after_the_grade(real_advisor) -> None:
    _, chat = real_advisor.converse("до какого числа сдавать доки после 9?")
    answer, chat = real_advisor.converse("а если на медицинское?", chat)
    assert "15 августа" in answer.answer.splitlines()[0], answer.answer
    answer, _ = real_advisor.converse("шығармашылыққа ше? ән айтам", chat)
    assert "20 шілде" in answer.answer.splitlines()[0], answer.answer


def test_more_after_every_college_of_the_speciality_lists_the_places_other_colleges(real_advisor) -> None:
    first, chat = real_advisor.converse("Атырау облысында мұнай-газға оқитын колледж керек")
    more, _ = real_advisor.converse("tagy bar ma", chat)
    assert more.colleges and not {c.id for c in more.colleges} & {c.id for c in first.colleges}, more.answer
    assert all(c.region == "Атырауская область" for c in more.colleges)


def test_a_town_that_does_not_teach_the_speciality_in_focus_shows_its_own_colleges(real_advisor) -> None:
    _, chat = real_advisor.converse("Qaragandyda shash qiudy uiretetin kolledj bar ma")
    answer, _ = real_advisor.converse("Саранда колледж бар ма", chat)
    assert any(c.city == "Сарань" for c in answer.colleges), answer.answer


def test_a_clearly_russian_short_message_switches_a_kazakh_chat_to_russian(real_advisor) -> None:
    _, chat = real_advisor.converse("сәлем")
    answer, chat = real_advisor.converse("ок", chat)  # too short to be sure of: the chat's language stays
    assert answer.lang == "kk"
    answer, chat = real_advisor.converse("ты бот или живой?", chat)
    assert answer.lang == "ru", answer.answer


def test_a_bilingual_message_ending_in_russian_and_a_russian_follow_up_are_answered_in_russian(real_advisor) -> None:
    answer, chat = real_advisor.converse("Хромтауда қандай колледж бар? в Хромтау колледж есть?")
    assert answer.lang == "ru" and "Хромтау" in answer.answer, answer.answer
    _, chat = real_advisor.converse("Шалкарда колледж бар ма?")
    answer, _ = real_advisor.converse("там на сварщика учат?", chat)  # a whole Russian sentence switches the chat
    assert answer.lang == "ru", answer.answer
    answer, _ = real_advisor.converse("Алматыда олимпиадалық резерв колледжі бар деп естідім, рас па?")
    assert answer.lang == "kk", answer.answer


def test_an_option_number_after_a_college_card_picks_one_of_its_specialities(real_advisor) -> None:
    card, chat = real_advisor.converse("какие специальности в актюбинском медколледже маметовой")
    answer, _ = real_advisor.converse("третий что за специальность", chat)
    college = real_advisor.kb.get(card.colleges[0].id)
    assert answer.specialities and answer.specialities[0].id == college.specialities[2], answer.answer


def test_an_option_picked_with_a_question_beside_it_answers_that_question_about_it(real_advisor) -> None:
    _, chat = real_advisor.converse("хочу лечить людей")
    answer, chat = real_advisor.converse("второй вариант, до какого числа подают документы?", chat)
    assert "15 август" in answer.answer.splitlines()[0], answer.answer
    assert chat.focus and real_advisor.kb.get(chat.focus).group.value == "health"


def test_a_grade_in_a_follow_up_names_no_speciality_and_applies_to_the_focus(real_advisor) -> None:
    _, chat = real_advisor.converse("программист болгым келеди, кай мамандыкка тусу керек")
    answer, chat = real_advisor.converse("ол 9 класстан кейин канша жыл окылады", chat)
    assert chat.focus == "software" and "9-сыныптан кейін" in answer.answer.splitlines()[0], answer.answer


def test_a_college_of_the_town_is_named_by_a_word_only_it_has(real_advisor) -> None:
    _, chat = real_advisor.converse("kakie kolledzhi est v uralske")
    answer, _ = real_advisor.converse("a u bolashaka sait kakoi", chat)
    assert "bolashakcollege" in answer.answer.splitlines()[0], answer.answer


def test_a_college_known_by_its_russian_name_is_found_by_its_kazakh_kind_words(real_advisor) -> None:
    answer = real_advisor.ask("кызылордадагы жогары копсалалы колледж туралы айтып берш")
    assert [c.id for c in answer.colleges][:1] == ["kyzylordinskii-vysshii-mnogoprofilnyi-kolledzh"], answer.answer


def test_demand_for_a_speciality_no_source_names_gives_its_field_s_forecast(real_advisor) -> None:
    _, chat = real_advisor.converse("сестринское дело это что")
    answer, _ = real_advisor.converse("она сейчас востребована?", chat)
    assert "Сестринское дело" in answer.answer.splitlines()[0] and "здравоохранении (240,4" in answer.answer


def test_a_speciality_card_names_the_qualifications_it_leads_to(real_advisor) -> None:
    answer = real_advisor.ask("сестринское дело это что")
    assert "Медицинская сестра общей практики" in answer.answer, answer.answer


def test_a_college_and_a_speciality_named_together_say_whether_it_is_taught_there(real_advisor) -> None:
    taught = real_advisor.ask("в высшем техническом колледже кокшетау учат на парикмахера?")
    assert taught.answer.startswith("Да") and "Парикмахерское искусство" in taught.answer.splitlines()[0]
    not_listed = real_advisor.ask("политех мукашева в атырау, на повара там учат?")
    assert "нет" in not_listed.answer.splitlines()[0] and "Мукашева" in not_listed.answer.splitlines()[0]


def test_words_of_a_speciality_s_own_name_said_together_name_it_and_the_list_says_which(real_advisor) -> None:
    answer = real_advisor.ask("где учат бурению скважин в атырауской области")
    first = answer.answer.splitlines()[0]
    assert "Бурение нефтяных и газовых скважин" in first and "разведки" not in first, answer.answer
    teachers = real_advisor.ask("в уральске колледжи где учат на учителя начальных классов")
    assert "Педагогика и методика начального обучения" in teachers.answer.splitlines()[0], teachers.answer


def test_a_reply_language_asked_for_is_used_and_the_request_names_no_speciality(real_advisor) -> None:
    answer, chat = real_advisor.converse("Костанайда қандай колледждер бар? орысша жазыңызшы")
    assert answer.lang == "ru" and answer.answer.startswith("Колледжи из моей базы — Костанай"), answer.answer
    again, _ = real_advisor.converse("qazaqsha jauap berinizshi", chat)
    assert again.lang == "kk" and "Қостанай" in again.answer.splitlines()[0], again.answer
    first, _ = real_advisor.converse("по-казахски ответь")
    assert first.lang == "kk" and "қазақша" in first.answer


def test_a_greeting_before_a_comma_does_not_hide_the_question(real_advisor) -> None:
    answer, _ = real_advisor.converse("privet, v kolledzhe stipendiya est?")
    assert answer.intent != "greeting" and "41 896" in answer.answer, answer.answer


def test_a_field_named_in_an_elliptic_follow_up_to_the_dates_gets_that_field_s_dates(real_advisor) -> None:
    _, chat = real_advisor.converse("когда заканчивается приём документов в колледж?")
    answer, _ = real_advisor.converse("А если на педагогику?", chat)
    assert "15 августа" in answer.answer.splitlines()[0], answer.answer


def test_salary_of_a_field_that_names_the_speciality_in_focus_is_its_sourced_figure(real_advisor) -> None:
    _, chat = real_advisor.converse("электрик болғым келеді, не оқу керек")
    answer, _ = real_advisor.converse("электр саласында айлық қанша өзі", chat)
    assert "Электр" in answer.answer.splitlines()[0], answer.answer  # about the speciality in focus
    assert "Дәнекерлеу" not in answer.answer and "367 мың" in answer.answer, answer.answer


def test_state_or_private_is_answered_for_the_college_in_focus(real_advisor) -> None:
    _, chat = real_advisor.converse("Алматы облысы, Есік жақта колледж бар ма?")
    answer, _ = real_advisor.converse("мемлекеттік пе әлде жекеменшік пе?", chat)
    assert "жеке меншік" in answer.answer.splitlines()[0], answer.answer
    _, chat = real_advisor.converse("в астане есть колледж транспорта и коммуникации?")
    answer, _ = real_advisor.converse("он гос или частный", chat)  # «частный» names no «Частное учреждение …»
    assert "государственный" in answer.answer.splitlines()[0] and "транспорта" in answer.answer, answer.answer


def test_another_town_said_beside_a_word_about_the_village_lists_that_towns_colleges(real_advisor) -> None:
    _, chat = real_advisor.converse("Хромтауда колледж бар ма?")
    answer, _ = real_advisor.converse("Ембіде ше? ауылымыз сол жаққа жақын", chat)  # not the rural quota
    assert answer.intent == "colleges" and "Эмбинский" in answer.answer, answer.answer


def test_more_colleges_in_the_region_named_lists_its_other_towns(real_advisor) -> None:
    _, chat = real_advisor.converse("какие колледжи есть в Талдыкоргане?")
    answer, _ = real_advisor.converse("а по всей области Жетісу ещё какие есть", chat)
    assert "Бастобе" in answer.answer or "Капал" in answer.answer, answer.answer


def test_a_places_colleges_in_general_say_which_teach_the_speciality_in_focus(real_advisor) -> None:
    _, chat = real_advisor.converse("хочу на учителя начальных классов, в уральске где учат?")
    answer, _ = real_advisor.converse("а вообще какие колледжи в уральске есть", chat)
    assert "политехнический" in answer.answer, answer.answer  # all of them, not only those teaching it
    assert "учат на «Педагогика и методика начального обучения»" in answer.answer, answer.answer


def test_free_routes_are_options_picked_by_number_and_more_goes_on_with_the_others(real_advisor) -> None:
    listed, chat = real_advisor.converse("как можно учиться в колледже бесплатно? какие варианты")
    options = [p for p in listed.programmes if p.option]
    assert len(options) >= 3 and f"3. {options[2].title}" in listed.answer, listed.answer
    third, chat = real_advisor.converse("расскажи про третий", chat)
    assert third.answer.startswith(options[2].title) and third.label == "pick_option", third.answer
    more, chat = real_advisor.converse("а ещё варианты есть?", chat)
    others = [p.id for p in more.programmes if p.option]
    assert others and not set(others) & {p.id for p in options} and "4. " in more.answer, more.answer
    fourth, _ = real_advisor.converse("давай четвёртый", chat)
    assert fourth.answer.startswith(more.programmes[0].title), fourth.answer


def test_more_after_a_list_of_one_field_goes_on_in_that_field(real_advisor) -> None:
    first, chat = real_advisor.converse("IT ga qatysty qandai mamandyqtar bar")
    answer, chat = real_advisor.converse("tagy bar ma", chat)
    shown = {s.id for s in first.specialities}
    assert answer.specialities and not shown & {s.id for s in answer.specialities}, answer.answer
    assert {real_advisor.kb.get(s.id).group.value for s in answer.specialities} == {"it"}, answer.answer
    _, chat = real_advisor.converse("оны Ақтауда оқуға бола ма?", chat)  # colleges now; specialities asked again
    again, _ = real_advisor.converse("тағы қандай мамандықтар бар осы салада?", chat)
    assert again.specialities and again.intent != "clarify", again.answer


def test_colleges_of_the_field_come_first_where_none_is_known_to_teach_the_speciality(real_advisor) -> None:
    _, chat = real_advisor.converse("ақтөбеде медколледж қайсы")
    answer, _ = real_advisor.converse("ал алматыда?", chat)  # the knowledge lacks the Almaty college's list
    bullets = [line for line in answer.answer.splitlines() if line.startswith("•")]
    assert "медицинский колледж" in bullets[0], answer.answer
    answer, _ = real_advisor.converse("петропавлда медколледж барма? 11 бітірдім")  # its record names no town
    bullets = [line for line in answer.answer.splitlines() if line.startswith("•")]
    assert "Северо-Казахстанский высший медицинский" in bullets[0], answer.answer


def test_more_after_a_college_s_own_list_says_it_is_all_the_source_names(real_advisor) -> None:
    _, chat = real_advisor.converse("ақтөбедегі маметова атындағы медколледжде қандай мамандықтар бар")
    _, chat = real_advisor.converse("екіншісі туралы толығырақ", chat)
    answer, _ = real_advisor.converse("tagy bar ma?", chat)
    assert answer.intent != "clarify" and "басқа мамандықтары менің дереккөзімде жоқ" in answer.answer, answer.answer
    assert "Мейіргер ісі" in answer.answer, answer.answer


def test_a_question_after_a_thanks_or_before_a_word_about_oneself_is_answered(real_advisor) -> None:
    _, chat = real_advisor.converse("медбике болғым келеді")
    answer, _ = real_advisor.converse("рахмет 🙏 075ті қайдан аламын", chat)
    assert answer.intent != "thanks" and "075" in answer.answer, answer.answer
    answer, _ = real_advisor.converse("Онлайн тапсыруға бола ма? Біз ауданда тұрамыз, қалаға бару қиын")
    assert "egov" in answer.answer, answer.answer


def test_a_number_asked_of_the_college_in_focus_is_its_phone_not_an_option(real_advisor) -> None:
    _, chat = real_advisor.converse("салам, в кызылорде есть многопрофильный колледж?")
    answer, _ = real_advisor.converse("номер их скинь пж", chat)
    assert "24-84-25" in answer.answer.splitlines()[0], answer.answer


def test_dates_asked_after_medical_suggestions_are_the_medical_ones(real_advisor) -> None:
    _, chat = real_advisor.converse("хочу лечить людей. после 9 класса можно куда-нибудь?")
    answer, _ = real_advisor.converse("когда документы подавать", chat)  # «документы» is no field of its own
    assert "15 августа" in answer.answer.splitlines()[0], answer.answer


def test_another_field_said_after_colleges_of_a_field_is_not_the_focus_card(real_advisor) -> None:
    _, chat = real_advisor.converse("v uralske est kolledzhi?")
    _, chat = real_advisor.converse("a medicinskiy tam est?", chat)
    answer, _ = real_advisor.converse("a pedagogicheskiy?", chat)
    assert answer.intent == "colleges" and "Сестринское дело (код" not in answer.answer, answer.answer


def test_back_after_another_speciality_s_card_returns_to_the_one_before(real_advisor) -> None:
    _, chat = real_advisor.converse("туризм это что за специальность")
    _, chat = real_advisor.converse("а гостиничный бизнес?", chat)
    answer, chat = real_advisor.converse("ладно, вернись к прошлой", chat)
    assert answer.answer.startswith("Туризм"), answer.answer
    answer, _ = real_advisor.converse("кем по ней работать", chat)
    assert answer.answer.startswith("Туризм") and "Менеджер по туризму" in answer.answer, answer.answer
