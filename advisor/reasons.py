"""Reasons: the one line saying why a speciality is suggested, from what the person actually said."""

from __future__ import annotations

from advisor.phrases import phrase
from advisor.ranking import RankedSpeciality, Relevance
from advisor.render import in_language
from knowledge.schema import Speciality
from knowledge.text import stemmed_tokens, tokens
from knowledge.vocabulary import label


def reason(ranked: RankedSpeciality, relevance: Relevance, interests: tuple[str, ...], lang: str,
           field: str = "") -> str:
    """The strongest reason: a keyword said, a profession named, an interest said, the field the message points
    to (learned), the profile, or only closeness in meaning."""
    spec = ranked.spec
    named_profession = (phrase("why_profession", lang, value=in_language(
        lang, ranked.profession.name_ru, ranked.profession.name_kk))
                        if ranked.profession else "")
    in_field = phrase("why_field", lang, value=label(field, lang)) if field and spec.group == field else ""
    why = (keyword_reason(spec, relevance, lang) or named_profession or interest_reason(spec, relevance, lang)
           or in_field or profile_reason(spec, interests, lang) or phrase("why_meaning", lang))
    if ranked.demand and why != phrase("why_meaning", lang):  # beside the fit: why it came first
        why += "; " + phrase("why_demand", lang, year=ranked.demand.as_of)
    return why


def keyword_reason(spec: Speciality, relevance: Relevance, lang: str) -> str:
    """A keyword or name of the speciality that the question contains."""
    keywords = spec.keywords_kk + spec.keywords_ru if lang == "kk" else spec.keywords_ru + spec.keywords_kk
    for keyword in [*keywords, spec.name_ru, spec.name_kk]:
        if said(keyword, relevance):
            return phrase("why_keyword", lang, value=keyword)
    return ""


def said(words: str, relevance: Relevance) -> bool:
    """True when every meaningful word of `words` is in the question, read as Russian or as Kazakh."""
    readings = [set(stemmed_tokens(word)) - relevance.ignored_terms for word in tokens(words)]
    readings = [reading for reading in readings if reading]
    return bool(readings) and all(reading & relevance.question_terms for reading in readings)


def interest_reason(spec: Speciality, relevance: Relevance, lang: str) -> str:
    """An interest or school subject of the speciality that the question names."""
    content = relevance.content_terms
    for value in [*spec.interests, *spec.subjects]:
        is_interest = value in spec.interests
        if any(set(stemmed_tokens(label(value, lang_, is_interest))) & content for lang_ in ("ru", "kk")):
            return phrase("why_interest", lang, value=label(value, lang, is_interest))
    return ""


def profile_reason(spec: Speciality, interests: tuple[str, ...], lang: str) -> str:
    """An interest from the person's interest test that the speciality shares."""
    shared = [i for i in interests if i in spec.interests]
    return phrase("why_profile", lang, value=label(shared[0], lang, interest=True)) if shared else ""

