"""Chat and message shapes of the API (inputs forbid unknown fields)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from myia.validation import StrictInput

MAX_TITLE = 300
MAX_CONTENT = 200_000
MAX_PAGE_SIZE = 200

MessageStatus = Literal["complete", "streaming", "interrupted", "error"]

# PostgreSQL refuses NUL in text; a lone surrogate is stored but cannot be read back.
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def _storable(value: str) -> str:
    if _BAD_CHAR.search(value):
        raise ValueError("must not contain NUL or lone surrogate characters")
    return value


Text = Annotated[str, AfterValidator(_storable)]
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _title(value: str) -> str:
    """One line of visible text: a title is shown in the chat list and the page heading."""
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if _CONTROL.search(value):
        raise ValueError("must be one line without control characters")
    return value


Title = Annotated[str, AfterValidator(_storable), AfterValidator(_title)]


class _Input(StrictInput):
    """Chat inputs: JSON types only (`max_tokens` 12, not "12" or 12.0), unknown fields refused."""


class ChatCreate(_Input):
    title: Title = Field(default="New chat", max_length=MAX_TITLE)


class ChatUpdate(_Input):
    title: Title = Field(max_length=MAX_TITLE)


class ChatPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class ChatsPublic(BaseModel):
    data: list[ChatPublic]
    count: int
    page: int
    page_size: int


class MessageSend(_Input):
    content: Text = Field(min_length=1, max_length=MAX_CONTENT)
    model: Text = Field(
        min_length=1,
        max_length=300,
        description="A model id of GET /v1/models, a base model name or a deployment id.",
        examples=["claude-3.5-sonnet"],
    )
    system: Text | None = Field(default=None, max_length=MAX_CONTENT)
    region: Text | None = Field(
        default=None, max_length=50, description="Preferred region (else your default region)."
    )
    max_tokens: int | None = Field(default=None, gt=0, le=200_000)
    temperature: float | None = Field(default=None, ge=0, le=2)


class MessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    chat_id: str
    role: str
    content: str
    status: str
    deployment_id: str | None = None
    region: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = Field(default=None, description="USD; null when the price is unknown")
    cost_note: str | None = None
    latency_ms: int | None = None
    time_to_first_token_ms: int | None = None
    error: str | None = None
    sent_context: dict[str, Any] | None = None
    created_at: datetime


class MessagesPublic(BaseModel):
    """A page of history, oldest first: by `page` from the chat's start, or (with `limit` /
    `before`) backwards from the newest, `earlier` leading to the page before."""

    data: list[MessagePublic]
    count: int = Field(description="Messages in the whole chat")
    page: int | None = Field(default=None, description="Paging from the start: this page")
    page_size: int | None = Field(default=None, description="Paging from the start")
    limit: int | None = Field(default=None, description="Reading backwards: the page size")
    earlier: str | None = Field(
        default=None,
        description="Reading backwards: pass as `before` for the page before this one; "
        "null at the chat's start",
    )
