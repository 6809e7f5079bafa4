"""Cities and regions of Kazakhstan named in a message, in Russian or Kazakh and in any grammatical case."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge.text import fold, tokens


@dataclass(frozen=True)
class Place:
    """A city (with its region) or a whole region, as college records name them."""

    city: str
    region: str
    name_kk: str
    stems: tuple[str, ...]  # word beginnings that name the place in any case, ru and kk

    def names(self, word: str) -> bool:
        """True when this single word names the place."""
        word = place_key(word)
        return any(is_case_of(word, place_key(stem[:-1])) if stem.endswith("$")
                   else word.startswith(place_key(stem.split("-")[0].split(" ")[0]))
                   for stem in self.stems if stem.endswith("$") or len(stem.split("-")[0].split(" ")[0]) >= 4)

    def label(self, lang: str) -> str:
        """The place's name in the answer's language."""
        name = self.city or self.region
        return self.name_kk if lang == "kk" else name


# Stems are matched against the start of a word, so «астан» covers Астана, Астане, Астанада, Астанадағы;
# a stem ending in "$" must be the whole word, and a stem with a space or hyphen is matched as a phrase.
PLACES: tuple[Place, ...] = (
    # Before the city: «Алматы облысы» is the region around Almaty, which is a city of its own.
    Place("", "Алматинская область", "Алматы облысы", ("алматы облыс", "алматинск")),
    Place("Астана", "Астана", "Астана", ("астан", "нур-султан", "нурсултан")),
    Place("Алматы", "Алматы", "Алматы", ("алматы", "алмате", "алмaты", "алма-ат", "алмата")),
    Place("Шымкент", "Шымкент", "Шымкент", ("шымкент", "чимкент")),
    Place("Актобе", "Актюбинская область", "Ақтөбе", ("актобе", "ақтөбе", "актюбинск")),
    Place("Караганда", "Карагандинская область", "Қарағанды", ("караганд", "қарағанд")),
    Place("Павлодар", "Павлодарская область", "Павлодар", ("павлодар",)),
    Place("Костанай", "Костанайская область", "Қостанай", ("костана", "қостана", "кустана")),
    Place("Атырау", "Атырауская область", "Атырау", ("атырау",)),
    Place("Кызылорда", "Кызылординская область", "Қызылорда", ("кызылорд", "қызылорд")),
    Place("Кокшетау", "Акмолинская область", "Көкшетау", ("кокшетау", "көкшетау")),
    Place("Усть-Каменогорск", "Восточно-Казахстанская область", "Өскемен", ("усть-каменогорск", "өскемен", "оскемен")),
    Place("Семей", "область Абай", "Семей", ("семей$", "семея$", "семею$", "семеем$", "семее$", "семеи$", "семейде",
                                                "семейге", "семейден", "семейдің", "семейдин", "семипалатинск")),
    Place("Петропавловск", "Северо-Казахстанская область", "Петропавл", ("петропавл",)),
    Place("Туркестан", "Туркестанская область", "Түркістан", ("туркестан", "түркістан")),
    Place("Тараз", "Жамбылская область", "Тараз", ("тараз",)),
    Place("Актау", "Мангистауская область", "Ақтау", ("актау", "ақтау")),
    Place("Уральск", "Западно-Казахстанская область", "Орал", ("уральск", "орал$", "орале$", "оралу$", "оралом$",
                                                               "оралда", "оралға", "оралдағы", "оралдан")),
    Place("Талдыкорган", "область Жетісу", "Талдықорған", ("талдыкорган", "талдықорған")),
    Place("Жезказган", "область Ұлытау", "Жезқазған", ("жезказган", "жезқазған")),
    Place("Шалкар", "Актюбинская область", "Шалқар", ("шалкар", "шалқар")),
    Place("Хромтау", "Актюбинская область", "Хромтау", ("хромтау",)),
    # Small towns and villages of the Aktobe region named in college records (Kazakh names: Wikipedia).
    Place("Кандыагаш", "Актюбинская область", "Қандыағаш", ("кандыагаш", "қандыағаш")),
    Place("Эмба", "Актюбинская область", "Ембі", ("эмба$", "эмбе$", "эмбу$", "эмбы$", "эмбой$", "ембі")),
    Place("Алга", "Актюбинская область", "Алға", ("алга$", "алге$", "алгу$", "алги$", "алгой$", "алгинск",
                                                  "алға$", "алғада", "алғаға", "алғадан")),
    Place("Кобда", "Актюбинская область", "Қобда", ("кобд", "қобд")),
    Place("Карауылкелды", "Актюбинская область", "Қарауылкелді", ("карауылкелд", "қарауылкелд")),
    Place("Бадамша", "Актюбинская область", "Бадамша", ("бадамш",)),
    Place("Жайсан", "Актюбинская область", "Жайсан", ("жайсан",)),
    Place("Уил", "Актюбинская область", "Ойыл", ("уил$", "уиле$", "уила$", "уилск", "ойыл")),
    Place("Ескі Иқан ауылы", "Туркестанская область", "Ескі Иқан ауылы", ("иқан", "икан$", "икане$")),
    # Towns of the other regions named in imported college records (Kazakh names: Wikipedia). «Есік» is also
    # "door" in Kazakh, so only its place forms count.
    Place("Балхаш", "Карагандинская область", "Балқаш", ("балхаш", "балқаш")),
    Place("Сарань", "Карагандинская область", "Саран", ("сарань$", "сарани$", "саранью$", "саран$", "саранда$",
                                                        "саранға$", "сараннан$")),
    Place("Шахтинск", "Карагандинская область", "Шахтинск", ("шахтинск",)),
    Place("Есик", "Алматинская область", "Есік", ("есик$", "есике$", "есика$", "есиком$", "есік$", "есікте$",
                                                  "есіктегі$", "есікке$")),
    Place("Кентау", "Туркестанская область", "Кентау", ("кентау",)),
    Place("Макат", "Атырауская область", "Мақат", ("макат", "мақат")),
    Place("Риддер", "Восточно-Казахстанская область", "Риддер", ("риддер",)),
    Place("Степногорск", "Акмолинская область", "Степногор", ("степногор",)),
    Place("Щучинск", "Акмолинская область", "Щучинск", ("щучинск", "щучье$")),
    Place("Шагалалы", "Акмолинская область", "Шағалалы", ("шагалалы", "шағалалы")),
    Place("Кулан", "Жамбылская область", "Құлан", ("кулан$", "кулане$", "кулана$", "құлан$", "құланда$")),
    Place("Жанакала", "Западно-Казахстанская область", "Жаңақала", ("жанакал", "жаңақал")),
    Place("Текели", "область Жетісу", "Текелі", ("текели", "текелі")),
    Place("Бастобе", "область Жетісу", "Бастөбе", ("бастобе", "бастөбе")),
    Place("Капал", "область Жетісу", "Қапал", ("капал$", "капале$", "капала$", "қапал$", "қапалда$")),
    Place("Шелек", "Алматинская область", "Шелек", ("шелек",)),
    Place("Шиели", "Кызылординская область", "Шиелі", ("шиели", "шиелі")),
    Place("", "Акмолинская область", "Ақмола облысы", ("акмолинск", "ақмола")),
    Place("", "Актюбинская область", "Ақтөбе облысы", ("актюбинской", "актюбинская")),
    Place("", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы",
          ("восточно-казахстан", "вко$", "шығыс қазақстан", "восточный казахстан", "восточном казахстан",
           "восточного казахстан")),
    Place("", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы",
          ("северо-казахстан", "ско$", "солтүстік қазақстан", "северный казахстан", "северном казахстан",
           "северного казахстан")),
    Place("", "Западно-Казахстанская область", "Батыс Қазақстан облысы",
          ("западно-казахстан", "зко$", "батыс қазақстан", "западный казахстан", "западном казахстан",
           "западного казахстан")),
    Place("", "Мангистауская область", "Маңғыстау облысы", ("мангистау", "маңғыстау", "мангыстау")),
    Place("", "Жамбылская область", "Жамбыл облысы", ("жамбыл",)),
    Place("", "Туркестанская область", "Түркістан облысы", ("туркестанск",)),
    Place("", "область Абай", "Абай облысы", ("абайск",)),
    Place("", "Атырауская область", "Атырау облысы", ("атырауск",)),
    Place("", "Карагандинская область", "Қарағанды облысы", ("карагандинск",)),
    Place("", "Костанайская область", "Қостанай облысы", ("костанайск", "кустанайск")),
    Place("", "Кызылординская область", "Қызылорда облысы", ("кызылординск",)),
    Place("", "Павлодарская область", "Павлодар облысы", ("павлодарск",)),
    Place("", "область Жетісу", "Жетісу облысы", ("жетісу", "жетысу", "жетису")),
    Place("", "область Ұлытау", "Ұлытау облысы", ("ұлытау", "улытау")),
)
# «по атырауской области», «Ақтөбе облысында»: the region, not its main town.
REGION_WORDS = ("област", "облыс")


_VOWEL_THEN_Y = re.compile(r"(?<=[аеиоуэюяё])ы")


# Case endings a short place name takes, folded (Kazakh locative, dative, ablative, genitive, «-дағы»; Russian
# oblique cases): «Қапалға», «Embada», «Шалкаре». Short names match only with these, not as word beginnings.
CASE_ENDINGS = frozenset({"а", "е", "у", "ы", "и", "ом", "ем", "ои", "да", "де", "та", "те", "га", "ге", "ка", "ке",
                          "на", "не", "дан", "ден", "тан", "тен", "нан", "нен", "дагы", "деги", "тагы", "теги",
                          "нын", "нин", "дын", "дин", "тын", "тин"})


def is_case_of(word: str, name: str) -> bool:
    """True when the folded word is the folded short place name, bare or with a case ending."""
    # Not a three-letter abbreviation: «скока» is not «СКО» with «-ка».
    return word == name or len(name) >= 4 and word.startswith(name) and word[len(name):] in CASE_ENDINGS


@lru_cache(maxsize=50_000)
def place_key(word: str) -> str:
    """A place word as it is compared: Kazakh letters folded, «ё» and «й» read plainly.

    Teenagers type «Актобе» for «Ақтөбе» and «semeyde» for «Семейде»; Latin «y» after a vowel comes back
    from transliteration as «ы», where it stood for «й».
    """
    # Latin «Embada» comes back as «ембада», «uralske» without the soft sign of «Уральске»; Latin «ng» comes back
    # as «ң» («mangystauda» → «маңыстауда»), where the name has «ңғ» or «нг» («Маңғыстау»).
    word = fold(word.replace("ё", "е").replace("э", "е").replace("ь", "")).replace("нг", "н")
    return _VOWEL_THEN_Y.sub("и", word).replace("й", "и")


def places_named(words: set[str]) -> list[Place]:
    """The places some of the words name («Shymkentte» names Шымкент)."""
    return [place for place in PLACES if any(place.names(word) for word in words)]


def place_words(text: str) -> set[str]:
    """Words of the text that name a place: they say where, not what to study."""
    return {w for w in tokens(text) if names_a_place(w)}


@lru_cache(maxsize=50_000)
def names_a_place(word: str) -> bool:
    """True when the word names any known place (remembered: every question asks it of each of its words)."""
    return any(place.names(word) for place in PLACES)


def find_place(text: str) -> Place | None:
    """The city or region the text names, or None. Of several, the one named last («живу в Жанакале, хочу в
    Уральск»), but not a town's own region after it («Мақат, Атырау облысы»); a place with «область» after it is
    the whole region («Ақтөбе облысында»)."""
    words = [place_key(w) for w in tokens(text)]
    named = sorted(((at, n, place) for n, place in enumerate(PLACES) if (at := _position(place, words)) is not None),
                   key=lambda item: (item[0], -item[1]))  # at one word, the place listed first: «Алматы облысы»
    if not named:
        return None
    at, _, place = named[-1]
    if place.city and any(word.startswith(REGION_WORDS) for word in words[at + 1:]):
        towns = [p for _, _, p in named[:-1] if p.city and p.region == place.region]
        return towns[-1] if towns else next((p for p in PLACES if not p.city and p.region == place.region), place)
    return place


def _position(place: Place, words: list[str]) -> int | None:
    """The index of the first of the place-keyed words that names the place, or None."""
    for n, word in enumerate(words):
        for stem in map(place_key, place.stems):
            if stem.endswith("$"):
                if is_case_of(word, stem[:-1]):
                    return n
            elif "-" in stem or " " in stem:
                parts = stem.replace("-", " ").split()
                if " ".join(words[n:n + len(parts)]).startswith(" ".join(parts)):
                    return n
            elif word.startswith(stem):
                return n
    return None
