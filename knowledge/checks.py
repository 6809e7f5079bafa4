"""Checks of what users read: citations, the language of each text field, and facts that have gone stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from pydantic import BaseModel

from knowledge.regions import CITY_REGION, REGIONS
from knowledge.schema import College, KnowledgeRecord, LabourFact
from knowledge.text import KAZAKH_LETTERS, folded_key

# Words and marks of developer notes, never of a citation a teenager could open or look up.
NOT_A_CITATION = re.compile(
    r"public code|github|gitlab|\bsrc/|\.(tsx?|jsx?|py|php|json|sql|docx?|ya?ml)\b|seeder|\brepo(sitory)?\b|commit|"
    r"mock-?up|template|locale file|secondary source|confirm against|\bcites\b|placeholder|README",
    re.IGNORECASE)
URL = re.compile(r"https?://\S+|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(kz|ru|com|org|net|edu)\b\S*", re.IGNORECASE)
ENGLISH_WORDS = re.compile(r"\b(the|of|and|for|from|with|page|list|site|data|college|file|rating|news|by)\b",
                           re.IGNORECASE)
RUSSIAN_ONLY_WORDS = re.compile(r"(?<!\w)(и|в|на|для|по|с|не|что|это|или|от|до|при|как|после)(?!\w)")
QUOTED = re.compile(r"«[^»]*»")
KAZAKH_SYLLABLES = re.compile(r"[жш]ы", re.IGNORECASE)
# Word beginnings of cities and regions, four letters or longer so that short names (Шу) match nothing else.
PLACE_NAMES = tuple({folded_key(name) for names in (CITY_REGION, *REGIONS.values()) for name in names
                     if " " not in name and len(name) >= 4})
YEARLY_LIMIT = 1  # a yearly fact may be this many years older than the current year
OLD_LIMIT = 5  # a college list or a labour figure older than this is flagged


def citation_problem(source: str) -> str:
    """Why a `source` is not a citation a person can read and look up; empty when it is one."""
    # A page address counts by its site: «index.php» in a news site's path is no code file, «github.com» is.
    if NOT_A_CITATION.search(URL.sub(lambda url: url_host(url.group(0)), source)):
        return "is a developer note, not a citation: name the document or page (move the note to `provenance`)"
    words_outside_urls = URL.sub(" ", source)
    if len(ENGLISH_WORDS.findall(words_outside_urls)) >= 2:
        return "is an English note, not a citation: write the document or page as a person would look it up"
    if not re.search(r"[А-Яа-яЁёӘ-ӨҚ-ҺІіәғқңөұүһ]", words_outside_urls) and not URL.search(source):
        return "names neither a document nor a page address"
    return ""


def url_host(url: str) -> str:
    """The site of a page address: «https://panorama.shymkala.kz/index.php/x» → «panorama.shymkala.kz»."""
    return re.sub(r"^https?://", "", url).split("/")[0]


def text_fields(record: KnowledgeRecord) -> Iterator[tuple[str, str]]:
    """(field path, text) of every text field of the record and of its nested items, qualifications included."""
    yield from _fields(record, "")


def _fields(model: BaseModel, prefix: str) -> Iterator[tuple[str, str]]:
    for name, value in model:
        path = f"{prefix}{name}"
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from _fields(value, f"{path}.")
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{path}[{position}]", item
                elif isinstance(item, BaseModel):
                    yield from _fields(item, f"{path}[{position}].")


def is_russian_field(path: str) -> bool:
    """Fields that must hold Russian text: *_ru, and study lengths (printed in Russian answers)."""
    leaf = path.rsplit(".", 1)[-1].split("[")[0]
    return leaf.endswith("_ru") or leaf.startswith("study_after_")


def is_kazakh_field(path: str) -> bool:
    """Fields that must hold Kazakh text."""
    return path.rsplit(".", 1)[-1].split("[")[0].endswith("_kk") and not path.startswith("source")


def looks_kazakh(text: str) -> bool:
    """Kazakh letters, or «жы»/«шы», which Russian spelling never writes; names in «quotes» do not count.

    Nor do place names: Russian text writes them as they are (Шымкент, область Жетісу).
    """
    unquoted = " ".join(w for w in QUOTED.sub("", text).split() if not is_place_name(w))
    return bool(KAZAKH_LETTERS & set(unquoted.lower())) or bool(KAZAKH_SYLLABLES.search(unquoted))


def is_place_name(word: str) -> bool:
    """A capitalised word that begins like a city or region of Kazakhstan, in any case form."""
    key = folded_key(word)
    return word[:1].isupper() and any(key.startswith(name) for name in PLACE_NAMES)


def language_problem(path: str, text: str) -> str:
    """Kazakh text in a Russian field, or plainly Russian text in a Kazakh one; empty when it fits."""
    if path.startswith("keywords_"):  # search aids: a Russian list may hold the Kazakh spelling people type
        return ""
    if is_russian_field(path) and looks_kazakh(text):
        return "holds Kazakh text in a Russian field: move it to the *_kk field and give the Russian wording"
    if is_kazakh_field(path) and len(text) >= 40 and not KAZAKH_LETTERS & set(text.lower()) \
            and len(RUSSIAN_ONLY_WORDS.findall(text)) >= 2:
        return "looks like Russian text in a Kazakh field"
    return ""


def is_stale(record: KnowledgeRecord, today: date | None = None) -> bool:
    """A fact that changes every year (dates, quotas, places, stipends) whose year is more than a year old."""
    year = (today or date.today()).year
    return bool(getattr(record, "changes_yearly", False)) and record.as_of < year - YEARLY_LIMIT


def is_old(record: KnowledgeRecord, today: date | None = None) -> bool:
    """A college or labour record whose source is more than five years old: lists and figures age, while an
    order or the classifier holds until it is replaced (its year is when it was adopted)."""
    year = (today or date.today()).year
    return isinstance(record, College | LabourFact) and record.as_of < year - OLD_LIMIT


def licence_returns_outside(college: College) -> list[str]:
    """Specialities flagged as licence returns that the college record does not list at all."""
    return [s for s in college.licence_return_listed if s not in college.specialities]
