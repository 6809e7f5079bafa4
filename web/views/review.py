"""Unanswered questions and flagged answers: label one into the corpus in two clicks, or mark it done."""

from __future__ import annotations

from aiohttp import web

from knowledge.intents import LABELS, LANGS, add_example
from web.auth import requires
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
    console, form, account = request.app[CONSOLE], await request.post(), account_of(request)
    message_id, intent = whole_number(form.get("id")), str(form.get("intent", ""))
    row = next((r for r in console.store.review_queue() if r["id"] == message_id), None)
    if row is None or intent not in LABELS:
        raise back_to("/admin/review", "not_found")
    added = add_example(console.corpus_dir, intent, row["question"], row["lang"] if row["lang"] in LANGS else "ru")
    console.store.mark_reviewed(row["id"], account.name, f"corpus:{intent}" if added else "done")
    console.store.log_action(account.name, "corpus-add" if added else "review-done", f"{intent}: {row['question']}")
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
    console, form, account = request.app[CONSOLE], await request.post(), account_of(request)
    flag_id, intent = whole_number(form.get("id")), str(form.get("intent", ""))
    flag = next((f for f in console.store.open_flags() if f["id"] == flag_id), None)
    if flag is None or intent not in LABELS:
        raise back_to("/admin/review", "not_found")
    added = add_example(console.corpus_dir, intent, flag["question"], flag["lang"] if flag["lang"] in LANGS else "ru")
    console.store.close_flag(flag["id"], account.name)
    console.store.log_action(account.name, "corpus-add" if added else "flag-closed", f"{intent}: {flag['question']}")
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


def _after_labelling(added: bool, intent: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/admin/review?added={intent}") if added else back_to("/admin/review",
                                                                                    "already_in_corpus")

