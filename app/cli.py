"""Command-line interface for counsellors and admins: validate, ask, console, reindex, eval."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np
from redis.exceptions import RedisError

from advisor.advisor import Advisor
from advisor.answer import Answer
from app.config import ConfigError, Settings
from app.logs import setup_logging
from app.wiring import (
    build_advisor,
    build_corpus,
    build_embeddings,
    build_home,
    build_index,
    build_intent_model,
    build_knowledge,
    build_retriever,
    build_settings,
    build_user_store,
    console_store,
    limit_malloc_arenas,
    question_vectors,
    serve_bot,
    serve_console_alone,
)
from bot.app import BadToken
from bot.runner import BotApiUnreachable, CannotListen
from embeddings.index import IndexUnavailable
from embeddings.model import EmbeddingModelError
from knowledge.intents import Example, load_corpus
from knowledge.loader import KnowledgeError, load_knowledge
from storage.base import StoreError
from storage.postgres import DatabaseUnavailableError
from web.server import CannotServeConsole

log = logging.getLogger(__name__)
DEFAULT_TEST_PART = Path("tests/eval/intents")

# Exit codes a supervisor can act on (sysexits.h): a restart cannot fix the first kind, and may fix the second.
EXIT_CONFIG = 78  # EX_CONFIG: a setting, the token, a knowledge file or the database's version is wrong
EXIT_TEMPFAIL = 75  # EX_TEMPFAIL: the Bot API, Redis or PostgreSQL could not be reached for now
PASSING = (BotApiUnreachable, DatabaseUnavailableError, IndexUnavailable, RedisError, OSError)
# Checked after PASSING: an unreachable database is a StoreError too.
NEEDS_A_PERSON = (ConfigError, KnowledgeError, EmbeddingModelError, BadToken, StoreError, CannotListen,
                  CannotServeConsole)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser with one subcommand per job."""
    parser = argparse.ArgumentParser(prog="run_bot.py", description=(
        "Career-guidance assistant for Kazakhstan's college applicants. With no command: the Telegram bot "
        "when BOT_TOKEN is set, a console chat otherwise."))
    parser.add_argument("--config", type=Path, help="the config file (default: CONFIG_FILE, else config.yaml in the "
                                                    "project folder or the current folder)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("bot", help="run the Telegram bot (needs BOT_TOKEN)")
    sub.add_parser("console", help="chat with the advisor in the terminal")
    validate = sub.add_parser("validate", help="check the knowledge base")
    validate.add_argument("--json", action="store_true", help="print a JSON report")
    ask = sub.add_parser("ask", help="answer a question (or '-' to read one question a line from stdin)")
    ask.add_argument("question")
    ask.add_argument("--lang", choices=["ru", "kk"])
    ask.add_argument("--grade", type=int, choices=[9, 11])
    ask.add_argument("--city")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question, one a line")
    ask.add_argument("--dialogue", action="store_true",
                     help="the argument is a file (or '-') of one chat, one message a line: replay it as one chat")
    sub.add_parser("reindex", help="validate, then bring the vector index up to date")
    evaluate = sub.add_parser("eval", help="run a question set and print hit@1, hit@3 and MRR")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--json", action="store_true")
    intents = sub.add_parser("eval-intents", help="the intent model on the dev and test parts of the corpus",
                             description="Train on train and report dev; train on train + dev (the shipped model) "
                                         "and report the held-out test part: accuracy and macro-F1 per language "
                                         "(ru, kk, kk in Latin letters), confusions, crisis recall and precision.")
    intents.add_argument("--test", type=Path, default=DEFAULT_TEST_PART, help="the held-out test part (a folder "
                                                                              "of <intent>.yaml)")
    intents.add_argument("--tune", action="store_true", help="search the model settings on dev only, best first")
    intents.add_argument("--json", action="store_true", help="print one JSON object")
    add_import_parser(sub)
    sub.add_parser("web", help="run the web console for counsellors and admins alone (without the Telegram bot)")
    add_user_parser(sub)
    return parser


def add_user_parser(sub: argparse._SubParsersAction) -> None:
    """`user add NAME --role R` and `user password NAME`: web console accounts."""
    user = sub.add_parser("user", help="web console accounts",
                          description="Create a console account or set a new password. The password is asked twice "
                                      "at the terminal (never given as an argument, where other users of the machine "
                                      "could read it), or read as one line from stdin with --password-stdin.")
    actions = user.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=["counsellor", "admin"], required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    password = actions.add_parser("password", help="set a new password (signs the account out everywhere)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def add_import_parser(sub: argparse._SubParsersAction) -> None:
    """`import colleges FILE`: a regional college list (CSV or XLSX) into the knowledge base."""
    importer = sub.add_parser("import", help="import a college list (CSV or XLSX) into the knowledge base",
                              description="Read a college list, print what it adds or changes and the rows it "
                                          "cannot use, and write the colleges as a knowledge file.",
                              epilog="Speciality codes that are not 8 digits or not in the knowledge base are left "
                                     "out and reported, never guessed. Colleges already in a hand-written file are "
                                     "reported, not changed. Exit code 0: imported (bad rows reported), 1: no row "
                                     "could be imported, 2: a wrong option or an unreadable file.")
    importer.add_argument("what", choices=["colleges"])
    importer.add_argument("file", type=Path, help="the list: .xlsx, or .csv in UTF-8 or Windows-1251 separated "
                                                   "by commas, semicolons or tabs")
    importer.add_argument("--source", default="", help="the list's citation as users read it, in Russian: the "
                                                       "document's title or the page's address (required unless "
                                                       "the list has a source column)")
    importer.add_argument("--as-of", type=int, help="the year the list holds for (required unless the list has a "
                                                    "year column)")
    importer.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    importer.add_argument("--map", action="append", default=[], metavar="FIELD=HEADER",
                          help="the column holding a field (name, city, region, address, specialities, "
                               "ownership, website, phone); repeat for several")
    importer.add_argument("--region", help="the region of rows that name none (or of a list without a region "
                                           "column)")
    importer.add_argument("--sheet", help="the Excel sheet to read (default: the first)")
    importer.add_argument("--out", type=Path, help="the knowledge file to write or merge into (default: "
                                                   "colleges/imported-<region>.yaml in the knowledge folder)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; problems are reported in a sentence and a non-zero exit, never a traceback."""
    args = build_parser().parse_args(argv)
    if args.config is not None:  # through the environment, so that every part (and a child process) reads it
        os.environ["CONFIG_FILE"] = str(args.config.resolve())
    try:
        settings = build_settings()
        setup_logging(settings.log_level, settings.secrets())
        command = args.command or ("bot" if settings.bot_token else "console")
        return COMMANDS[command](settings, args)
    except PASSING as exc:
        print(f"error, possibly passing: {exc or exc.__class__.__name__}", file=sys.stderr)
        return EXIT_TEMPFAIL
    except NEEDS_A_PERSON as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def cmd_validate(settings: Settings, args: argparse.Namespace) -> int:
    kb = load_knowledge(settings.resolve(settings.knowledge.path))
    corpus = load_corpus(settings.resolve(settings.intents.corpus_path))
    sizes = {split: len(corpus.examples(split)) for split in ("train", "dev")}
    summary = kb.summary()
    if args.json:
        summary["ok"] = kb.ok and corpus.ok
        summary["intents"] = {"sizes": sizes, "per_intent": corpus.counts(), "problems": corpus.problems}
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        for problem in [*kb.problems, *(f"intent corpus: {p}" for p in corpus.problems)]:
            print(problem)
        print("colleges per region: " + ", ".join(f"{r} {n}" for r, n in summary["colleges_per_region"].items()))
        names = summary["kazakh_names"]
        print(f"Kazakh speciality names: {names['present']} of {names['present'] + names['missing']}; "
              f"records older than five years: {summary['old_records']}")
        counts = ", ".join(f"{kind} {n}" for kind, n in kb.counts().items())
        print(f"{'OK' if kb.ok and corpus.ok else 'FAILED'}: {counts}; regions {len(kb.regions())}; "
              f"labelled messages: train {sizes['train']}, dev {sizes['dev']}; "
              f"{sum(p.severity == 'error' for p in kb.problems) + len(corpus.problems)} errors, "
              f"{sum(p.severity == 'warning' for p in kb.problems)} warnings")
    return 0 if kb.ok and corpus.ok else 1


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    advisor = build_advisor(settings)
    if args.dialogue:
        return replay_dialogue(advisor, args.question, args.json)
    questions = (line.strip() for line in sys.stdin) if args.question == "-" else iter([args.question])
    for question in questions:
        if args.question == "-" and not question:
            continue
        answer = advisor.ask(question, lang=args.lang, grade=args.grade, city=args.city)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            print(format_for_terminal(answer), flush=True)
    return 0


def replay_dialogue(advisor: Advisor, path: str, as_json: bool) -> int:
    """Hold a whole chat from a file (one message a line, '-' for stdin), as the bot would, turn by turn."""
    try:
        lines = (sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")).splitlines()
    except OSError as exc:
        print(f"error: cannot read the dialogue {path}: {exc.strerror}", file=sys.stderr)
        return 2
    conversation = None
    for line in (line.strip() for line in lines):
        if not line or line.startswith("#"):
            continue
        answer, conversation = advisor.converse(line, conversation)
        print(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else f"> {line}\n"
              f"{format_for_terminal(answer)}\n", flush=True)
    return 0


def cmd_console(settings: Settings, args: argparse.Namespace, stdin: TextIO = sys.stdin) -> int:
    print("Загружаю базу знаний… / Білім базасын жүктеп жатырмын…", flush=True)
    advisor = build_advisor(settings)
    print("Напишите вопрос (пустая строка или Ctrl+D — выход). / Сұрағыңызды жазыңыз (бос жол — шығу).")
    conversation = None  # the console remembers the chat for as long as it runs, like the bot
    for line in stdin:
        if not line.strip():
            break
        answer, conversation = advisor.converse(line.strip(), conversation)
        print(format_for_terminal(answer) + "\n", flush=True)
    return 0


def cmd_reindex(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    kb = build_knowledge(settings)
    home = build_home(settings, build_embeddings(settings))
    bar = tqdm(total=0, unit="record", desc="reindex")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        index, report = build_index(kb, home, progress)
        bar.close()
        print(report or "index is already up to date with the knowledge base")
        # The intent corpus's vectors are cached beside the index: a start or /reload then trains in seconds.
        model = build_intent_model(settings, build_retriever(settings, kb, index))
        print(f"intent model: {len(model.labels)} intents learnt; corpus vectors cached beside the index")
    finally:
        bar.close()
        home.close()
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from advisor import evaluation

    advisor = build_advisor(settings)
    if evaluation.is_conversation_file(args.file):
        report = evaluation.evaluate_conversations(advisor, evaluation.load_conversation_cases(args.file))
        text = evaluation.format_conversation_report(report)
    else:
        report = evaluation.evaluate(advisor, evaluation.load_cases(args.file))
        text = evaluation.format_report(report)
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else text)
    return 0


def cmd_eval_intents(settings: Settings, args: argparse.Namespace) -> int:
    from advisor import intent_evaluation
    from advisor.fields import FieldModel, field_texts
    from advisor.intents import IntentModel
    from knowledge.intents import CorpusError, load_test_part

    corpus = build_corpus(settings)
    kb = build_knowledge(settings)
    index, _ = build_index(kb, build_home(settings, build_embeddings(settings)))
    retriever = build_retriever(settings, kb, index)

    def vectors(examples: Sequence[Example]) -> np.ndarray:
        return question_vectors(settings, retriever, [e.text for e in examples])

    train, dev = corpus.examples("train"), corpus.examples("dev")
    if args.tune:
        rows = intent_evaluation.tune(train, dev, vectors, settings.intents)
        intents = IntentModel.train(train, vectors(train), settings.intents)
        texts, groups = field_texts(train, kb)
        field_vectors = question_vectors(settings, retriever, texts)
        for weight in intent_evaluation.FIELD_WEIGHTS:  # the field model's weight, on dev's interest messages
            fields = FieldModel.train(texts, groups, field_vectors, settings.fields.model_copy(update={"weight": weight}))
            report = intent_evaluation.field_report(kb, retriever, intents, fields, dev)
            rows.append({"field_weight": weight, **{lang: report[lang]["first_in_field"] for lang in ("ru", "kk")}})
        print(json.dumps(rows, indent=1) if args.json else "\n".join(json.dumps(r) for r in rows))
        return 0
    try:
        test = load_test_part(settings.resolve(args.test))
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = intent_evaluation.evaluate_intents(train, dev, test, vectors, settings.intents)
    # The first suggestion's field, through the whole advisor: dev with models trained on train, test shipped.
    for part, seen, examples in (("dev", train, dev), ("test", [*train, *dev], test)):
        texts, groups = field_texts(seen, kb)
        fields = FieldModel.train(texts, groups, question_vectors(settings, retriever, texts), settings.fields)
        intents = IntentModel.train(seen, vectors(seen), settings.intents)
        result[part]["fields"] = intent_evaluation.field_report(kb, retriever, intents, fields, examples)
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else intent_evaluation.format_report(result))
    return 0


def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.bot_token:
        raise ConfigError("set the BOT_TOKEN environment variable to run the Telegram bot")
    if settings.telegram.mode == "webhook" and not settings.telegram.webhook_url.startswith("https://"):
        # An empty address would make setWebhook remove the webhook: the bot would then get nothing at all.
        raise ConfigError("telegram.mode webhook needs telegram.webhook_url (TELEGRAM__WEBHOOK_URL), the public "
                          "https:// address Telegram sends updates to")
    limit_malloc_arenas()
    asyncio.run(serve_bot(settings))
    return 0


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from knowledge.importer import ImporterError, ImportOptions, import_colleges, parse_mapping

    try:
        options = ImportOptions(file=args.file, source=args.source, as_of=args.as_of, dry_run=args.dry_run,
                                mapping=parse_mapping(args.map), region=args.region, out=args.out,
                                sheet=args.sheet)
        report = import_colleges(settings.resolve(settings.knowledge.path), options)
    except ImporterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    return report.exit_code


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    limit_malloc_arenas()
    asyncio.run(serve_console_alone(settings))
    return 0


def cmd_user(settings: Settings, args: argparse.Namespace) -> int:
    from storage.console import AccountExists
    from web.auth import WeakPassword, hash_password

    password = _read_password(args.password_stdin, sys.stdin)
    try:
        password_hash = hash_password(password)
    except WeakPassword as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    store = build_user_store(settings)
    try:
        console = console_store(store)
        if args.action == "add":
            try:
                console.add_account(args.name, args.role, password_hash)
            except AccountExists as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            console.log_action("cli", "account-created", f"{args.name} ({args.role})")
            print(f"created {args.role} {args.name!r}: sign in at http://{settings.web.listen}:{settings.web.port}/")
        elif not console.set_password(args.name, password_hash):
            print(f"error: there is no console account named {args.name!r}", file=sys.stderr)
            return 1
        else:
            console.log_action("cli", "password-set", args.name)
            print(f"new password set for {args.name!r}; its sessions have ended")
    finally:
        store.close()
    return 0


def _read_password(from_stdin: bool, stdin: TextIO) -> str:
    """The new password: one line of stdin, or typed twice at the terminal without echo."""
    if from_stdin:
        return stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ConfigError("the two passwords differ; nothing was changed")
    return first


def format_for_terminal(answer: Answer) -> str:
    """The answer text with a one-line header for counsellors."""
    return f"[{answer.lang}, {answer.intent}]\n{answer.answer}"


COMMANDS = {"validate": cmd_validate, "ask": cmd_ask, "console": cmd_console, "reindex": cmd_reindex,
            "eval": cmd_eval, "eval-intents": cmd_eval_intents, "bot": cmd_bot, "import": cmd_import, "web": cmd_web,
            "user": cmd_user}
