"""The admins' overview: questions per day, answered share, intents, languages, votes, user counts, actions."""

from __future__ import annotations

from aiohttp import web

from web.auth import requires
from web.pages import CONSOLE, render

routes = web.RouteTableDef()
RECENT_ACTIONS = 30


@routes.get("/admin")
@requires("admin")
async def overview(request: web.Request) -> web.Response:
    console = request.app[CONSOLE]
    data = console.store.overview()
    shares = [(d["day"][5:], round(100 * d["share"])) for d in data["per_day"]]  # per cent answered, by day
    return render(request, "overview.html", data=data, shares=shares, actions=console.store.actions(RECENT_ACTIONS),
                  generation=console.generation(), most=max([d["questions"] for d in data["per_day"]] or [1]))
