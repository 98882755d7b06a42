"""What is sent to the model for a new message: the system prompt and as much history as fits.

The context window is the base model's `max_context_window` (tokens). Tokens are estimated
before the call (about four characters per token, plus a few per message), because the
real count is known only once the provider answers; the output's reserve (`max_tokens`, else
the model's `max_output_tokens`, at most half the window) is kept free. The oldest turns are
dropped first, a user turn always first. `sent_context` records exactly what was sent and what
was dropped, so an answer can be traced to its input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from myia.errors import InvalidInputError
from myia.providers.types import ChatMessage

DEFAULT_CONTEXT_WINDOW = 8192
DEFAULT_OUTPUT_RESERVE = 1024
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    content: str


@dataclass(frozen=True)
class BuiltContext:
    system: str | None
    turns: list[Turn]
    dropped: int
    estimated_input_tokens: int
    context_window: int
    output_reserve: int

    def messages(self) -> list[ChatMessage]:
        return [
            ChatMessage.user(t.content) if t.role == "user" else ChatMessage.assistant(t.content)
            for t in self.turns
        ]

    def record(self) -> dict[str, Any]:
        """`sent_context` before the route is known (the sender adds deployment and region)."""
        return {
            "system": self.system,
            "messages": [{"role": t.role, "content": t.content} for t in self.turns],
            "truncation": {
                "dropped_messages": self.dropped,
                "kept_messages": len(self.turns),
                "estimated_input_tokens": self.estimated_input_tokens,
                "context_window": self.context_window,
                "output_reserve": self.output_reserve,
            },
        }


def _alternating(turns: list[Turn]) -> list[Turn]:
    """Merge consecutive turns of one role (an answer that failed leaves two user turns in a
    row, which providers refuse) and start with a user turn."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, f"{merged[-1].content}\n\n{turn.content}")
        else:
            merged.append(turn)
    while merged and merged[0].role != "user":
        merged.pop(0)
    return merged


def build_context(
    *,
    history: list[Turn],
    content: str,
    system: str | None,
    capabilities: dict[str, Any] | None,
    max_tokens: int | None,
) -> BuiltContext:
    caps = capabilities or {}
    window = caps.get("max_context_window")
    window = window if isinstance(window, int) and window > 0 else DEFAULT_CONTEXT_WINDOW
    model_out = caps.get("max_output_tokens")
    reserve = max_tokens or (model_out if isinstance(model_out, int) and model_out > 0 else None)
    reserve = min(reserve or DEFAULT_OUTPUT_RESERVE, window // 2)
    budget = window - reserve - (estimate_tokens(system) if system else 0)
    turns = _alternating([t for t in history if t.content] + [Turn("user", content)])
    sizes = [estimate_tokens(t.content) for t in turns]
    if sizes[-1] > budget:
        raise InvalidInputError(
            "content",
            f"too long for the model's context window ({window} tokens, {reserve} kept for "
            "the answer)",
        )
    start = 0
    while sum(sizes[start:]) > budget:
        start += 1
    kept = turns[start:]
    while kept[0].role != "user":  # cannot empty: the last turn is the user's
        kept = kept[1:]
    dropped = len(turns) - len(kept)
    used = sum(estimate_tokens(t.content) for t in kept)
    return BuiltContext(
        system=system,
        turns=kept,
        dropped=dropped,
        estimated_input_tokens=used + (estimate_tokens(system) if system else 0),
        context_window=window,
        output_reserve=reserve,
    )
