"""/start, /help, /lang and the main-menu buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.keyboards import MenuAction, main_menu
from bot.rendering import conversation_of
from bot.texts import t
from storage.base import UserStore

router = Router(name=__name__)


@router.message(CommandStart())
async def start(message: Message, lang: str, state: FSMContext) -> None:
    await conversation_of(state).clear()  # /start begins a new conversation
    await message.answer(t("start", lang), reply_markup=main_menu(lang))


@router.message(Command("help"))
async def help_(message: Message, lang: str) -> None:
    await message.answer(t("help", lang), reply_markup=main_menu(lang))


@router.message(Command("lang"))
async def switch_language(message: Message, lang: str, store: UserStore) -> None:
    new = "ru" if lang == "kk" else "kk"
    store.update_profile(message.from_user.id, lang=new)
    await message.answer(t("lang_set", new), reply_markup=main_menu(new))


@router.callback_query(MenuAction.filter(F.route == "lang"))
async def switch_language_button(callback: CallbackQuery, lang: str, store: UserStore) -> None:
    new = "ru" if lang == "kk" else "kk"
    store.update_profile(callback.from_user.id, lang=new)
    await callback.answer()
    await callback.message.answer(t("lang_set", new), reply_markup=main_menu(new))


@router.callback_query(MenuAction.filter(F.route.in_({"suggest", "colleges"})))
async def prompt_for_route(callback: CallbackQuery, callback_data: MenuAction, lang: str) -> None:
    await callback.answer()
    await callback.message.answer(t(f"{callback_data.route}_prompt", lang))
