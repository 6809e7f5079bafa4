"""Polling confirms an update only once it is handled: a stop never loses an update in progress."""

from __future__ import annotations

import asyncio

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from bot.polling import ConfirmingPoller
from fake_telegram import FakeTelegram


def slow_dispatcher(handled: list[str], slow_text: str, seconds: float) -> Dispatcher:
    """Handles a message by noting its text; the message `slow_text` takes `seconds`."""
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def note(message: Message) -> None:
        if message.text == slow_text:
            await asyncio.sleep(seconds)
        handled.append(message.text)

    return dispatcher


def bot_for(server: FakeTelegram) -> Bot:
    return Bot("123456:POLL", session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)))


async def poll_until(poller: ConfirmingPoller, done, timeout: float = 10) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    deadline = asyncio.get_running_loop().time() + timeout
    while not done() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task


async def test_an_update_cut_off_by_shutdown_is_delivered_again() -> None:
    server = FakeTelegram().start()
    bot = bot_for(server)
    try:
        for text in ("one", "two", "slow", "four"):
            server.send_text(1, text)
        handled: list[str] = []
        poller = ConfirmingPoller(slow_dispatcher(handled, "slow", 30), bot, ["message"], polling_timeout=1)
        await poll_until(poller, lambda: len(handled) == 3)
        assert sorted(handled) == ["four", "one", "two"]
        assert await poller.drain(timeout=0.2) == 1  # "slow" did not finish in time
        assert server.pending() >= 1  # … so Telegram still holds it

        again: list[str] = []
        restarted = ConfirmingPoller(slow_dispatcher(again, "never", 0), bot, ["message"], polling_timeout=1)
        await poll_until(restarted, lambda: "slow" in again)
        await restarted.drain(timeout=1)
        assert "slow" in again and "one" not in again and "two" not in again
        assert server.pending() == 0
    finally:
        await bot.session.close()
        server.stop()


async def test_updates_are_handled_concurrently_and_each_once() -> None:
    server = FakeTelegram().start()
    bot = bot_for(server)
    try:
        for n in range(30):
            server.send_text(n + 1, "slow" if n == 0 else f"q{n}")
        handled: list[str] = []
        poller = ConfirmingPoller(slow_dispatcher(handled, "slow", 1.0), bot, ["message"], polling_timeout=1)
        started = asyncio.get_running_loop().time()
        await poll_until(poller, lambda: len(handled) == 30)
        await poller.drain(timeout=1)
        # The slow first update did not hold up the others, and nothing was handled twice.
        assert handled.index("slow") == 29 and len(set(handled)) == 30
        assert asyncio.get_running_loop().time() - started < 5
        assert server.pending() == 0
    finally:
        await bot.session.close()
        server.stop()
