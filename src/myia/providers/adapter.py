"""The one interface every provider adapter implements."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from pydantic import BaseModel

from myia.providers.connection import ProviderConnection
from myia.providers.discovery import DiscoveredModel
from myia.providers.errors import ErrorCategory
from myia.providers.types import ChatRequest, ChatResponse, StreamEvent


class CredentialCheck(BaseModel):
    ok: bool
    category: ErrorCategory | None = None
    detail: str
    latency_ms: float


class ProviderAdapter(ABC):
    """Maps MyIA's requests to one wire protocol. Every failure is a `ProviderError`."""

    def __init__(self, connection: ProviderConnection) -> None:
        self.connection = connection

    @property
    def slug(self) -> str:
        return self.connection.slug

    @abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Text deltas and complete tool calls, then exactly one `StreamEnd`."""

    @abstractmethod
    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]: ...

    @abstractmethod
    async def validate_credentials(self) -> CredentialCheck: ...

    async def aclose(self) -> None:
        """Release what the adapter holds (HTTP pools); the default holds nothing."""
        return None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Stopwatch:
    """Milliseconds since creation, and the time of the first token of a stream."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self.first_token_ms: float | None = None

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._start) * 1000.0, 3)

    def mark_first_token(self) -> None:
        if self.first_token_ms is None:
            self.first_token_ms = self.elapsed_ms()
