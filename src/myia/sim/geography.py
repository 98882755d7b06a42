"""Which cross-region profile prefix a region is served under, by its name.

The default table of the simulated provider (a scenario's region may override it with
`geography:`); it follows the provider's published geographies, so a region outside them
(`sa-east-1`, `me-south-1`, `af-south-1`, …) has no geographic profile, only global ones.
"""

from __future__ import annotations

# `us-gov` before `us` so that the longest prefix wins when splitting an id.
PROFILE_PREFIXES = ("us-gov", "global", "apac", "us", "eu", "jp", "au")


def geography(region: str) -> str | None:
    """The profile prefix Bedrock uses for a region (Canada rides on `us`), or None."""
    if region.startswith("us-gov-"):
        return "us-gov"
    if region.startswith(("us-", "ca-")):
        return "us"
    if region.startswith("eu-"):
        return "eu"
    if region.startswith("ap-") or region == "me-central-1":
        return "apac"
    return None
