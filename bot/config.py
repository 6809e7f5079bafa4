"""Settings the Telegram layer needs; app/config.py composes them with the other packages' settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """A group of settings; unknown keys are typos and rejected."""

    model_config = ConfigDict(extra="forbid")


class TelegramSettings(Section):
    api_base: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str = ""
    webhook_path: str = "/webhook"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8080, ge=1, le=65535)
    # Seconds the handlers still running at SIGTERM/SIGINT get to finish before the process exits.
    shutdown_timeout: float = Field(20.0, gt=0)
    # Seconds between attempts while the Bot API cannot be reached at start-up (doubling up to 60).
    startup_retry: float = Field(2.0, gt=0)
    # Seconds to keep trying at start-up before giving up with exit code 75, for the supervisor to retry later.
    startup_timeout: float = Field(300.0, gt=0)


class AccessSettings(Section):
    admins: list[int] = []
    counsellors: list[int] = []


class ThrottleSettings(Section):
    messages: int = Field(5, ge=1)
    per_seconds: float = Field(10.0, gt=0)


class FloodSettings(Section):
    # Messages per second the bot sends at most, across all chats (Telegram allows about 30).
    max_per_second: float = Field(25.0, gt=0)
    # A call that Telegram answers with 429 is retried after its retry_after this many times at most.
    max_retries: int = Field(5, ge=0)


class MonitoringSettings(Section):
    # /healthz and /metrics: on the webhook server in webhook mode; on this address in polling mode.
    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(9108, ge=1, le=65535)
