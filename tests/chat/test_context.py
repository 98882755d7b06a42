"""What is sent for a new message: the system prompt and as much history as fits."""

from __future__ import annotations

import pytest

from myia.chat.context import DEFAULT_CONTEXT_WINDOW, Turn, build_context, estimate_tokens
from myia.errors import InvalidInputError


def _turns(n: int, size: int = 40) -> list[Turn]:
    return [Turn("user" if i % 2 == 0 else "assistant", f"{i}:" + "w" * size) for i in range(n)]


def test_everything_fits_and_is_sent_in_order() -> None:
    built = build_context(history=_turns(4), content="now", system="sys", capabilities=None,
                          max_tokens=None)  # fmt: skip
    assert [t.content[:2] for t in built.turns] == ["0:", "1:", "2:", "3:", "no"]
    assert built.dropped == 0 and built.context_window == DEFAULT_CONTEXT_WINDOW
    assert built.messages()[0].role == "user" and built.messages()[-1].role == "user"
    record = built.record()
    assert record["system"] == "sys" and record["messages"][-1] == {
        "role": "user",
        "content": "now",
    }


def test_the_oldest_turns_go_first_and_a_user_turn_starts() -> None:
    window = {"max_context_window": 100}
    built = build_context(history=_turns(10), content="now", system=None, capabilities=window,
                          max_tokens=20)  # fmt: skip
    assert built.output_reserve == 20
    assert built.estimated_input_tokens <= 80
    assert built.turns[0].role == "user" and built.turns[-1].content == "now"
    kept = [t.content for t in built.turns]
    newest = [t.content for t in _turns(10)][-len(kept) + 1 :]
    assert kept == [*newest, "now"]
    assert built.dropped == 11 - len(kept)


def test_the_system_prompt_and_the_reserve_are_kept_free() -> None:
    caps = {"max_context_window": 200, "max_output_tokens": 50}
    no_system = build_context(history=_turns(20), content="q", system=None, capabilities=caps,
                              max_tokens=None)  # fmt: skip
    with_system = build_context(history=_turns(20), content="q", system="s" * 200,
                                capabilities=caps, max_tokens=None)  # fmt: skip
    assert no_system.output_reserve == 50
    assert len(with_system.turns) < len(no_system.turns)
    assert with_system.estimated_input_tokens <= 150


def test_turns_of_one_role_in_a_row_are_merged() -> None:
    history = [Turn("user", "a"), Turn("user", "b"), Turn("assistant", ""), Turn("assistant", "c")]
    built = build_context(history=history, content="d", system=None, capabilities=None,
                          max_tokens=None)  # fmt: skip
    assert [(t.role, t.content) for t in built.turns] == [
        ("user", "a\n\nb"), ("assistant", "c"), ("user", "d")
    ]  # fmt: skip


def test_a_message_too_long_for_the_window_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="context window"):
        build_context(history=[], content="x" * 1000, system=None,
                      capabilities={"max_context_window": 100}, max_tokens=10)  # fmt: skip
    assert estimate_tokens("abcd") == 1 + 4
