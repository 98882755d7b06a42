"""What certification runs print and log: item lines, the summary by badge, and the final
report and log file of `myia recertify` (seed 002's layout, in English)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.markup import escape

from myia.certification.schemas import JobItemPublic
from myia.certification.scoring import Badge
from myia.certification.spend import BUDGET, UNPRICED
from myia.db.enums import JobItemStatus

WIDE = "=" * 80
THIN = "─" * 80
BADGE_STARS = {
    Badge.PREMIUM.value: 5,
    Badge.RECOMMENDED.value: 4,
    Badge.FUNCTIONAL.value: 3,
    Badge.LIMITED.value: 2,
    Badge.UNSTABLE.value: 1,
    Badge.FAILED.value: 0,
}
BADGE_ICON = {"PREMIUM": "🏆", "RECOMMENDED": "👍", "FUNCTIONAL": "✔️", "LIMITED": "⚠️"}


def stars(count: int) -> str:
    return "★" * count + "☆" * (5 - count)


def rating_stars(rating: float | None) -> str:
    return stars(max(0, min(5, round(rating or 0))))


def duration(seconds: float | None) -> str:
    """`2.3s`, `35s`, `10m 30s`, `1h 02m`."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def error_of(item: JobItemPublic) -> str:
    return item.last_error or item.error or item.outcome or "unknown error"


def failure_reason(item: JobItemPublic, width: int = 70) -> str:
    """The error category that ended the run, else the first failed test's reason."""
    if item.outcome and item.outcome != "FAILED":
        return item.outcome
    reason = error_of(item)
    return reason if len(reason) <= width else reason[: width - 1] + "…"


def tool_figures(accuracy: float | None, f1: float | None) -> str | None:
    """`tools 80% valid, F1 1.00` — the tool battery's figures, when it ran."""
    if accuracy is None and f1 is None:
        return None
    shown = "n/a" if accuracy is None else f"{accuracy:.0%}"
    return f"tools {shown} valid, F1 {f1 or 0:.2f}"


def latency_figures(p50: float | None, p95: float | None) -> str:
    if p50 is None:
        return "—"
    return f"p50 {p50:.0f}ms, p95 {p95 if p95 is not None else p50:.0f}ms"


def _extras(item: JobItemPublic) -> str:
    parts = [tool_figures(item.tool_schema_accuracy, item.tool_trigger_f1)]
    if item.transient_errors:
        parts.append(f"{item.transient_errors} transient errors absorbed")
    parts.append(cost_text(item))
    shown = [p for p in parts if p]
    return f" ({'; '.join(shown)})" if shown else ""


def item_line(item: JobItemPublic, index: int, total: int) -> str:
    """`[1/120] ✅ anthropic.claude… @ us-east-1 (2.3s) - CERTIFIED ★★★★★ PREMIUM` (markup).

    A FAILED item shows no stars and no rating: its rating is 0 by rule."""
    where = f"{escape(item.deployment_id)} @ {item.region}"
    took = duration(item.duration_s)
    head = f"[{index}/{total}]"
    if item.status is JobItemStatus.COMPLETED:
        badge = item.badge or "—"
        rated = f"{stars(BADGE_STARS.get(badge, 0))} {badge}"
        colour = "green" if item.outcome == "CERTIFIED" else "yellow"
        return f"{head} ✅ {where} ({took}) - [{colour}]{item.outcome}[/{colour}] {rated}" + escape(
            _extras(item)
        )
    if item.status is JobItemStatus.FAILED:
        spent = cost_text(item)
        reason = escape(failure_reason(item) + (f"; {spent}" if spent else ""))
        return f"{head} ❌ {where} ({took}) - [red]FAILED[/red] ({reason})"
    if item.outcome == BUDGET:
        return f"{head} 💰 {where} - [yellow]not started: budget[/yellow]"
    return f"{head} ⏭️  {where} - {item.status.value}"


def usd(amount: float | None) -> str:
    return "unknown" if amount is None else f"${amount:.6f}".rstrip("0").rstrip(".")


