"""Unanswered questions and flagged answers: label one into the corpus in two clicks, or mark it done."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from knowledge.intents import LABELS, LANGS, add_example
from web.auth import requires
from web.console import Console
from web.pages import CONSOLE, account_of, back_to, render, whole_number

routes = web.RouteTableDef()


@routes.get("/admin/review")
@requires("admin")
async def review(request: web.Request) -> web.Response:
    store = request.app[CONSOLE].store
    return render(request, "review.html", queue=store.review_queue(), flags=store.open_flags(), labels=LABELS,
                  added=request.query.get("added", "") if request.query.get("added") in LABELS else "")


@routes.post("/admin/review/label")
@requires("admin")
async def label_question(request: web.Request) -> web.Response:
    """Add an unanswered question to train/<intent>.yaml and take it off the list."""
    console, account = request.app[CONSOLE], account_of(request)
    row, intent = await _chosen(request, console.store.review_queue())
    added = _add_to_corpus(console, account.name, intent, row, done_action="review-done")
    console.store.mark_reviewed(row["id"], account.name, f"corpus:{intent}" if added else "done")
    raise _after_labelling(added, intent)


@routes.post("/admin/review/done")
@requires("admin")
async def question_done(request: web.Request) -> web.Response:
    console, form, account = request.app[CONSOLE], await request.post(), account_of(request)
    message_id = whole_number(form.get("id"))
    if message_id is None or not console.store.mark_reviewed(message_id, account.name, "done"):
        raise back_to("/admin/review", "not_found")
    console.store.log_action(account.name, "review-done", f"question {message_id}")
    raise back_to("/admin/review", "marked_done")


@routes.post("/admin/flags/label")
@requires("admin")
async def label_flag(request: web.Request) -> web.Response:
    """Add a flagged question to the corpus with the intent it really asks, and close the flag."""
    console, account = request.app[CONSOLE], account_of(request)
    flag, intent = await _chosen(request, console.store.open_flags())
    added = _add_to_corpus(console, account.name, intent, flag, done_action="flag-closed")
    console.store.close_flag(flag["id"], account.name)
    raise _after_labelling(added, intent)


@routes.post("/admin/flags/done")
@requires("admin")
async def flag_done(request: web.Request) -> web.Response:
    console, form, account = request.app[CONSOLE], await request.post(), account_of(request)
    flag_id = whole_number(form.get("id"))
    if flag_id is None or not console.store.close_flag(flag_id, account.name):
        raise back_to("/admin/review", "not_found")
    console.store.log_action(account.name, "flag-closed", f"flag {flag_id}")
    raise back_to("/admin/review", "marked_done")


async def _chosen(request: web.Request, listed: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The listed question the form names and the intent chosen for it; back to the list when either is unknown."""
    form = await request.post()
    item_id, intent = whole_number(form.get("id")), str(form.get("intent", ""))
    item = next((i for i in listed if i["id"] == item_id), None)
    if item is None or intent not in LABELS:
        raise back_to("/admin/review", "not_found")
    return item, intent


def _add_to_corpus(console: Console, name: str, intent: str, item: dict[str, Any], done_action: str) -> bool:
    """Append the question to train/<intent>.yaml and log it; False (logged as `done_action`) when it is there."""
    lang = item["lang"] if item["lang"] in LANGS else "ru"
    added = add_example(console.corpus_dir, intent, item["question"], lang)
    console.store.log_action(name, "corpus-add" if added else done_action, f"{intent}: {item['question']}")
    return added


def _after_labelling(added: bool, intent: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/admin/review?added={intent}") if added else back_to("/admin/review",
                                                                                    "already_in_corpus")

