"""Admins' knowledge page: the validation report, a college-list import previewed before it is written, and a
reload with live progress and every worker's report."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from pathlib import Path

from aiohttp import web

from knowledge.importer import ImporterError, ImportOptions, ImportReport, import_colleges
from knowledge.intents import load_corpus
from knowledge.loader import load_knowledge
from knowledge.regions import REGIONS
from web.auth import requires
from web.pages import CONSOLE, RELOAD, account_of, back_to, render, whole_number

routes = web.RouteTableDef()
UPLOAD_NAME = re.compile(r"[A-Za-z0-9_-]{20,60}\.(csv|xlsx)")  # what _keep_upload names files: nothing else is read
UPLOAD_KINDS = (".csv", ".xlsx")
UPLOAD_KEPT_SECONDS = 24 * 3600


@routes.get("/admin/knowledge")
@requires("admin")
async def knowledge_page(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    kb, corpus = await asyncio.to_thread(lambda: (load_knowledge(console.knowledge_dir),
                                                  load_corpus(console.corpus_dir)))
    errors = [p for p in kb.problems if p.severity == "error"]
    warnings = [p for p in kb.problems if p.severity != "error"]
    return render(request, "knowledge.html", kb=kb, errors=errors, warnings=warnings, corpus=corpus,
                  generation=console.generation(), regions=list(REGIONS), tracker=request.app[RELOAD])


@routes.post("/admin/knowledge/preview")
@requires("admin")
async def preview(request: web.Request) -> web.Response:
    """Save the uploaded list aside and show what importing it would add and change: nothing is written yet."""
    console, form = request.app[CONSOLE], await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename.lower().endswith(UPLOAD_KINDS):
        return _import_page(request, error_key="upload_kind")
    name = _keep_upload(console.uploads, upload)
    return await _import(request, name, dry_run=True)


@routes.post("/admin/knowledge/apply")
@requires("admin")
async def apply(request: web.Request) -> web.Response:
    """Import the previewed list for real (same file, same options), then offer the reload."""
    form = await request.post()
    name = str(form.get("upload", ""))
    if not UPLOAD_NAME.fullmatch(name) or not (request.app[CONSOLE].uploads / name).is_file():
        return _import_page(request, error_key="upload_gone")
    return await _import(request, name, dry_run=False)


async def _import(request: web.Request, upload: str, dry_run: bool) -> web.Response:
    console, form = request.app[CONSOLE], await request.post()
    source, as_of = str(form.get("source", "")).strip(), whole_number(form.get("as_of"))
    region = str(form.get("region", "")) if form.get("region") in REGIONS else None
    options = ImportOptions(console.uploads / upload, source=source, as_of=as_of, dry_run=dry_run, region=region)
    try:
        report = await asyncio.to_thread(import_colleges, console.knowledge_dir, options)
    except ImporterError as exc:
        return _import_page(request, error=str(exc))
    if not dry_run:
        (console.uploads / upload).unlink(missing_ok=True)
        account = account_of(request)
        console.store.log_action(account.name, "import", f"{upload}: {len(report.of('added'))} added, "
                                 f"{len(report.of('changed'))} changed; wrote {', '.join(report.written) or '-'}")
    return _import_page(request, report=report, upload=upload, source=source, as_of=as_of or "", region=region or "")


def _import_page(request: web.Request, report: ImportReport | None = None, error: str = "", error_key: str = "",
                 **kept: object) -> web.Response:
    return render(request, "import.html", status=200 if report else 400, report=report, error=error,
                  error_key=error_key, kept=kept)


def _keep_upload(folder: Path, upload: web.FileField) -> str:
    """Store the upload under a random name of our own (never the browser's file name); returns that name.
    Lists previewed a day ago and never applied are deleted then."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if UPLOAD_NAME.fullmatch(old.name) and time.time() - old.stat().st_mtime > UPLOAD_KEPT_SECONDS:
            old.unlink(missing_ok=True)
    name = secrets.token_urlsafe(24) + Path(upload.filename).suffix.lower()
    (folder / name).write_bytes(upload.file.read())
    return name


@routes.post("/admin/knowledge/reload")
@requires("admin")
async def start_reload(request: web.Request) -> web.Response:
    console, account = request.app[CONSOLE], account_of(request)
    if not request.app[RELOAD].start(console.reload):
        raise back_to("/admin/knowledge/reload", "reload_busy")
    console.store.log_action(account.name, "reload")
    raise web.HTTPSeeOther("/admin/knowledge/reload")


@routes.get("/admin/knowledge/reload")
@requires("admin")
async def reload_status(request: web.Request) -> web.Response:
    return render(request, "reload.html", tracker=request.app[RELOAD], generation=request.app[CONSOLE].generation())
