"""Knowledge reloads run in the background, one at a time, while the bot keeps answering."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Protocol

from embeddings.index import Progress

log = logging.getLogger(__name__)


class KnowledgeReloader(Protocol):
    """Validates the knowledge files, reindexes and swaps the advisor; returns a report line.

    Raises knowledge.loader.KnowledgeError, naming the problems, when the files do not validate.
    """

    def __call__(self, progress: Progress) -> str: ...


class ReloadJob:
    """Holds the one reload task of the process, so it is neither started twice nor garbage-collected."""

    def __init__(self, reloader: KnowledgeReloader):
        self.reloader = reloader
        self.task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, job: Callable[[], Awaitable[None]]) -> bool:
        """Start `job` unless a reload is running; checking and starting happen with no await in between."""
        if self.busy:
            return False
        self.task = asyncio.create_task(job())
        self.task.add_done_callback(_log_failure)
        return True

    async def run(self, progress: Progress) -> str:
        """The reload itself, in a worker thread."""
        return await asyncio.to_thread(self.reloader, progress)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("reload task failed", exc_info=task.exception())
