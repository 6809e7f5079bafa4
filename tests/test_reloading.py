"""/reload runs one reload at a time in the background, and keeps hold of its task."""

from __future__ import annotations

import threading

from bot.reloading import ReloadJob


async def test_a_second_reload_is_refused_while_one_runs_and_allowed_after() -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow_reload(progress) -> str:
        calls.append(1)
        release.wait(5)
        return "done"

    job = ReloadJob(slow_reload)
    results: list[str] = []

    async def reload_and_note() -> None:
        results.append(await job.run(lambda done, total: None))

    assert job.start(reload_and_note) is True
    assert job.start(reload_and_note) is False and job.busy
    release.set()
    await job.task
    assert results == ["done"] and calls == [1] and not job.busy
    assert job.start(reload_and_note) is True
    await job.task
    assert results == ["done", "done"]
