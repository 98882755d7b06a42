"""Printing for `myia models`: the discovery report in the shape of seed 000's script."""

from __future__ import annotations

from rich.markup import escape

from myia.catalog.discovery_report import DiscoveryReport
from myia.cli.db import say

RULE = "=" * 60


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`1 model`, `2 models`, `0 models`."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def _where(report: DiscoveryReport) -> str:
    return f" ({report.region})" if report.region else ""


def print_discovery_start(*, provider: str, region: str | None, dry_run: bool) -> None:
    mode = " (dry run)" if dry_run else ""
    say(f"🚀 Discovering models on {escape(provider)}{mode}...")
    where = f" in {region}" if region else ""
    say(f"\n🔍 Listing the models {escape(provider)} offers{where}...")


def _print_filtering(report: DiscoveryReport) -> None:
    name = escape(report.provider_name)
    if report.listed == 0:
        say(f"⚠️  {name} lists no model{_where(report)}")
    else:
        say(f"[green]✅[/green] {count(report.listed, 'model')} found on {name}{_where(report)}")
    say("\n🔧 Filtering relevant models...")
    for model_id in report.blacklisted:
        say(f"⛔ Blacklisted: {escape(model_id)}")
    for reason, n in sorted(report.dropped.items()):
        say(f"   ➖ {n} dropped: {reason}")
    say(f"[green]✅[/green] {count(report.relevant, 'relevant model')} after filtering")


def _print_comparison(report: DiscoveryReport) -> None:
    say("\n🔍 Comparing with the catalog...")
    slug = escape(report.provider_slug)
    say(f"📊 Catalog now: {count(report.catalog_before, f'{slug} deployment')}")
    say(f"📊 {escape(report.provider_name)}: {count(report.relevant, 'relevant model')}")
    say(
        f"[green]✅[/green] {count(report.new, 'new model')} identified "
        f"({report.relevant - report.new} already in the catalog)"
    )
    if not report.new_by_vendor:
        return
    say("\n📦 Grouping by vendor...")
    say("📊 Distribution per vendor:")
    for vendor, n in sorted(report.new_by_vendor.items()):
        say(f"   {escape(vendor)}: {count(n, 'model')}")
    if report.vendor is not None:
        say(
            f"🎯 Vendor {escape(report.vendor)} only: {report.added_count} of "
            f"{count(report.new, 'new model')}"
        )


def _print_writing(report: DiscoveryReport) -> None:
    if report.dry_run:
        say("\n🧪 Dry run: nothing was written to the database")
        if report.regions_extended:
            extended = count(report.regions_extended, "catalog deployment")
            say(f"   {extended} would gain region {report.region}")
    else:
        say("\n📝 Writing to the database...")
        say(
            f"[green]✅[/green] {count(report.added_count, 'deployment')} and "
            f"{count(report.base_models_created, 'new base model')} written"
        )
        if report.regions_extended:
            extended = count(report.regions_extended, "deployment")
            say(
                f"[green]✅[/green] {extended} already in the catalog now "
                f"list{'s' if report.regions_extended == 1 else ''} region {report.region}"
            )
    unpriced = report.without_price
    if unpriced:
        say(
            f"💲 {count(len(unpriced), 'model')} without a known price: stored as unknown "
            '(cost null, provider_config.price_source = "unknown"; add them to pricing.yaml)'
        )


def _print_final(report: DiscoveryReport) -> None:
    grouped = report.by_vendor()
    verb = "that would be added" if report.dry_run else "added"
    say(f"\n{RULE}\n📊 FINAL REPORT{' (dry run)' if report.dry_run else ''}\n{RULE}\n")
    say(f"[green]✅[/green] Total models {verb}: {report.added_count}")
    say(f"📦 Vendors affected: {len(grouped)}")
    if grouped:
        say("\n📊 Per vendor:")
    for vendor, plans in grouped.items():
        say(f"   {escape(vendor)} ({count(len(plans), 'model')}):")
        for plan in plans:
            price = "" if plan.price_source != "unknown" else "  💲?"
            flags = plan.flags or "·"
            say(f"      {flags}  {escape(plan.deployment_id)} — {escape(plan.name)}{price}")
    say("\n📝 Legend:")
    say("   🔐 = needs an inference profile")
    say("   👁️ = vision")
    say("   ⚙️ = function calling")
    say("   💲? = no price in the pricing file (price unknown)")


def print_discovery_report(report: DiscoveryReport) -> None:
    _print_filtering(report)
    _print_comparison(report)
    _print_writing(report)
    _print_final(report)
    if report.dry_run:
        say("\n🧪 Nothing was written (dry run). Run again without --dry-run to add them.")
    elif report.added:
        say("\n[green]✅[/green] Models added to the catalog!")
        where = f" --region {report.region}" if report.region else ""
        say(f"💡 Certify them: myia certify --vendor <vendor>{where}")
    elif report.listed == 0:
        say(f"\nℹ️  Nothing to add: the provider lists no model{_where(report)}")
    elif report.relevant == 0:
        say(f"\nℹ️  Nothing to add: no model{_where(report)} is one MyIA can serve")
    else:
        say("\n[green]✅[/green] The catalog already has every relevant model: nothing to add")
    if report.is_simulated:
        say(f"ℹ️  {escape(report.provider_name)} is the local provider simulator, not a real cloud")
    say("\n🎉 Done!")
