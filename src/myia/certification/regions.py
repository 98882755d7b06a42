"""Regions a certification can target: `myia.providers.regions`, re-exported."""

from __future__ import annotations

from myia.providers.regions import AWS_REGIONS, GLOBAL_REGION, unknown_regions

__all__ = ["AWS_REGIONS", "GLOBAL_REGION", "unknown_regions"]
