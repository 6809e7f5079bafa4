"""Feature routers of the bot, collected in a fixed order."""

from aiogram import Router


def all_routers() -> list[Router]:
    """Every feature router, most specific first; the fallback router comes last."""
    from bot.handlers import admin, commands, counsellor, fallback, questions, quiz, specialities, start

    return [admin.router, counsellor.router, start.router, quiz.router, commands.router, specialities.router,
            questions.router, fallback.router]
