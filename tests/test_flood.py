"""Flood control: a global send rate, and 429 answers retried after retry_after in each chat's order."""

from __future__ import annotations

import asyncio

from bot.app import build_bot
from bot.config import FloodSettings, TelegramSettings
from bot.flood import SendPace
from bot.monitoring import Metrics
from fake_telegram import FakeTelegram


def test_send_pace_spreads_a_burst_over_time() -> None:
    now = [100.0]
    pace = SendPace(25, clock=lambda: now[0])
    waits = [pace.reserve() for _ in range(51)]
    assert waits[0] == 0 and abs(waits[25] - 1.0) < 1e-9 and abs(waits[50] - 2.0) < 1e-9
    now[0] += 10  # after a quiet spell the next message goes at once
    assert pace.reserve() == 0


async def test_messages_refused_with_429_are_retried_and_keep_their_order() -> None:
    server = FakeTelegram().start()
    metrics = Metrics()
    bot = build_bot("123456:FLOOD", TelegramSettings(api_base=server.base_url), FloodSettings(), metrics)
    try:
        server.flood(2, retry_after=1)
        await asyncio.gather(*(bot.send_message(77, f"part {n}") for n in range(1, 4)))
    finally:
        await bot.session.close()
        server.stop()
    assert [s.text for s in server.sent if s.chat_id == 77] == ["part 1", "part 2", "part 3"]
    assert len(server.refused) == 2
    assert metrics.flood_waits._value.get() == 2


async def test_other_chats_are_not_held_up_by_one_chat_waiting() -> None:
    server = FakeTelegram().start()
    bot = build_bot("123456:FLOOD", TelegramSettings(api_base=server.base_url), FloodSettings(), Metrics())
    try:
        server.flood(1, retry_after=2)
        first = asyncio.create_task(bot.send_message(1, "waits"))
        await asyncio.sleep(0.3)  # chat 1 is now waiting out its retry_after
        await asyncio.wait_for(bot.send_message(2, "goes through"), timeout=1.5)
        await first
    finally:
        await bot.session.close()
        server.stop()
    assert [s.text for s in server.sent] == ["goes through", "waits"]


async def test_a_connection_the_server_closed_is_retried_once_other_network_errors_are_not() -> None:
    from aiogram.exceptions import TelegramNetworkError
    from aiogram.methods import SendMessage
    from aiohttp import ClientConnectorError, ServerDisconnectedError

    from bot.flood import FloodControl

    def failing(*causes: BaseException):
        calls = []

        async def make_request(bot, method):
            calls.append(method)
            if len(calls) <= len(causes):
                raise TelegramNetworkError(method=method, message="network") from causes[len(calls) - 1]
            return "sent"
        return make_request, calls

    control = FloodControl(per_second=1000, max_retries=5)
    method = SendMessage(chat_id=1, text="hi")
    make_request, calls = failing(ServerDisconnectedError())
    assert await control(make_request, None, method) == "sent" and len(calls) == 2
    make_request, calls = failing(ServerDisconnectedError(), ServerDisconnectedError())
    try:
        await control(make_request, None, method)
        raise AssertionError("a second disconnect must not be retried")
    except TelegramNetworkError:
        assert len(calls) == 2
    make_request, calls = failing(ClientConnectorError.__new__(ClientConnectorError))
    try:
        await control(make_request, None, method)
        raise AssertionError("an unreachable server is not retried here")
    except TelegramNetworkError:
        assert len(calls) == 1
