"""Interface texts of the bot: gettext catalogues in bot/locales, served by aiogram's I18n."""

from __future__ import annotations

from pathlib import Path

from aiogram.utils.i18n import I18n, gettext
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "bot"


def build_i18n(compiled: Path) -> I18n:
    """Compile the .po catalogues (which admins and translators edit) into `compiled`, then load them."""
    for po in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        target = compiled / po.relative_to(LOCALES).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as source, target.open("wb") as output:
            write_mo(output, read_po(source))
    return I18n(path=compiled, default_locale="ru", domain=DOMAIN)


def t(key: str, lang: str, **values: object) -> str:
    """An interface text in the given language (the I18n context is set per update by its middleware)."""
    text = gettext(key, locale="kk" if lang == "kk" else "ru")
    return text.format(**values) if values else text
