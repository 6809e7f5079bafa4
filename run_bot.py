"""Entry point: the Telegram bot, or with a subcommand the console chat and the counsellor and admin tools."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
