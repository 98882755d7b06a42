"""The provider-neutral conversation the brain reads, and the reply it writes.

Both wire dialects (Bedrock Converse, OpenAI chat completions) are parsed into these types,
so the brain never sees a wire format and both dialects answer alike.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]

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

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
