"""Text of an answer as a teenager reads it: citations, study lengths, and what fits one phone screen.

Pure functions of records and text: nothing here looks anything up or keeps state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from advisor.phrases import phrase
from knowledge.schema import KnowledgeRecord, Speciality

SCREEN_CHARS = 1200  # one message on a phone screen
BODY_CHARS = 900  # the answer itself, leaving room for the sources line within one screen
CITATION_CHARS = 110
URL = re.compile(r"https?://(?:www\.)?(?P<host>[^/\s?#]+)[^\s;]*")
LONG_REMARK = re.compile(r"\s*\([^()]{35,}\)|\s*«[^«»]{40,}»")  # remarks and long titles: the number says it
UNOFFICIAL_WORDS = re.compile(r"неофициальн|ресми емес", re.IGNORECASE)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula


def in_language(lang: str, ru: str, kk: str) -> str:
    """The text in the answer's language; Russian where no Kazakh text is sourced."""
    return (kk or ru) if lang == "kk" else (ru or kk)


def first_sentence(text: str) -> str:
    """The first sentence: a list item says what the route is; the details card says the rest."""
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.DOTALL)
    return match.group(1) if match else text


# The least room worth filling with the start of a line too long to fit whole.
PARTIAL_LINE_CHARS = 200


def fit_message(text: str, limit: int = BODY_CHARS) -> str:
    """The text cut at a line end to fit one screen, saying that more is behind the buttons."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    for line in text.split("\n"):
        if len("\n".join([*kept, line])) > limit - 2:
            room = limit - 2 - len("\n".join([*kept, ""]))
            if room >= PARTIAL_LINE_CHARS:  # a long paragraph (the quotas in Kazakh) is cut at a word, not lost
                kept.append(line[:room].rsplit(" ", 1)[0])
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or kept[-1].rstrip().endswith(":")):  # no header left without its list
        kept.pop()
    if not kept:  # one huge line: cut at a word
        return text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return "\n".join(kept).rstrip() + "\n…"


def citation(record: KnowledgeRecord, lang: str) -> str:
    """The record's source as a teenager reads it: in the reply's language, addresses as bare sites, its year."""
    text = readable_citation((record.source_kk or record.source) if lang == "kk" else record.source)
    if str(record.as_of) not in text:
        text += f", {phrase('year_word', lang, year=record.as_of)}"
    if record.unofficial and not UNOFFICIAL_WORDS.search(text):
        text += f" ({phrase('unofficial', lang)})"
    return text


def readable_citation(source: str, limit: int = CITATION_CHARS) -> str:
    """At most two parts of a citation, web addresses shown as their sites, long remarks and titles dropped."""
    parts: list[str] = []
    for part in (p.strip() for p in source.split(";") if p.strip()):
        part = URL.sub(lambda m: m.group("host"), part)
        part = LONG_REMARK.sub("", part).strip(" ,:")
        if part and part not in parts and len("; ".join([*parts, part])) <= limit:
            parts.append(part)
        if len(parts) == 2:
            break
    if parts:
        return "; ".join(parts)
    cut = LONG_REMARK.sub("", URL.sub(lambda m: m.group("host"), source))
    return cut if len(cut) <= limit else cut[:limit].rsplit(" ", 1)[0] + "…"


def study_length(spec: Speciality, grade: int, lang: str) -> str:
    """Study length after a grade: the speciality's, else each qualification's that a source gives."""
    value = spec.study_after_9 if grade == 9 else spec.study_after_11
    if value:
        return length_in(value, lang)
    by_qualification = [(q, q.study_after_9 if grade == 9 else q.study_after_11) for q in spec.qualifications]
    return "; ".join(f"{length_in(length, lang)} ({(q.name_kk or q.name_ru) if lang == 'kk' else q.name_ru})"
                     for q, length in by_qualification if length)


def length_in(length: str, lang: str) -> str:
    """A study length as the knowledge base writes it («3 года 10 месяцев»), in Kazakh when asked («3 жыл 10 ай»)."""
    if lang != "kk":
        return length
    length = re.sub(r"(\d+)\s*(год|года|лет)\b", r"\1 жыл", length)
    return re.sub(r"(\d+)\s*(месяц|месяца|месяцев)\b", r"\1 ай", length)


def spreadsheet_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a leading quote stops =, +, - and @ from running as a formula."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def quoted(name: str) -> str:
    """A name in «», unless it already quotes itself («КГУ «Шалкарский … колледж»» reads badly)."""
    return name if "«" in name else f"«{name}»"


def year_span(years: Iterable[int | str]) -> str:
    """«2025», or «2018–2025» for records of several years."""
    ordered = sorted({str(year) for year in years})
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}–{ordered[-1]}"
