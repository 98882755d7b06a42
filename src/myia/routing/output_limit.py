"""`max_tokens` against a deployment's maximum output (issue 24, point 2).

A request asking more output tokens than a route can give is not sent there, and when no
candidate route can give it the request is refused — as OpenAI refuses it: 400, param
`max_tokens`, "max_tokens is too large: N. This model supports at most M completion
tokens…". Never cut short in silence. The maxima come from the route table (the catalog's
`max_output_tokens` capability, loaded with the routes), so the check costs one pass over
the candidates and no database round trip. A route whose maximum is unknown takes any value.
"""

from __future__ import annotations

from myia.routing.types import Route


class MaxTokensTooLarge(Exception):
    """No candidate route can give `asked` output tokens; `limit` is the most one can."""

    def __init__(self, asked: int, limit: int, param: str = "max_tokens") -> None:
        self.asked = asked
        self.limit = limit
        self.param = param
        super().__init__(
            f"{param} is too large: {asked}. This model supports at most {limit} completion "
            f"tokens, whereas you provided {asked}."
        )


def fitting_routes(
    routes: list[Route], max_tokens: int | None, *, param: str = "max_tokens"
) -> list[Route]:
    """The routes that can give `max_tokens` output tokens, in their order; raises
    `MaxTokensTooLarge` when routes were offered and none can."""
    if max_tokens is None or not routes:
        return routes
    kept = [r for r in routes if r.max_output_tokens is None or max_tokens <= r.max_output_tokens]
    if kept:
        return kept if len(kept) < len(routes) else routes
    raise MaxTokensTooLarge(max_tokens, max(r.max_output_tokens or 0 for r in routes), param)
