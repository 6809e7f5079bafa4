"""Conversation state, dialogue acts and reference resolution: the chat keeps its thread.

The intent model reads what a message does (more options, an option by its number, back, a changed grade, place
or category, thanks, a question of its own). This module reads a message against the conversation: which option
a number picks, what «там / онда» and «это / бұл» refer to, and which detail a change replaces. The words it
matches are closed classes (ordinals, pronouns), the slots a message fills, not its intent.

The state is a small JSON-able record per chat. The advisor returns the updated state with the answer; the bot
persists it, the console keeps it in memory.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from knowledge.text import letters, tokens

EXPIRES_SECONDS = 24 * 3600  # a day of silence starts a new conversation
SHORT_WORDS = 6  # an elliptic follow-up («а сколько учиться?») is short; a longer message names its own subject

# Ordinals by their folded beginnings (Kazakh letters as Russian ones, Latin typing transliterated): «пятый»,
# not the mark «пятёрка»; «басындағысы» (the one at the top) is the first.
ORDINALS = {"перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пяты": 5, "пята": 5, "пято": 5, "пяту": 5, "шест": 6,
            "седьм": 7, "восьм": 8, "девят": 9, "десят": 10, "бирин": 1, "екин": 2, "ушин": 3, "тортин": 4,
            "бесин": 5, "алтынш": 6, "жетинш": 7, "сегизинш": 8, "тогызынш": 9, "онынш": 10, "басындагы": 1}
LAST = ("последн", "сонгы", "акыргы", "аягындагы")
OPTION_NOUN = re.compile(r"(вариант|нуска|nusqa|nuska|пункт|деп|dep)")  # «второй вариант», «екінші нұсқа», «1 деп»
# «там», «туда», «онда», «сол жерде»: the focused college, else the colleges of the focused speciality.
THERE = re.compile(r"(?<!\w)(там|туда|тамошн|в нем|у них|в этом колледже|онда|сонда|сол жерде|сол жакта|"
                   r"сол колледж|ол колледж|оларда|олардын|оларга|соларда)(?!\w)")
# «это», «с ней», «бұл», «оған»: the speciality (or, asked where it is, the college) in focus. Every case of the
# pronouns but «им» (the «им.» of college names); «он» unless a Kazakh number follows («он бір»: eleven).
IT = re.compile(r"(?<!\w)(это|этому|этого|этой|эта|он(?!\s+(?:бир|еки|уш|торт|бес|алты|жети|сегиз|тогыз))|она|оно|"
                r"ее|его|нее|него|неи|нею|ним|нем|ему|нему|еи|ею|бул|осы|ол|оны|соны|муны|мунын|онын|буган|"
                r"осыган|оган|одан|онымен|будан|мунымен)(?!\w)")
# What a message asks of a college, read on folded words: its phone («нөмірі», «telefony»), its address
# («мекенжайы»), its site or the languages it teaches in («на каком языке там учат», «qai tilde oqytady»).
COLLEGE_DETAILS = {
    "phone": re.compile(r"(?<!\w)(телефон|номер(?!\w*\s*\d)|номир|позвон|звонит|байланыс|контакт|хабарлас|связат)"),
    "address": re.compile(r"(?<!\w)(адрес|мекенжаи|мекен жаи|орналаск|в каком раион|каи ауданда|кандаи ауданда|"
                          r"где наход)"),
    "website": re.compile(r"(?<!\w)(саит|сайт|страниц|страничк|в интернете)"),
    "languages": re.compile(r"(?<!\w)(на как(ом|их) язык|языки обучения|язык обучения|каи тилде|кандаи тилде|тилинде)"),
    # «гос или частный?», «мемлекеттік пе әлде жекеменшік пе?», «он частный?»: state or private
    "ownership": re.compile(r"(?<!\w)((гос|мемлекеттик)\w*\s+(или|алде|не|ма|ме|па|пе)\b.{0,20}(частн|жеке)|"
                            r"(частн|жеке\s?меншик)\w*\s+(ли|ма|ме|па|пе|ба|бе|или|алде)\b)"),
}
# On folded text: a language named as the reply's, and the verbs that ask for a reply in it.
REPLY_LANGUAGE_NAMES = {"ru": r"(на русском|по русски|орысша|орыс тилинде)",
                        "kk": r"(на казахском|по казахски|казакша|казак тилинде)"}
REPLY_VERBS = r"(напиш|пиши|ответ|скаж|объясн|расскаж|жаз|жауап|айт|тусиндир)\w*"
REQUEST_COURTESY_WORDS = 2  # «можешь … пожалуйста» left of a request: no question of its own
LEADING_MARKERS = frozenset({"а", "ал", "и", "ну", "ок", "давай", "вот"})  # words before what a message is about
# «а …?», «ал …», «… ше?», «… болса?»: the discourse markers of a question that reuses the last one; «ше» may end a
# clause before a comment («шығармашылыққа ше? ән айтам»).
ELLIPSIS = re.compile(r"^(а|ал|и|а если|а для)\b|\bше\b|\b(болса|болсак|десем|десек)\b")  # «…ге болса?», «…desem?»
# «а вообще какие колледжи в уральске есть», «жалпы Ақтөбеде қандай колледждер бар»: the whole of a place, not
# only what the chat talks about (a closed class of quantifiers, on folded words).
IN_GENERAL = re.compile(r"(?<!\w)(вообще|все|всех|всякие|любые|жалпы|барлык|барлыгы|бари|бариси)(?!\w)")
# «тағы қандай мамандықтар бар», «а другие специальности?»: the noun of what is asked more of (folded words).
SPECIALITY_NOUN = re.compile(r"(?<!\w)(мамандык|специальн|професс|касип)")
# Kazakh letters, or a Kazakh question particle or word on the folded words (so «Oralda kolledj bar ma» too);
# «рахмет» is not among them: Russian speakers in Kazakhstan thank with it too.
KAZAKH_LETTERS = re.compile(r"[әғқңөұүһі]")
CLEARLY_KAZAKH_WORDS = re.compile(r"(?<!\w)(ше|ма|ме|бе|па|пе|каида|неше|канша|иа|жок)(?!\w)")


@dataclass
class Conversation:
    """What the advisor remembers of one chat: its language, what it suggested, what is in focus, where."""

    lang: str = ""
    suggested: list[str] = field(default_factory=list)  # speciality ids of the last list, in order
    shown: list[str] = field(default_factory=list)  # every speciality id shown for the current question
    focus: str = ""  # the speciality being talked about
    previous_focus: str = ""  # the one talked about before it («вернись к прошлой» after another card)
    college: str = ""  # the college being talked about
    colleges: list[str] = field(default_factory=list)  # the colleges of the last answer that listed some
    colleges_seen: list[str] = field(default_factory=list)  # every college listed for the current question
    routes: list[str] = field(default_factory=list)  # free-tuition routes listed by number, in order
    topic: str = ""  # the last answer's intent
    question: str = ""  # the last message that asked a question of its own, re-answered when a detail changes
    asked: str = ""  # its intent: «а на бухгалтера?» asks the same about another speciality
    listing: str = ""  # the question whose answer was the last list of specialities («назад» shows it again)
    city: str = ""
    grade: int | None = None
    free_told: bool = False  # the free-tuition summary is said once per conversation
    updated: float = 0.0

    def expired(self, now: float | None = None) -> bool:
        """True after a day of silence."""
        return bool(self.updated) and (now or time.time()) - self.updated > EXPIRES_SECONDS

    def to_json(self) -> dict[str, Any]:
        """A plain dict for storage."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Conversation:
        """The stored state; unknown or broken fields are dropped rather than trusted."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:
            return cls()


def language_asked(text: str) -> tuple[str, str]:
    """«Таразда қандай колледждер бар? на русском напишите», «qazaqsha jauap ber»: the reply language the person
    asks for ('' for none) and the message without that request. Only with a verb of writing or answering:
    «орысша оқытатын колледж бар ма» asks something else."""
    words = [(m, folded) for m in re.finditer(r"\S+", text) if (folded := letters(m.group()))]
    folded_text, starts = "", []
    for _, folded in words:
        starts.append(len(folded_text) + bool(folded_text))
        folded_text = f"{folded_text} {folded}" if folded_text else folded
    for lang, name in REPLY_LANGUAGE_NAMES.items():
        request = re.search(rf"{name}\s+(\w+\s+)?{REPLY_VERBS}|{REPLY_VERBS}\s+(\w+\s+)?{name}", folded_text)
        if request:  # the words the request spans, cut from the message as written
            kept = [m.group() for (m, folded), start in zip(words, starts, strict=True)
                    if start + len(folded) <= request.start() or start >= request.end()]
            return lang, " ".join(kept)
    return "", text


def conversation_language(text: str, conversation: Conversation, detected: str, sure: bool = False) -> str:
    """A short message keeps the conversation's language unless it is clearly in the other one: Kazakh letters or
    particles, or a detector `sure` of it («ты бот или живой?» after «салем»)."""
    if not conversation.lang or len(tokens(text)) > SHORT_WORDS or sure:
        return detected
    if detected == "kk" and (KAZAKH_LETTERS.search(text.lower()) or CLEARLY_KAZAKH_WORDS.search(letters(text))):
        return "kk"
    return conversation.lang if detected != conversation.lang else detected


def option_number(text: str) -> int | None:
    """The option a message picks: «второй», «екіншісі», «ekinshi nusqa», «3», «№2», «последний» (-1)."""
    words = letters(text).split()
    for word in words:
        if any(word.startswith(stem) for stem in LAST):
            return -1
        for stem, n in ORDINALS.items():
            if word.startswith(stem):
                return n
    numbers = [int(m) for m in re.findall(r"(?<![\d.,])(\d)(?![\d.,])", text)]  # «11» is a grade, «4.5» a mark
    return numbers[0] if len(numbers) == 1 and numbers[0] > 0 else None


def last_list(conversation: Conversation) -> tuple[str, list[str]]:
    """What an option number picks from: the colleges when the last question of its own listed several, the
    free-tuition routes after an answer listing them, else the specialities. «где в Астане учат на программиста»,
    then «а второй частный?» asks about the second college; «как учиться бесплатно?», then «расскажи про третий»
    about the third route; suggestions, «оны Қызылордада оқуға бола ма», then «ең аяғындағысы ше» about the last
    suggestion."""
    if conversation.asked == "colleges" and conversation.topic == "colleges" and len(conversation.colleges) > 1:
        return "college", conversation.colleges
    if conversation.topic == "free" and conversation.routes:
        return "programme", conversation.routes
    return "speciality", conversation.suggested


def leads_with_option(text: str) -> bool:
    """«а второй частный или государственный?», «үшіншісі қайда»: the message opens with an ordinal, so it asks
    about that option («а на втором курсе?» does not)."""
    words = [word for word in letters(text).split() if word not in LEADING_MARKERS]
    if len(words) > 1 and words[0].isdigit() and OPTION_NOUN.match(words[1]):
        return True  # «1 деп аламын», «2 вариант»
    return bool(words) and not words[0].isdigit() and option_number(words[0]) is not None


def beside_option(text: str) -> str:
    """«екинши нускага кужатты кашан тапсырам» → «кужатты кашан тапсырам»: the message without the option it picks
    (its number and a «вариант / нұсқа» after it), so what else it asks can be read on its own."""
    words = text.split()
    for n, word in enumerate(words):
        if option_number(word) is not None:
            rest = words[n + 1:]
            if rest and OPTION_NOUN.match(letters(rest[0])):
                rest = rest[1:]
            return " ".join([*words[:n], *rest]).strip(" .,;:!?-—")
    return text


def chosen_option(text: str, conversation: Conversation) -> str:
    """The speciality or college of the last list a message picks by its number, or ''."""
    n, options = option_number(text), last_list(conversation)[1]
    if n is None or not options:
        return ""
    if n == -1:
        return options[-1]
    return options[n - 1] if n <= len(options) else ""


def refers_to_place(text: str) -> bool:
    """«а там общага есть?», «онда стипендия бар ма»: the message points at a college talked about."""
    return bool(THERE.search(letters(text)))


def refers_to_thing(text: str) -> bool:
    """«сколько на это учиться?», «бұл не мамандық»: the message points at a speciality talked about."""
    return bool(IT.search(letters(text)))


def college_detail(text: str) -> str:
    """«а номер телефона у них есть?», «мекенжайын жазшы»: the contact detail of a college asked for, or ''."""
    folded = letters(text)
    return next((detail for detail, pattern in COLLEGE_DETAILS.items() if pattern.search(folded)), "")


def is_elliptic(text: str) -> bool:
    """«а на бухгалтера?», «avtomekhanikke she?»: a short message that leans on the last question."""
    return is_short(text) and marks_ellipsis(text)


def marks_ellipsis(text: str) -> bool:
    """«а …», «ал …», «… ше»: the message, however long, reuses the last question with what it adds."""
    return bool(ELLIPSIS.search(letters(text)))


def is_short(text: str) -> bool:
    """Short enough to lean on the conversation for what it leaves out."""
    return len(tokens(text)) <= SHORT_WORDS


def asks_in_general(text: str) -> bool:
    """«а вообще какие колледжи есть», «жалпы қандай колледждер бар»: the whole of it, not the focus only."""
    return bool(IN_GENERAL.search(letters(text)))


def says_specialities(text: str) -> bool:
    """«тағы қандай мамандықтар бар осы салада?»: the message asks about specialities (not colleges)."""
    return bool(SPECIALITY_NOUN.search(letters(text)))
