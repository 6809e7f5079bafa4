"""What the web console works with, injected by app/wiring.py: the advisor, the stores, the knowledge folders and
the reload; and the one reload it tracks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from advisor.advisor import Advisor
from storage.console import ConsoleStore
from storage.shared import WorkerReport
from web.config import WebSettings

log = logging.getLogger(__name__)
ProgressCallback = Callable[[int, int], None]


@dataclass
class ReloadOutcome:
    """What every process of the bot said after a reload, and how many were expected to."""

    reports: list[WorkerReport]
    expected: int
    waited_seconds: float = 0.0  # how long a missing worker was waited for (workers mode)
    missing: list[str] = field(default_factory=list)


class ReloadKnowledge(Protocol):
    """Validate the knowledge files, reindex and swap in every process of the bot; reports progress as it goes."""

    def __call__(self, progress: ProgressCallback) -> Awaitable[ReloadOutcome]: ...


@dataclass
class Console:
    """Everything the pages use; built once by app/wiring.py."""

    advisor: Advisor
    store: ConsoleStore
    knowledge_dir: Path
    corpus_dir: Path
    reload: ReloadKnowledge
    generation: Callable[[], str]
    settings: WebSettings = field(default_factory=WebSettings)
    uploads: Path = Path("var/console-uploads")


@dataclass
class ReloadTracker:
    """The console's one reload at a time: its progress and, when done, its outcome or error."""

    done: int = 0
    total: int = 0
    started: float = 0.0
    outcome: ReloadOutcome | None = None
    error: str = ""
    _task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, reload: ReloadKnowledge) -> bool:
        """Start a reload unless one is running; False when one is."""
        if self.running:
            return False
        self.done = self.total = 0
        self.outcome, self.error, self.started = None, "", time.time()
        self._task = asyncio.create_task(self._run(reload))
        return True

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total  # two ints set from the reload's thread: read whole by the page

    async def _run(self, reload: ReloadKnowledge) -> None:
        try:
            self.outcome = await reload(self._progress)
        except Exception as exc:  # the old knowledge keeps serving; the page says so
            log.exception("reload from the console failed")
            self.error = str(exc) or exc.__class__.__name__
