"""Is a listed college one the knowledge base already has? Names compared across Russian and Kazakh forms.

«ГККП "Высший медицинский колледж"», «Жоғары медициналық колледжі» МКҚК and «Высший медицинский колледж»
are one college: the legal form, quotes and the word «колледж» are dropped, and the words that differ between the
Russian and Kazakh names of colleges are read as one stem.
"""

from __future__ import annotations

import re
from typing import Any

from knowledge.schema import College
from knowledge.text import folded_key

# Legal forms and words every college name has; they tell nothing about which college it is.
NOISE = frozenset("""
гккп кгкп гкп ргкп ргп кгп ркгп кгу ргу гу мкк мкк кмк кмкк мккк шжк мкм ммм тоо жшс нао ао чу уо оо ну
на пхв шжк при акимата управления образования области облысы облысынын білім беру баскармасынын
колледж колледжи колледжа колледжі колледжи колледжы college учреждение мекемесі мекемеси частное жеке
государственное коммунальное казенное предприятие кәсіпорны кәсіпорын кайта г города каласы каласынын имени
атындагы им
""".split())
# Kazakh words of college names and the Russian stem they stand for, compared after folding Kazakh letters.
KAZAKH_TO_RUSSIAN = {
    "жогары": "высш", "политехникалык": "политехн", "медициналык": "медицин", "гуманитарлык": "гуманитар",
    "техникалык": "техническ", "аграрлык": "аграрн", "агротехникалык": "агротехн", "педагогикалык": "педагог",
    "курылыс": "строительн", "колик": "транспорт", "экономикалык": "экономическ", "технологиялык": "технолог",
    "индустриалдык": "индустриал", "индустриялык": "индустриал", "мунай": "нефт", "энергетика": "энергетическ",
    "энергетикалык": "энергетическ", "байланыс": "связ", "байланыстар": "коммуникац", "жеңил": "легк",
    "женил": "легк", "онеркасип": "промышлен", "онер": "искусств", "музыкалык": "музыкальн",
    "каржы": "финанс", "инновациялык": "инновацион", "коп": "много", "салалы": "профильн", "копсалалы": "многопрофил",
    "казак": "казахск", "сервис": "сервис", "тамак": "питан", "тагам": "питан", "кызмет": "обслужив",
    "аграрлык-техникалык": "аграрно-техническ", "ауыл": "сельск", "шаруашылыгы": "хозяйств", "темир": "железнодорож",
    "жол": "дорож", "электроника": "электрон", "коммуникациялар": "коммуникац", "бизнес": "бизнес",
    "менеджмент": "менеджмент", "цифрлык": "цифров", "жана": "нов", "халыкаралык": "международн",
    "колледжи": "", "эколого-биологиялык": "эколого-биолог", "тау-кен": "горн", "машина": "машино",
    "жасау": "строени", "дизайн": "дизайн", "ветеринариялык": "ветеринар", "спорт": "спорт", "олимпиадалык": "олимп",
}
STEM_LENGTH = 6  # Russian endings differ by case and gender: «медицинский», «медицинского», «медицинская»


def name_key(name: str) -> str:
    """The words that identify a college, as sorted stems shared by its Russian and Kazakh names."""
    words = re.findall(r"[\w-]+", folded_key(name).replace("ё", "е"))
    stems = []
    for word in words:
        if word in NOISE or word.isdigit() and len(word) > 3:
            continue
        word = KAZAKH_TO_RUSSIAN.get(word, word)
        if word:
            stems.append(word[:STEM_LENGTH])
    return " ".join(sorted(set(stems)))


def same_college_names(first: College, second: College) -> bool:
    """True when any name of one college has the same identifying words as any name of the other."""
    keys = {name_key(n) for n in (first.name, first.name_kk) if n} - {""}
    return bool(keys & ({name_key(n) for n in (second.name, second.name_kk) if n} - {""}))


def domain(website: str) -> str:
    """A website's host without scheme, `www.` and path, so http://www.x.kz/ matches x.kz."""
    host = re.sub(r"^[a-z]+://", "", website.strip().lower()).split("/")[0].split(" ")[0]
    return host.removeprefix("www.")


def find_existing(college: College, known: list[College]) -> College | None:
    """The known college this one is: the same website, or the same identifying name in the same region."""
    site = domain(college.website)
    for old in known:
        if site and old.website and domain(old.website) == site:
            return old
    for old in known:
        if old.region == college.region and same_college_names(old, college) and \
                (not college.city or not old.city or folded_key(old.city) == folded_key(college.city)):
            return old
    return None


def updated(old: College, imported: College) -> College:
    """The existing record with what the file gives; fields the file leaves empty keep their old values."""
    update: dict[str, Any] = {"source": imported.source, "as_of": imported.as_of, "unofficial": imported.unofficial}
    for name in ("name", "name_kk", "city", "region", "address", "phone", "website", "ownership", "specialities",
                 "specialities_text"):
        value = getattr(imported, name)
        if value:
            update[name] = value
    if imported.source != old.source:
        update["source_kk"] = ""  # the Kazakh citation named the old source
    specialities = update.get("specialities", old.specialities)
    update["licence_return_listed"] = [s for s in old.licence_return_listed if s in specialities]
    candidate = old.model_copy(update=update)
    if not diffs(old, candidate):
        return old
    kept = f"; fields the list does not give kept from the earlier record (source: {old.source})"
    earlier = f"; earlier provenance: {old.provenance}" if old.provenance else ""
    return College.model_validate({**candidate.model_dump(), "provenance": imported.provenance + kept + earlier})


def diffs(old: College, new: College) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for every field that differs; provenance is bookkeeping, not a change of fact."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    return [(name, before[name], after[name]) for name in before
            if name != "provenance" and before[name] != after[name]]
