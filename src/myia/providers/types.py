"""What every adapter accepts and returns: messages, requests, responses and stream events.

These are MyIA's own shapes; each adapter maps them to its wire format. Requests forbid extra
fields so that a misspelt option fails loudly instead of being silently dropped.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from myia.db.enums import InferenceType

ImageFormat = Literal["png", "jpeg", "gif", "webp"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"] = "text"
    text: str


class ImagePart(_Strict):
    # base64 in JSON so that a request can be stored as `sent_context` and read back.
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    type: Literal["image"] = "image"
    format: ImageFormat
    data: bytes
    # OpenAI's `image_url.detail`, sent as such to OpenAI-compatible upstreams; the gateway
    # sends a Bedrock route none but auto/high, which ask nothing of Converse.
    detail: Literal["auto", "low", "high"] | None = None


class ToolUsePart(_Strict):
    """A tool call the assistant made earlier in the conversation."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ToolResultPart(_Strict):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str
    is_error: bool = False


class CachePointPart(_Strict):
    """The content before this point may be cached by the provider (a client's
    `cache_control` on the part before it): a Bedrock `cachePoint`, `cache_control` on the
    preceding part for OpenAI-compatible upstreams."""

    type: Literal["cache_point"] = "cache_point"


ContentPart = Annotated[
    TextPart | ImagePart | ToolUsePart | ToolResultPart | CachePointPart,
    Field(discriminator="type"),
]


class ChatMessage(_Strict):
    role: Literal["user", "assistant"]
    content: list[ContentPart] = Field(min_length=1)

    @classmethod
    def user(cls, text: str) -> ChatMessage:
        return cls(role="user", content=[TextPart(text=text)])

    @classmethod
    def assistant(cls, text: str) -> ChatMessage:
        return cls(role="assistant", content=[TextPart(text=text)])


class ToolSpec(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    # OpenAI's `function.strict`, sent as such to OpenAI-compatible upstreams; the gateway
    # sends a Bedrock route none but false (Converse's toolSpec has no strict mode).
    strict: bool | None = None


class ToolChoiceTool(_Strict):
    """Force one named tool (`{"name": "get_weather"}`)."""

    name: str


# "none": the model must not call a tool (the tools may still be listed).
ToolChoice = Literal["auto", "any", "none"] | ToolChoiceTool
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
ServiceTier = Literal["auto", "default", "flex", "scale", "priority", "fast"]


class ChatRequest(_Strict):
    model: str = Field(min_length=1, description="The provider's model or deployment id.")
    messages: list[ChatMessage] = Field(min_length=1)
    system: str | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = Field(default=None, gt=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stop: list[str] = Field(default_factory=list)
    region: str | None = None
    inference_type: InferenceType = InferenceType.ON_DEMAND
    # Structured output (`response_format`): the answer's text must be JSON valid against
    # `json_schema`, or any JSON object when `json_object`. OpenAI-compatible adapters pass it
    # through as `response_format`; Bedrock uses the model's native `outputConfig` where AWS
    # documents one, else a forced tool whose arguments become the text (converse.py).
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    schema_name: str = Field("answer", pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    schema_description: str | None = None
    schema_strict: bool | None = None
    # What the gateway reads from a client's Chat Completions request (docs/gateway.md,
    # "Request fields"). `token_limit_param` names the field `max_tokens` came in as, sent
    # under that name to OpenAI-compatible upstreams (reasoning models refuse `max_tokens`).
    token_limit_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    reasoning_effort: ReasoningEffort | None = None
    parallel_tool_calls: bool | None = None
    service_tier: ServiceTier | None = None
    metadata: dict[str, str] | None = None
    # The system prompt is followed by a cache point (`cache_control` on a system part).
    system_cache_point: bool = False
    # Fields OpenAI-compatible upstreams receive exactly as the client sent them (the table's
    # "pass" fields). Other adapters do not read it: the gateway never sends a request
    # carrying a field Bedrock refuses to a Bedrock route.
    passthrough: dict[str, Any] = Field(default_factory=dict)


class StopReason(enum.StrEnum):
    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    CONTENT_FILTERED = "content_filtered"
    OTHER = "other"


class Usage(BaseModel):
    # input_tokens counts every prompt token, cached ones included (OpenAI's prompt_tokens);
    # the details are 0 when the provider does not report them.
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ToolCall(BaseModel):
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    # Set only when the model produced arguments that are not a JSON object: certification
    # reports them and the gateway can pass them through as the model wrote them.
    raw_arguments: str | None = None

    @classmethod
    def from_json(cls, id: str, name: str, raw: str) -> ToolCall:
        """A call whose arguments arrived as JSON text (streamed fragments, OpenAI wire)."""
        if not raw.strip():
            return cls(id=id, name=name)
        try:
            arguments = json.loads(raw)
        except ValueError:
            return cls(id=id, name=name, raw_arguments=raw)
        if not isinstance(arguments, dict):
            return cls(id=id, name=name, raw_arguments=raw)
        return cls(id=id, name=name, arguments=arguments)


class ChatResponse(BaseModel):
    text: str
    reasoning: str = ""  # the model's reasoning text, when the provider returns it
    logprobs: Any = None  # OpenAI-compatible upstreams' `choices[0].logprobs`, as sent
    tool_calls: list[ToolCall] = Field(default_factory=list)
    stop_reason: StopReason
    raw_stop_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float
    model_id: str = Field(description="The id actually called, after profile resolution.")


class TextDelta(BaseModel):
    type: Literal["text_delta"] = "text_delta"
    text: str
    logprobs: Any = None


class ReasoningDelta(BaseModel):
    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ToolCallEvent(BaseModel):
    """A complete tool call, emitted once its streamed fragments are assembled."""

    type: Literal["tool_call"] = "tool_call"
    tool_call: ToolCall


class StreamEnd(BaseModel):
    type: Literal["end"] = "end"
    usage: Usage = Field(default_factory=Usage)
    stop_reason: StopReason
    raw_stop_reason: str | None = None
    latency_ms: float
    time_to_first_token_ms: float | None = None
    model_id: str


StreamEvent = Annotated[
    TextDelta | ReasoningDelta | ToolCallEvent | StreamEnd, Field(discriminator="type")
]
