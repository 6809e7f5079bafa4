"""What the load benchmarks print: one run's figures, and a bot beside its baseline."""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass

from load_harness import EncodeTiming, Late, RunResult, percentile
from load_launchers import counters_line


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds."""
    return f"{seconds * 1000:.0f} ms"


def print_if(line: str | None) -> None:
    """Print the line, if there is one."""
    if line:
        print(line, flush=True)


def print_run(result: RunResult) -> None:
    """Everything one run measured, as the load script has always printed it."""
    offered_as = "peak 10-s window" if result.offered_is_peak else "average"
    lines = [(f"{result.name}: {result.sent} messages in {result.took:.0f} s; offered {result.offered:.1f} msg/s "
              f"({offered_as}), achieved {result.achieved:.1f} msg/s; update→reply "
              f"p50 {ms(percentile(result.latencies, .5))}, p95 {ms(percentile(result.latencies, .95))}, "
              f"p99 {ms(percentile(result.latencies, .99))}; errors {result.errors}"), windows_line(result)]
    if result.overload_limit is not None:
        lines.append(f"  overloaded: stopped sending after {result.sending:.0f} s, with over "
                     f"{result.overload_limit:.0f} questions waiting")
    if result.saturation is not None:
        lines.append(f"  saturation rate: {result.saturation:.1f} msg/s answered during the {result.sending:g} s "
                     "of sending")
    late = late_line(result.late)
    lines += [late] if late else []
    if result.cpu is not None:
        lines.append(counters_line(*result.counters))
        # Other engineers' tests on the same cores make figures worse: this says how much they took.
        cpu = result.cpu
        idle = "" if cpu.idle is None else f"the idle bot {cpu.idle:.2f}, "
        others = cpu.machine - cpu.bot - cpu.own - (cpu.idle or 0.0)
        lines.append(f"  CPU, in cores of {os.cpu_count()}: bot {cpu.bot:.2f}, {idle}load script and fake server "
                     f"{cpu.own:.2f}, other processes {max(0.0, others):.2f}")
    print("\n".join(lines), flush=True)


def windows_line(result: RunResult, width: int = 20) -> str:
    """The rate and p95 of the questions sent in each `width`-second window of the run."""
    windows: dict[int, list[float]] = {}
    for sent_at, latency in result.timeline:
        windows.setdefault(int(sent_at // width) * width, []).append(latency)
    return f"  p95 by {width}-s window of sending: " + ", ".join(
        f"{start}-{start + width} s: {len(v) / width:.0f} msg/s, {ms(percentile(v, .95))}"
        for start, v in sorted(windows.items()))


def late_line(late: Late) -> str | None:
    """A line when the bot still owed replies after a run, none when it had answered everything at once."""
    if late.waited <= 1 and not late.missing:
        return None
    return (f"  after the run the bot still had replies due: waited {late.waited:.0f} s"
            + (f", {late.missing} never came" if late.missing else ""))


# --- a bot beside its baseline ------------------------------------------------------------------------------------

@dataclass
class Summary:
    """The repeats of one run on one bot, taken together: latencies pooled, rates per repeat."""

    latencies: list[float]
    achieved: list[float]
    saturation: list[float]
    cpu_ms_per_answer: float
    errors: int

    @classmethod
    def of(cls, results: list[RunResult]) -> Summary:
        answered = sum(r.answered for r in results)
        bot_seconds = sum(r.cpu.bot_seconds for r in results if r.cpu)
        return cls([x for r in results for x in r.latencies], [r.achieved for r in results],
                   [r.saturation for r in results if r.saturation is not None],
                   bot_seconds * 1000 / answered if answered else math.nan, sum(r.errors for r in results))


def spread(values: list[float]) -> str:
    """The mean, with the lowest and highest repeat when there are several."""
    if not values:
        return "—"
    mean = statistics.fmean(values)
    return f"{mean:.1f}" if len(values) == 1 else f"{mean:.1f} ({min(values):.1f}–{max(values):.1f})"


def change(current: float, baseline: float) -> str:
    """How much the current figure differs from the baseline's, in per cent of it."""
    if math.isnan(current) or math.isnan(baseline) or not baseline:
        return ""
    return f"{(current - baseline) / baseline * 100:+.0f} %"


def comparison_rows(name: str, current: Summary, baseline: Summary, encode: EncodeTiming | None
                    ) -> list[tuple[str, str, str, str]]:
    """Label, current, baseline and change for one run."""
    rows = []
    for share, label in ((.5, "p50"), (.95, "p95"), (.99, "p99")):
        ours, theirs = percentile(current.latencies, share) * 1000, percentile(baseline.latencies, share) * 1000
        rows.append((f"{name}: {label} ms", f"{ours:.0f}", f"{theirs:.0f}", change(ours, theirs)))
    for label, ours_all, theirs_all in (("achieved msg/s", current.achieved, baseline.achieved),
                                        ("saturation msg/s", current.saturation, baseline.saturation)):
        if ours_all or theirs_all:
            rows.append((f"{name}: {label}", spread(ours_all), spread(theirs_all),
                         change(statistics.fmean(ours_all or [math.nan]), statistics.fmean(theirs_all or [math.nan]))))
    rows.append((f"{name}: bot CPU ms per question", f"{current.cpu_ms_per_answer:.1f}",
                 f"{baseline.cpu_ms_per_answer:.1f}", change(current.cpu_ms_per_answer, baseline.cpu_ms_per_answer)))
    if encode is not None:
        rows.append((f"{name}: CPU per question in encodes", f"{current.cpu_ms_per_answer / encode.cpu_ms:.1f} ×",
                     f"{baseline.cpu_ms_per_answer / encode.cpu_ms:.1f} ×", ""))
    errors = current.errors + baseline.errors
    if errors:
        rows.append((f"{name}: errors", str(current.errors), str(baseline.errors), ""))
    return rows


def print_comparison(names: list[str], current: dict[str, list[RunResult]], baseline: dict[str, list[RunResult]],
                     labels: tuple[str, str], encode: EncodeTiming | None) -> None:
    """The side-by-side table of every run on both bots, and what one encode costs."""
    rows = [("", *labels, "change")]
    for name in names:
        rows += comparison_rows(name, Summary.of(current[name]), Summary.of(baseline[name]), encode)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print("\nside by side (latencies pooled over the repeats; rates: mean, lowest–highest repeat):", flush=True)
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))), flush=True)
    if encode is not None:
        print(f"one encode ({encode.model}, one question alone, in the load script, p50 of {encode.questions}): "
              f"CPU {encode.cpu_ms:.1f} ms, wall {encode.wall_ms:.1f} ms; 'CPU per question in encodes' is the "
              "bot's CPU per question answered divided by that CPU time", flush=True)