def cost_text(item: JobItemPublic) -> str:
    """`$0.0012`, `cost unknown (unpriced)`, or nothing before any call."""
    if item.cost_usd is None and item.cost_reason:
        return f"cost unknown ({item.cost_reason})"
    return f"{usd(item.cost_usd)}" if item.cost_usd else ""


def spend_lines(items: list[JobItemPublic], max_cost: float | None) -> list[str]:
    """What a run spent, under which cap, and what it left uncertified for budget."""
    spent = sum(i.cost_usd or 0.0 for i in items)
    cap = f" of a {usd(max_cost)} cap" if max_cost is not None else ""
    lines = ["", "💰 Spend:", f"   Spent:     {usd(spent)}{cap}"]
    unpriced = [i for i in items if i.cost_reason == UNPRICED]
    if unpriced:
        lines.append(f"   Unpriced:  {len(unpriced)} item(s), cost unknown (not counted)")
    budget = [i for i in items if i.outcome == BUDGET]
    if budget:
        lines.append(f"   Left uncertified for budget: {len(budget)} item(s)")
        lines += [f"     - {escape(i.deployment_id)} @ {i.region}" for i in budget]
    return lines


@dataclass
class RunSummary:
    """A finished (or interrupted) run's items, counted the way the reports show them."""

    items: list[JobItemPublic]
    elapsed_s: float
    succeeded: list[JobItemPublic] = field(init=False)
    failed: list[JobItemPublic] = field(init=False)
    skipped: int = field(init=False)

    def __post_init__(self) -> None:
        self.succeeded = [i for i in self.items if i.status is JobItemStatus.COMPLETED]
        self.failed = [i for i in self.items if i.status is JobItemStatus.FAILED]
        self.skipped = len(self.items) - len(self.succeeded) - len(self.failed)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def finished(self) -> int:
        return len(self.succeeded) + len(self.failed)

    @property
    def average_s(self) -> float | None:
        return self.elapsed_s / self.finished if self.finished else None

    def by_badge(self) -> dict[str, int]:
        counts = Counter(i.badge or Badge.FAILED.value for i in self.succeeded)
        counts[Badge.FAILED.value] += len(self.failed)
        return {badge: counts.get(badge, 0) for badge in BADGE_STARS}


def summary_lines(summary: RunSummary, headline: str) -> list[str]:
    """The end of `myia certify` (seed 000 §4.4): totals, duration, counts per badge."""
    lines = ["", "=" * 60, "📊 FINAL REPORT", "=" * 60, "", headline, "", "📈 Statistics:"]
    s, ok, ko = summary, len(summary.succeeded), len(summary.failed)
    lines += [
        f"   Total:     {s.total} items",
        f"   Success:   {ok} ({percent(ok, s.total)})",
        f"   Failure:   {ko} ({percent(ko, s.total)})",
    ]
    if s.skipped:
        lines.append(f"   Not run:   {s.skipped}")
    lines += [f"   Duration:  {duration(s.elapsed_s)}", "", "⭐ By rating:"]
    for badge, count in s.by_badge().items():
        shown = stars(BADGE_STARS[badge]) if badge != Badge.FAILED.value else "❌   "
        lines.append(f"   {shown} {badge + ':':<13} {count}")
    return lines


