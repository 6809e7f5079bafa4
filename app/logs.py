"""Logging set-up: one format for every line, with bot tokens and secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from typing import Iterable

# A bot token as it appears in Bot API addresses (…/bot123456:AA…/sendMessage) or on its own.
TOKEN_PATTERN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b|(?<=/bot)\d+:[A-Za-z0-9_-]+")
REDACTED = "<redacted>"


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then removes tokens and the given secrets from the whole text, trace included."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()):
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with every known secret and anything shaped like a bot token replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time: tests and tools swap it after set-up."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - logging's own attribute
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # noqa: ANN001
        pass


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Route every logger through one handler whose formatter redacts secrets."""
    handler = _StderrHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
