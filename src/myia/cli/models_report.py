"""Printing for `myia models`: the discovery report in the shape of seed 000's script."""

from __future__ import annotations

from rich.markup import escape

from myia.catalog.discovery_report import DiscoveryReport
from myia.cli.db import say

RULE = "=" * 60


def _where(report: DiscoveryReport) -> str:
    return f" ({report.region})" if report.region else ""


def print_discovery_start(*, provider: str, region: str | None, dry_run: bool) -> None:
    mode = " (dry run)" if dry_run else ""
    say(f"🚀 Discovering models on {escape(provider)}{mode}...")
    where = f" in {region}" if region else ""
    say(f"\n🔍 Listing the models {escape(provider)} offers{where}...")


def _print_filtering(report: DiscoveryReport) -> None:
    name = escape(report.provider_name)
    say(f"[green]✅[/green] {report.listed} models found on {name}{_where(report)}")
    say("\n🔧 Filtering relevant models...")
    for model_id in report.blacklisted:
        say(f"⛔ Blacklisted: {escape(model_id)}")
    for reason, count in sorted(report.dropped.items()):
        say(f"   ➖ {count} dropped: {reason}")
    say(f"[green]✅[/green] {report.relevant} relevant models after filtering")


def _print_comparison(report: DiscoveryReport) -> None:
    say("\n🔍 Comparing with the catalog...")
    say(f"📊 Catalog now: {report.catalog_before} {report.provider_slug} deployments")
    say(f"📊 {escape(report.provider_name)}: {report.relevant} relevant models")
    say(
        f"[green]✅[/green] {report.new} new models identified "
        f"({report.relevant - report.new} already in the catalog)"
    )
    if not report.new_by_vendor:
        return
    say("\n📦 Grouping by vendor...")
    say("📊 Distribution per vendor:")
    for vendor, count in sorted(report.new_by_vendor.items()):
        say(f"   {escape(vendor)}: {count} models")
    if report.vendor is not None:
        say(
            f"🎯 Vendor {escape(report.vendor)} only: {report.added_count} of "
            f"{report.new} new models"
        )


def _print_writing(report: DiscoveryReport) -> None:
    if report.dry_run:
        say("\n🧪 Dry run: nothing was written to the database")
        if report.regions_extended:
            say(f"   {report.regions_extended} catalog deployments would gain {report.region}")
    else:
        say("\n📝 Writing to the database...")
        say(
            f"[green]✅[/green] {report.added_count} deployments and "
            f"{report.base_models_created} new base models written"
        )
        if report.regions_extended:
            say(
                f"[green]✅[/green] {report.regions_extended} deployments already in the "
                f"catalog now list region {report.region}"
            )
    unpriced = report.without_price
    if unpriced:
        say(
            f"💲 {len(unpriced)} without a known price: cost 0 and "
            'provider_config.price_source = "unknown" (add them to pricing.yaml)'
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
        say(f"   {escape(vendor)} ({len(plans)} models):")
        for plan in plans:
            price = "" if plan.price_source != "unknown" else "  💲?"
            flags = plan.flags or "·"
            say(f"      {flags}  {escape(plan.deployment_id)} — {escape(plan.name)}{price}")
    say("\n📝 Legend:")
    say("   🔐 = needs an inference profile (Requer Inference Profile)")
    say("   👁️ = vision")
    say("   ⚙️ = function calling")
    say("   💲? = no price in the pricing file (cost 0)")


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
    else:
        say("\n[green]✅[/green] The catalog already has every relevant model: nothing to add")
    if report.is_simulated:
        say(f"ℹ️  {escape(report.provider_name)} is the local provider simulator, not a real cloud")
    say("\n🎉 Done!")
