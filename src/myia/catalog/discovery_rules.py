"""What discovery keeps, what it drops and why, and which vendor a model belongs to.

Pure functions over `DiscoveredModel`: no database, no network, so every rule can be read
(and tested) on its own. docs/discovery.md explains the choices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from myia.db.enums import InferenceType
from myia.providers.bedrock.model_ids import normalize_model_id
from myia.providers.discovery import DiscoveredModel

# Why a listed model was not kept; the report counts them per reason.
NOT_TEXT = "not text in and text out"
NOT_INVOCABLE = "neither on-demand nor through an inference profile"
NOT_CHAT = "not a chat model"
INACTIVE = "inactive in the listing"

# OpenAI-compatible `/v1/models` lists every endpoint's models together; only chat models
# can be served by /chat/completions. Matched anywhere in the lower-cased id.
_NON_CHAT_ID = re.compile(
    r"embed|whisper|tts|dall-e|moderation|transcribe|realtime|gpt-image|rerank"
    r"|(^|[/-])audio|(^|/)(text-)?(davinci|babbage|curie|ada)(-|$)"
)
# Together's `type` field says what a model is; "language" means a base completion model.
_CHAT_TYPES = frozenset({"chat"})

# Vendor slugs as they appear in ids and listings -> MyIA's vendor slug.
_VENDOR_ALIASES = {
    "meta-llama": "meta",
    "metaai": "meta",
    "mistralai": "mistral",
    "moonshotai": "moonshot",
    "deepseek-ai": "deepseek",
    "ai21labs": "ai21",
    "z-ai": "zai",
    "alibaba": "qwen",
    "alibabacloud": "qwen",
    "stabilityai": "stability",
    "nvidiacorporation": "nvidia",
}
# `owned_by` values that name the host, not the model's maker.
_GENERIC_OWNERS = frozenset({"", "system", "openai-internal", "user", "organization-owner"})
# Model id fragments -> vendor, for listings whose owner field says nothing useful.
_ID_VENDORS = (
    (re.compile(r"^(gpt-|o\d|chatgpt|dall-e|whisper|tts|text-embedding)"), "openai"),
    (re.compile(r"llama"), "meta"),
    (re.compile(r"mistral|mixtral|ministral|codestral|pixtral"), "mistral"),
    (re.compile(r"qwen"), "qwen"),
    (re.compile(r"gemma|gemini"), "google"),
    (re.compile(r"deepseek"), "deepseek"),
    (re.compile(r"claude"), "anthropic"),
    (re.compile(r"command|cohere"), "cohere"),
    (re.compile(r"kimi"), "moonshot"),
)


def parse_blacklist(value: str | Iterable[str]) -> frozenset[str]:
    """`"a, b,,c"` or an iterable -> the set of ids; blanks are ignored."""
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(item.strip() for item in items if item.strip())


def is_blacklisted(model: DiscoveredModel, blacklist: frozenset[str]) -> bool:
    # A profile id or an ARN of a blacklisted model is the same model.
    return model.model_id in blacklist or normalize_model_id(model.model_id) in blacklist


def slugify_vendor(name: str) -> str:
    """`"Mistral AI"` -> `mistral`, `"AI21 Labs"` -> `ai21`, `"Z.AI"` -> `zai`."""
    text = name.strip().lower()
    for suffix in (" ai", " labs", " inc.", " inc"):
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
    slug = re.sub(r"[^a-z0-9-]", "", text)
    return _VENDOR_ALIASES.get(slug, slug)


def bedrock_vendor(model: DiscoveredModel) -> str:
    """The id prefix (`mistral.` …) is already a slug; the listing's name is the fallback."""
    bare = normalize_model_id(model.model_id)
    if "." in bare:
        prefix = bare.split(".", 1)[0]
        return _VENDOR_ALIASES.get(prefix, prefix)
    return slugify_vendor(model.provider_name or "unknown")


def openai_compat_vendor(model: DiscoveredModel, provider_slug: str) -> str:
    """Owner when it names a maker, else the `org/` of the id, else a known id fragment."""
    owner = (model.provider_name or "").strip()
    if owner.lower() not in _GENERIC_OWNERS:
        return slugify_vendor(owner)
    model_id = model.model_id.lower()
    if "/" in model_id:
        return slugify_vendor(model_id.split("/", 1)[0])
    for pattern, vendor in _ID_VENDORS:
        if pattern.search(model_id):
            return vendor
    return provider_slug


def bedrock_inference_type(model: DiscoveredModel) -> InferenceType | None:
    """ON_DEMAND when the bare id can be called; INFERENCE_PROFILE when only a profile can.

    None when neither (provisioned-only models need a purchase, not a catalog entry).
    """
    if "ON_DEMAND" in model.inference_types:
        return InferenceType.ON_DEMAND
    if model.needs_inference_profile:
        return InferenceType.INFERENCE_PROFILE
    return None


def bedrock_drop_reason(model: DiscoveredModel) -> str | None:
    """Why a Bedrock model is not relevant, or None to keep it.

    Converse drives text-in, text-out models only: embeddings, image and video generators
    and speech-in models would fail every certification test.
    """
    if "TEXT" not in model.output_modalities or "TEXT" not in model.input_modalities:
        return NOT_TEXT
    if bedrock_inference_type(model) is None:
        return NOT_INVOCABLE
    return None


def openai_compat_drop_reason(model: DiscoveredModel) -> str | None:
    raw = model.raw
    if raw.get("active") is False:  # Groq lists decommissioned models as inactive
        return INACTIVE
    kind = raw.get("type")
    if isinstance(kind, str) and kind.lower() not in _CHAT_TYPES:
        return NOT_CHAT
    if _NON_CHAT_ID.search(model.model_id.lower()):
        return NOT_CHAT
    return None


def listing_context_window(model: DiscoveredModel) -> int | None:
    """Groq says `context_window`, Together `context_length`; others nothing."""
    for key in ("context_window", "context_length"):
        value = model.raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def listing_price(model: DiscoveredModel) -> tuple[float, float] | None:
    """Together's `pricing` (USD per 1M tokens), when it names a non-zero price."""
    pricing = model.raw.get("pricing")
    if not isinstance(pricing, dict):
        return None
    values = [pricing.get("input"), pricing.get("output")]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        return None
    price_in, price_out = numbers
    if price_in < 0 or price_out < 0 or (price_in == 0 and price_out == 0):
        return None
    return price_in, price_out
