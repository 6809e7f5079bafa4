"""Settings: config.yaml is read, the environment wins, secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_settings


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("retrieval:\n  top_k: 3\naccess:\n  admins: [42]\n", encoding="utf-8")
    monkeypatch.setenv("CONFIG_FILE", str(path))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    return path


def test_values_come_from_the_file(config_file: Path) -> None:
    settings = load_settings()
    assert settings.retrieval.top_k == 3 and settings.access.admins == [42]
    assert settings.bot_token is None


def test_environment_wins_over_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRIEVAL__TOP_K", "7")
    monkeypatch.setenv("TELEGRAM__API_BASE", "http://127.0.0.1:8081")
    monkeypatch.setenv("BOT_TOKEN", "123:tokenvalue")
    settings = load_settings()
    assert settings.retrieval.top_k == 7
    assert settings.telegram.api_base == "http://127.0.0.1:8081"
    assert settings.bot_token.get_secret_value() == "123:tokenvalue"
    assert "tokenvalue" not in repr(settings)


def test_unknown_setting_is_named(config_file: Path) -> None:
    config_file.write_text("retrieval:\n  topk: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="retrieval.topk"):
        load_settings()


def test_shipped_config_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONFIG_FILE", raising=False)
    settings = load_settings()
    assert settings.embeddings.model == "intfloat/multilingual-e5-small"


def test_webhook_secret_comes_from_the_environment_and_must_suit_telegram(
        config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret_-value")
    assert load_settings().webhook_secret.get_secret_value() == "s3cret_-value"
    monkeypatch.setenv("WEBHOOK_SECRET", "has spaces!")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET must be"):
        load_settings()
    monkeypatch.delenv("WEBHOOK_SECRET")
    config_file.write_text("webhook_secret: abc\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET environment variable"):
        load_settings()


def test_a_missing_config_file_named_by_config_file_is_an_error(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ConfigError, match="nowhere.yaml, which does not exist"):
        load_settings()


def test_webhook_mode_needs_a_public_https_address(config_file: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import main

    monkeypatch.setenv("BOT_TOKEN", "123456:AAtoken-for-a-config-test-only")
    monkeypatch.setenv("TELEGRAM__MODE", "webhook")
    assert main(["bot"]) == 78
    assert "TELEGRAM__WEBHOOK_URL" in capsys.readouterr().err


def test_workers_need_redis_postgresql_a_shared_secret_and_a_webhook(config_file: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALE__MODE", "workers")
    with pytest.raises(ConfigError, match="REDIS_URL and DATABASE_URL and WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("REDIS_URL", "redis://:redispass@127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:dbpass@127.0.0.1/kolledzh")
    monkeypatch.setenv("WEBHOOK_SECRET", "shared-secret")
    with pytest.raises(ConfigError, match="needs telegram.mode webhook"):
        load_settings()
    monkeypatch.setenv("TELEGRAM__MODE", "webhook")
    monkeypatch.setenv("TELEGRAM__WEBHOOK_URL", "https://bot.example.kz/webhook")
    settings = load_settings()
    assert "redispass" not in repr(settings) and "dbpass" not in repr(settings)
    assert {"redispass", "dbpass", "shared-secret"} <= set(settings.secrets())  # what the logs redact
    config_file.write_text("database_url: postgresql://x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="DATABASE_URL environment variable"):
        load_settings()
