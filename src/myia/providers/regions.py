"""Regions a provider runs in, and the pseudo-region of providers without regions.

Lives with the providers (the lowest layer that needs it): discovery validates a region with
it, certification targets these regions. `myia.certification.regions` re-exports it.
"""

from __future__ import annotations

# AWS commercial and GovCloud regions where Bedrock runs or may run; "global" is used for
# providers without regions (OpenAI-compatible APIs), which get one certification each.
AWS_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "ca-west-1",
        "sa-east-1",
        "mx-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "af-south-1",
        "ap-south-1",
        "ap-south-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ap-east-1",
        "us-gov-west-1",
        "us-gov-east-1",
    }
)
GLOBAL_REGION = "global"


def unknown_regions(regions: list[str]) -> list[str]:
    return [r for r in regions if r not in AWS_REGIONS and r != GLOBAL_REGION]
