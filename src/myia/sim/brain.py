"""The simulated model: deterministic answers that pass (or, by design, fail) certification.

Given the same conversation it always says the same thing; the only knobs are the quirks a
scenario's `faults` turn on (wrong colours, prose instead of JSON). Faults that make the
provider refuse a request (tools, system, streaming) are the wire layers' business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from myia.sim import skills
from myia.sim.conversation import (
    Conversation,
    Message,
    Reply,
    StopReason,
    ToolCall,
    ToolUse,
    count_tokens,
)
from myia.sim.scenario import ModelSpec
from myia.sim.toolargs import break_arguments, build_arguments, plan_tool_call


@dataclass(frozen=True)
class Quirks:
    wrong_colours: bool = False
    prose_json: bool = False
    breaks_schemas: bool = False

    @classmethod
    def of(cls, model: ModelSpec) -> Quirks:
        return cls(
            wrong_colours="vision" in model.faults,
            prose_json=not model.works("json"),
            breaks_schemas=model.breaks_schemas,
        )


_UPPER = re.compile(r"upper\s*-?\s*case|all caps|capital letters", re.IGNORECASE)
_WORD = r"\bwith\s+(?:the\s+(?:word|phrase)\s+)?[\"'“]?([^\s\"'”.,!?]+)"
_SUFFIX = re.compile(r"\bend\b[^.\n]*?" + _WORD, re.IGNORECASE)
_PREFIX = re.compile(r"\b(?:start|begin)\b[^.\n]*?" + _WORD, re.IGNORECASE)


def apply_system_rules(text: str, system: list[str]) -> str:
    """Obey the house rules certification checks: casing, a fixed opening and closing word."""
    rules = "\n".join(system)
    if not rules:
        return text
    body = text.strip()
    prefix = _PREFIX.search(rules)
    if prefix and not body.lower().startswith(prefix.group(1).lower()):
        body = f"{prefix.group(1)} {body}"
    suffix = _SUFFIX.search(rules)
    if suffix and not body.rstrip(".!").lower().endswith(suffix.group(1).lower()):
        body = f"{body} {suffix.group(1)}"
    if _UPPER.search(rules):
        body = body.upper()
    return body


def _tool_result_answer(conversation: Conversation, last: Message) -> str:
    names = {
        block.id: block.name
        for message in conversation.messages
        for block in message.blocks
        if isinstance(block, ToolUse)
    }
    parts = []
    for result in last.tool_results:
        tool = names.get(result.tool_use_id, "tool")
        if result.is_error:
            parts.append(f"The {tool} tool reported an error: {result.content}")
        else:
            parts.append(f"According to the {tool} tool: {result.content}")
    return " ".join(parts)


def _json_answer(conversation: Conversation, prompt: str, quirks: Quirks) -> str | None:
    if not skills.wants_json(conversation, prompt):
        return None
    if conversation.json_schema:
        value = build_arguments(conversation.json_schema, prompt)
        if quirks.breaks_schemas:
            value = break_arguments(conversation.json_schema, value, 0)
    else:
        value = skills.json_object(prompt)
    return skills.json_as_prose(value) if quirks.prose_json else skills.describe_json(value)


def _free_answer(conversation: Conversation, last: Message | None, quirks: Quirks) -> str:
    prompt = last.text if last else ""
    if last and last.images:
        return skills.colour_answer(last.images[-1].data, prompt, wrong=quirks.wrong_colours)
    for answer in (
        skills.recall(conversation, prompt),
        skills.exact(prompt),
        skills.arithmetic(prompt),
        skills.long_text(prompt),
    ):
        if answer is not None:
            return answer
    return skills.generic(prompt)


def compose(conversation: Conversation, quirks: Quirks) -> str:
    last = conversation.last_user
    if last is not None and last.tool_results:
        return apply_system_rules(_tool_result_answer(conversation, last), conversation.system)
    json_answer = _json_answer(conversation, last.text if last else "", quirks)
    if json_answer is not None:
        # House rules would turn valid JSON invalid (casing, appended words): JSON wins.
        return json_answer
    return apply_system_rules(_free_answer(conversation, last, quirks), conversation.system)


def finish(text: str, conversation: Conversation) -> tuple[str, StopReason]:
    """Honour stop sequences, then the token budget, the way providers report them."""
    reason: StopReason = "end_turn"
    cuts = [text.find(s) for s in conversation.stop if s and s in text]
    if cuts:
        text, reason = text[: min(cuts)], "stop_sequence"
    limit = conversation.max_tokens
    if limit is not None and count_tokens(text) > limit:
        text, reason = text[: limit * 4], "max_tokens"
    return text, reason


def asks_structured_output(conversation: Conversation) -> bool:
    """A forced tool on a prompt asking for JSON: Bedrock's structured-output mode."""
    last = conversation.last_user
    return (
        conversation.tool_choice == "tool"
        and last is not None
        and skills.wants_json(conversation, last.text)
    )


def break_tool_calls(reply: Reply, conversation: Conversation, variant: int) -> Reply:
    """`reply` with each tool call's arguments made invalid for its tool's schema."""
    schemas = {tool.name: tool.schema for tool in conversation.tools}
    calls = tuple(
        ToolCall(c.id, c.name, break_arguments(schemas.get(c.name, {}), c.arguments, variant))
        for c in reply.tool_calls
    )
    output = max(1, sum(count_tokens(c.name + c.arguments_json) for c in calls))
    return Reply(reply.text, reply.stop_reason, reply.input_tokens, output, calls)


def respond(
    conversation: Conversation, *, quirks: Quirks | None = None, id_prefix: str = "tooluse_"
) -> Reply:
    quirks = quirks or Quirks()
    input_tokens = conversation.input_tokens()
    # A model with the json fault ignores a forced tool meant for structured output and
    # answers prose, as it does to any other JSON request.
    ignores_forcing = quirks.prose_json and asks_structured_output(conversation)
    call = None if ignores_forcing else plan_tool_call(conversation, id_prefix=id_prefix)
    if call is not None and quirks.breaks_schemas and asks_structured_output(conversation):
        schema = next((t.schema for t in conversation.tools if t.name == call.name), {})
        call = ToolCall(call.id, call.name, break_arguments(schema, call.arguments, 0))
    if call is not None:
        output = max(1, count_tokens(call.name + call.arguments_json))
        return Reply("", "tool_use", input_tokens, output, (call,))
    text, reason = finish(compose(conversation, quirks), conversation)
    return Reply(text, reason, input_tokens, count_tokens(text))
