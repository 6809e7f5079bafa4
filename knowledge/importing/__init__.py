"""The parts of `run_bot.py import colleges`, one job each: readers, rows, matching, writing, report."""
