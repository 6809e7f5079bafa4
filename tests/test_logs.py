"""Logs never show the bot token or the webhook secret, not even inside a traceback."""

from __future__ import annotations

import logging

import pytest

from app.logs import setup_logging

TOKEN = "7034567890:AAH-abcdefghijklmnopqrstuvwxyz12345"


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def test_tokens_and_secrets_are_redacted_in_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [TOKEN, "hook-secret-value"])
    log = logging.getLogger("aiogram.event")
    try:
        raise ConnectionError(f"Cannot connect to https://api.telegram.org/bot{TOKEN}/sendMessage")
    except ConnectionError:
        log.exception("request failed")
    log.warning("webhook secret is %s", "hook-secret-value")
    log.info("another bot: https://host/bot999:short-token/getMe")
    err = capsys.readouterr().err
    assert "request failed" in err and "ConnectionError" in err
    assert "AAH-abcdef" not in err and "hook-secret-value" not in err and "short-token" not in err
    assert err.count("<redacted>") >= 3
