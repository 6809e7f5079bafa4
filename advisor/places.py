"""Cities and regions of Kazakhstan named in a message, in Russian or Kazakh and in any grammatical case."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.text import tokens


@dataclass(frozen=True)
class Place:
    """A city (with its region) or a whole region, as college records name them."""

    city: str
    region: str
    name_kk: str
    stems: tuple[str, ...]  # word beginnings that name the place in any case, ru and kk

    def names(self, word: str) -> bool:
        """True when this single word names the place."""
        word = word.replace("ё", "е")
        return any(word == stem[:-1] if stem.endswith("$") else word.startswith(stem.split("-")[0].split(" ")[0])
                   for stem in self.stems if stem.endswith("$") or len(stem.split("-")[0].split(" ")[0]) >= 4)

    def label(self, lang: str) -> str:
        """The place's name in the answer's language."""
        name = self.city or self.region
        return self.name_kk if lang == "kk" else name


# Stems are matched against the start of a word, so «астан» covers Астана, Астане, Астанада, Астанадағы;
# a stem ending in "$" must be the whole word, and a stem with a space or hyphen is matched as a phrase.
PLACES: tuple[Place, ...] = (
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
    Place("Уральск", "Западно-Казахстанская область", "Орал", ("уральск", "орал$", "оралда", "оралға", "оралдағы", "оралдан")),
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
    Place("", "Акмолинская область", "Ақмола облысы", ("акмолинск", "ақмола")),
    Place("", "Актюбинская область", "Ақтөбе облысы", ("актюбинской", "актюбинская")),
    Place("", "Алматинская область", "Алматы облысы", ("алматинск",)),
    Place("", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы", ("восточно-казахстан", "вко$", "шығыс қазақстан")),
    Place("", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы", ("северо-казахстан", "ско$", "солтүстік қазақстан")),
    Place("", "Западно-Казахстанская область", "Батыс Қазақстан облысы", ("западно-казахстан", "зко$", "батыс қазақстан")),
    Place("", "Мангистауская область", "Маңғыстау облысы", ("мангистау", "маңғыстау", "мангыстау")),
    Place("", "Жамбылская область", "Жамбыл облысы", ("жамбыл",)),
    Place("", "Туркестанская область", "Түркістан облысы", ("туркестанск",)),
    Place("", "область Абай", "Абай облысы", ("абайск",)),
)


def place_words(text: str) -> set[str]:
    """Words of the text that name a place: they say where, not what to study."""
    return {w for w in tokens(text) if any(place.names(w) for place in PLACES)}


def find_place(text: str) -> Place | None:
    """The first city or region the text names, or None."""
    words = [w.replace("ё", "е") for w in tokens(text)]
    joined = " ".join(words)
    for place in PLACES:
        for stem in place.stems:
            if stem.endswith("$"):
                if stem[:-1] in words:
                    return place
            elif "-" in stem or " " in stem:
                if f" {stem.replace('-', ' ')}" in f" {joined}":
                    return place
            elif any(word.startswith(stem) for word in words):
                return place
    return None
