"""The call parameters a route carries: its base model's `default_params` under its
deployment's `custom_params`, merged once when the route table loads, and filled into each
call's `ChatRequest` where the request left them unset (the request's own value wins).

Precedence: the request's value > the deployment's `custom_params` > the model's
`default_params`. The keys are the four `myia.catalog.params` allows, checked when stored;
`usable_params` drops anything an older row holds that a call could not honour.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from myia.catalog.params import usable_params
from myia.providers.types import ChatRequest

NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


def merge_params(default_params: Any, custom_params: Any) -> Mapping[str, Any]:
    """A route's params (read-only, shared by every request of the route)."""
    if not default_params and not custom_params:
        return NO_PARAMS
    merged = {**usable_params(default_params), **usable_params(custom_params)}
    return MappingProxyType(merged) if merged else NO_PARAMS


def fill_params(update: dict[str, Any], request: ChatRequest, params: Mapping[str, Any]) -> None:
    """Add to a `model_copy` update the params `request` did not set itself (None, or no stop
    sequences). Values are already in `ChatRequest`'s types (`check_params` normalised them)."""
    for key, value in params.items():
        if key == "stop":
            if not request.stop:
                update["stop"] = list(value)
        elif getattr(request, key) is None:
            update[key] = value