def recertify_report(summary: RunSummary, log_path: Path | None) -> list[str]:
    """Seed 002's final report: statistics, certified models, failures, the log's path."""
    s = summary
    lines = ["", WIDE, "📊 RECERTIFICATION FINAL REPORT", WIDE, "", "📈 OVERALL STATISTICS:", THIN]
    lines += [
        f"  Total items:          {s.total}",
        f"  ✅ Success:           {len(s.succeeded)} ({percent(len(s.succeeded), s.total)})",
        f"  ❌ Failure:           {len(s.failed)} ({percent(len(s.failed), s.total)})",
        f"  ⏭️  Skipped:           {s.skipped}",
        f"  ⏱️  Total time:        {duration(s.elapsed_s)}",
        f"  ⏱️  Average per item:  {duration(s.average_s)}",
    ]
    if s.succeeded:
        lines += ["", "✅ MODELS CERTIFIED SUCCESSFULLY:", THIN]
        for n, item in enumerate(s.succeeded, start=1):
            badge = item.badge or "—"
            lines += [
                f"{n}. {escape(item.deployment_id)} @ {item.region}",
                f"   Status: {item.outcome}",
                f"   Rating: {stars(BADGE_STARS.get(badge, 0))} {item.rating or 0:.1f}",
                f"   Badge: {BADGE_ICON.get(badge, '•')} {badge}",
                f"   Success Rate: {100 * (item.success_rate or 0):.1f}%",
                f"   Latency: {latency_figures(item.latency_p50_ms, item.latency_p95_ms)}",
            ]
            tools = tool_figures(item.tool_schema_accuracy, item.tool_trigger_f1)
            if tools:
                lines.append(f"   Tool calls: {tools}")
            if item.transient_errors:
                lines.append(f"   Transient errors absorbed: {item.transient_errors}")
            lines.append(f"   Attempts: {item.attempts}")
    if s.failed:
        lines += ["", "❌ MODELS THAT FAILED:", THIN]
        for n, item in enumerate(s.failed, start=1):
            lines += [
                f"{n}. {escape(item.deployment_id)} @ {item.region}",
                f"   Error: {escape(error_of(item))}",
            ]
            if item.partial_rating:
                lines.append(f"   Rating: 0 (partial score {item.partial_rating:.1f})")
            lines.append(f"   Attempts: {item.attempts}")
    lines += ["", WIDE]
    if log_path is not None:
        lines += ["", f"💾 Log saved to: {log_path}"]
    return lines


def log_file_name(now: datetime) -> str:
    return f"recertification-{now:%Y-%m-%d-%H-%M-%S}.log"


def write_log(
    path: Path,
    *,
    settings: dict[str, object],
    summary: RunSummary,
    started: datetime,
    finished: datetime,
) -> Path:
    """The persistent log of seed 002: settings, totals and one block per item, with
    `Status: success|failed|skipped` lines to grep."""
    s = summary
    lines = [
        "MyIA recertification log",
        f"Started:  {started.isoformat(timespec='seconds')}",
        f"Finished: {finished.isoformat(timespec='seconds')}",
        "",
        "SETTINGS",
        *(f"  {key}: {value}" for key, value in settings.items()),
        "",
        "TOTALS",
        f"  Total: {s.total}",
        f"  Success: {len(s.succeeded)} ({percent(len(s.succeeded), s.total)})",
        f"  Failed: {len(s.failed)} ({percent(len(s.failed), s.total)})",
        f"  Skipped: {s.skipped}",
        f"  Total time: {duration(s.elapsed_s)}",
        f"  Average per item: {duration(s.average_s)}",
        "",
        "RESULTS",
    ]
    for n, item in enumerate(s.items, start=1):
        lines.append(f"[{n}] {item.deployment_id} @ {item.region} ({item.base_model_name})")
        if item.status is JobItemStatus.COMPLETED:
            lines += [
                "    Status: success",
                f"    Outcome: {item.outcome}",
                f"    Rating: {item.rating or 0:.1f}",
                f"    Badge: {item.badge}",
                f"    Success rate: {100 * (item.success_rate or 0):.1f}%",
                f"    Latency: {latency_figures(item.latency_p50_ms, item.latency_p95_ms)}",
                f"    Tool calls: {tool_figures(item.tool_schema_accuracy, item.tool_trigger_f1)}",
                f"    Transient errors absorbed: {item.transient_errors or 0}",
            ]
        elif item.status is JobItemStatus.FAILED:
            lines += ["    Status: failed", f"    Error: {error_of(item)}"]
        else:
            lines.append(f"    Status: skipped ({item.status.value})")
        lines += [f"    Attempts: {item.attempts}", f"    Duration: {duration(item.duration_s)}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
