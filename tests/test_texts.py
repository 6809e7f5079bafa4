"""The interface catalogues: both languages complete, and served through aiogram's I18n."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from bot.texts import LOCALES, build_i18n, t


def catalogue(lang: str) -> dict[str, str]:
    with (LOCALES / lang / "LC_MESSAGES" / "bot.po").open("rb") as source:
        return {m.id: m.string for m in read_po(source) if m.id}


def test_both_languages_have_every_text() -> None:
    russian, kazakh = catalogue("ru"), catalogue("kk")
    assert russian.keys() == kazakh.keys() and len(russian) > 40
    assert all(russian.values()) and all(kazakh.values())


def test_texts_come_in_the_asked_language(tmp_path: Path) -> None:
    i18n = build_i18n(tmp_path)
    with i18n.context():
        assert t("btn_free", "ru") == "💸 Бесплатное обучение"
        assert t("btn_free", "kk") == "💸 Тегін оқу"
        assert "3" in t("quiz_question", "kk", n=3, total=16, text="?")
