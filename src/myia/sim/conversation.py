"""The provider-neutral conversation the brain reads, and the reply it writes.

Both wire dialects (Bedrock Converse, OpenAI chat completions) are parsed into these types,
so the brain never sees a wire format and both dialects answer alike.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

StopReason = Literal[
    "end_turn", "tool_use", "max_tokens", "stop_sequence", "model_context_window_exceeded"
]

# A fixed, made-up price for an image so that usage stays deterministic.
IMAGE_TOKENS = 256


def count_tokens(text: str) -> int:
    """The simulator's tokenizer: one token per four characters, rounded up."""
    return math.ceil(len(text) / 4)


@dataclass(frozen=True)
class Image:
    format: str
    data: bytes


@dataclass(frozen=True)
class ToolUse:
    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolResult:
    tool_use_id: str
    content: str
    is_error: bool = False


Block = str | Image | ToolUse | ToolResult


@dataclass
class Message:
    role: Literal["user", "assistant"]
    blocks: list[Block] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(b for b in self.blocks if isinstance(b, str))

    @property
    def images(self) -> list[Image]:
        return [b for b in self.blocks if isinstance(b, Image)]

    @property
    def tool_results(self) -> list[ToolResult]:
        return [b for b in self.blocks if isinstance(b, ToolResult)]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    messages: list[Message]
    system: list[str] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    # "auto", "any" (Bedrock any / OpenAI required), "none", or "tool" with forced_tool set.
    tool_choice: str = "auto"
    forced_tool: str | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    json_mode: bool = False
    json_schema: dict[str, Any] | None = None
    reasoning: bool = False  # reasoning asked (reasoning_effort / extended thinking)
    # Anthropic request fields a Bedrock call carried (additionalModelRequestFields keys).
    anthropic_fields: tuple[str, ...] = ()
    # Prompt caching: a digest of everything before the last cache point, and its tokens.
    cache_prefix: str | None = None
    cache_tokens: int = 0

    @property
    def last_user(self) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == "user"), None)

    @property
    def has_images(self) -> bool:
        return any(m.images for m in self.messages)

    def input_tokens(self) -> int:
        total = sum(count_tokens(s) for s in self.system)
        for message in self.messages:
            for block in message.blocks:
                total += _block_tokens(block)
        for tool in self.tools:
            total += count_tokens(tool.name + tool.description + json.dumps(tool.schema))
        return max(total, 1)


def _block_tokens(block: Block) -> int:
    if isinstance(block, str):
        return count_tokens(block)
    if isinstance(block, Image):
        return IMAGE_TOKENS
    if isinstance(block, ToolUse):
        return count_tokens(block.name + json.dumps(block.input))
    return count_tokens(block.content)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    text: str
    stop_reason: StopReason
    input_tokens: int
    output_tokens: int
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""  # counted in output_tokens
    cached_tokens: int = 0  # of input_tokens: read from the prompt cache
    cache_write_tokens: int = 0  # of input_tokens: written to it

    @property
    def reasoning_tokens(self) -> int:
        return count_tokens(self.reasoning) if self.reasoning else 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def with_reasoning(reply: Reply, conversation: Conversation) -> Reply:
    """A reasoning model's reply when reasoning was asked: a short, deterministic thought."""
    if not conversation.reasoning:
        return reply
    last = conversation.last_user
    thought = f"The user asks: {(last.text if last else '')[:120]!r}. I will answer directly."
    return replace(
        reply, reasoning=thought, output_tokens=reply.output_tokens + count_tokens(thought)
    )


def prefix_digest(system: list[str], messages: list[Message]) -> str:
    """A stable digest of a prompt prefix (the prompt cache's key)."""
    parts = [*system, *(f"{m.role}:{m.blocks!r}" for m in messages)]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def with_cache(reply: Reply, conversation: Conversation, hit: bool) -> Reply:
    """The prefix before the last cache point, read from the cache or written to it."""
    tokens = min(conversation.cache_tokens, reply.input_tokens)
    if conversation.cache_prefix is None or tokens == 0:
        return reply
    if hit:
        return replace(reply, cached_tokens=tokens)
    return replace(reply, cache_write_tokens=tokens)


def fit_window(reply: Reply, window: int | None) -> Reply:
    """An answer cut where prompt and answer fill the context window (Bedrock's
    `model_context_window_exceeded`); tool calls are left whole."""
    if window is None or reply.tool_calls or reply.input_tokens + reply.output_tokens <= window:
        return reply
    text = reply.text[: max(0, window - reply.input_tokens) * 4]
    return replace(
        reply,
        text=text,
        output_tokens=count_tokens(text),
        stop_reason="model_context_window_exceeded",
    )
