"""A lean, fully async adapter for Bedrock Converse / ConverseStream on the gateway's and
chat's hot path.

The boto3 adapter (`myia.providers.bedrock.adapter`) runs every call in a worker thread, and a
stream's socket reads in another one; on a busy CPU a preempted thread holding the GIL stalls
the event loop, and botocore spends milliseconds of CPU per call on its request pipeline and
shape-driven parsing. This adapter speaks the same wire from the event loop:

- the request body is the boto3 adapter's own mapping (`build_converse_params`) serialised
  as botocore's rest-json serialiser does (`json.dumps`, blobs base64, `modelId` in the path
  percent-encoded with botocore's `percent_encode`): byte for byte what boto3 sends;
- it is signed with botocore's `SigV4Auth` over an `AWSRequest`, with frozen credentials
  from the same resolution the boto3 client uses (the connection's keys, else the AWS chain;
  refreshable ones are refreshed in a thread when due), for the region and endpoint a boto3
  runtime client of that region resolves (the connection's base URL, `AWS_ENDPOINT_URL*`,
  the profile's endpoint settings, the partition's host) — built once per region, in a thread;
- it goes out on the gateway's pooled keep-alive `Http1Client` (`myia.routing.http1`, the
  client `raw_openai` uses: httptools parser, body chunks handed over as they arrive);
- a ConverseStream answer is decoded as it arrives with botocore's `EventStreamBuffer` (CRCs
  checked), events fed to the boto3 adapter's `ConverseStreamAssembler`;
- an error answer (HTTP status, or an exception frame inside the stream) is parsed by
  botocore's own rest-json / event-stream parsers into the `ClientError` / `EventStreamError`
  boto3 would raise, then classified by `map_botocore_error`: the same categories, retry
  hints and reasons as the boto3 path. Only error paths pay for that.

Discovery and credential checks stay on the boto3 adapter; certification uses boto3 too (the
reference client).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials
from botocore.eventstream import EventStreamBuffer, EventStreamMessage
from botocore.exceptions import ClientError, EventStreamError
from botocore.parsers import EventStreamJSONParser, create_parser
from botocore.utils import percent_encode
from urllib3 import HTTPHeaderDict

from myia.providers.adapter import CredentialCheck, ProviderAdapter, Stopwatch
from myia.providers.bedrock.client import BedrockClients
from myia.providers.bedrock.converse import (
    build_converse_params,
    parse_answer,
    reasoning_text,
    usage,
)
from myia.providers.bedrock.errors import map_botocore_error
from myia.providers.bedrock.model_ids import resolve_model_id
from myia.providers.bedrock.stream import ConverseStreamAssembler
from myia.providers.bedrock.structured import answer_tool
from myia.providers.connection import ProviderConnection
from myia.providers.discovery import DiscoveredModel, InferenceProfileInfo
from myia.providers.errors import ErrorCategory, ProviderError
from myia.providers.types import ChatRequest, ChatResponse, StreamEvent
from myia.routing.http1 import Http1Client, Response, UpstreamError, UpstreamTimeout

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

CONVERSE = "Converse"
CONVERSE_STREAM = "ConverseStream"
_PATHS = {CONVERSE: "converse", CONVERSE_STREAM: "converse-stream"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "myia (async Converse; botocore SigV4)"


def _blob(value: object) -> str:
    """botocore's rest-json serialiser sends blobs (image bytes) as base64 text."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def converse_body(params: dict[str, Any]) -> bytes:
    """The JSON body of Converse / ConverseStream: the params but `modelId` (in the path)."""
    body = {key: value for key, value in params.items() if key != "modelId"}
    return json.dumps(body, default=_blob).encode("utf-8")


def _without_default_port(url: str) -> str:
    """SigV4 signs the Host without a default port (botocore's `_host_from_url`); the HTTP
    client sends the port only when the URL names it, so the URL must not name it either."""
    parts = urlsplit(url)
    if parts.port is not None and _DEFAULT_PORTS.get(parts.scheme.lower()) == parts.port:
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts).rstrip("/")


class _VerifyingClient(Http1Client):
    """The pool's client, verifying TLS with the CA bundle botocore is configured with."""

    def __init__(self, template: Http1Client, cafile: str) -> None:
        super().__init__(
            timeout_s=template.timeout_s,
            connect_timeout_s=template.connect_timeout_s,
            max_idle=template.max_idle,
        )
        self._ssl = ssl.create_default_context(cafile=cafile)


@dataclass(slots=True)
class _Target:
    """Where and as whom one region is called (resolved once, in a thread)."""

    endpoint: str
    region: str
    signing_name: str
    credentials: Credentials
    service_model: ServiceModel
    # The frozen credentials when they never change (keys); None for refreshable ones.
    static: ReadOnlyCredentials | None
    # A custom CA bundle for an https endpoint (AWS_CA_BUNDLE / the profile's ca_bundle).
    cafile: str | None = None


class RawBedrockAdapter(ProviderAdapter):
    def __init__(self, connection: ProviderConnection, client: Http1Client) -> None:
        super().__init__(connection)
        self.clients = BedrockClients(connection)  # refuses an API-key connection
        self.client = client
        self._targets: dict[tuple[str, str], asyncio.Future[_Target]] = {}
        self._default_region: str | None = None
        self._urls: dict[tuple[str, str, str], str] = {}
        self._verifying: dict[str, Http1Client] = {}

    # --- where ------------------------------------------------------------------------------
    def _resolve(self, region: str) -> _Target:
        """Blocking: builds (or reuses) boto3's runtime client for `region` and reads what it
        resolved; resolves the credentials the same way."""
        runtime: Any = self.clients.runtime(region)
        credentials = self.clients.credentials(region)
        static = None
        if not isinstance(credentials, RefreshableCredentials):
            static = credentials.get_frozen_credentials()
        endpoint = _without_default_port(runtime.meta.endpoint_url)
        return _Target(
            endpoint=endpoint,
            region=runtime.meta.region_name or region,
            signing_name=runtime.meta.service_model.signing_name or "bedrock",
            credentials=credentials,
            service_model=runtime.meta.service_model,
            static=static,
            cafile=self.clients.ca_bundle() if endpoint.startswith("https:") else None,
        )

    async def _target(self, region: str) -> _Target:
        key = (region, self.clients.endpoint_key())
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = asyncio.ensure_future(
                asyncio.to_thread(self._resolve, region)
            )
        try:
            return await asyncio.shield(found)
        except Exception as exc:
            if self._targets.get(key) is found:
                del self._targets[key]  # not cached: the next call tries again
            raise map_botocore_error(exc, self.slug) from exc

    async def _region(self, requested: str | None) -> str:
        region = requested or self.connection.region or self._default_region
        if region is None:
            try:
                region = self._default_region = await asyncio.to_thread(self.clients.region)
            except Exception as exc:
                raise map_botocore_error(exc, self.slug) from exc
        return region

    async def _frozen(self, target: _Target) -> ReadOnlyCredentials:
        if target.static is not None:
            return target.static
        credentials = target.credentials
        try:
            if isinstance(credentials, RefreshableCredentials) and credentials.refresh_needed():
                frozen = await asyncio.to_thread(credentials.get_frozen_credentials)
            else:
                frozen = credentials.get_frozen_credentials()
        except Exception as exc:
            raise map_botocore_error(exc, self.slug) from exc
        return frozen

    def _url(self, target: _Target, model_id: str, operation: str) -> str:
        key = (target.endpoint, model_id, operation)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) > 1024:
                self._urls.clear()
            path = f"/model/{percent_encode(model_id)}/{_PATHS[operation]}"
            url = self._urls[key] = target.endpoint + path
        return url

    async def _send(self, request: ChatRequest, operation: str) -> tuple[_Target, str, Response]:
        """Sign and send; returns once the answer's status and headers arrived (any status)."""
        region = await self._region(request.region)
        target = await self._target(region)
        model_id = resolve_model_id(request.model, request.inference_type, target.region)
        params = build_converse_params(request, model_id)
        body = converse_body(params)
        url = self._url(target, model_id, operation)
        signed = AWSRequest(
            method="POST", url=url, data=body, headers={"Content-Type": "application/json"}
        )
        SigV4Auth(await self._frozen(target), target.signing_name, target.region).add_auth(signed)
        lines = "".join(f"{name}: {value}\r\n" for name, value in signed.headers.items())
        head = f"{lines}User-Agent: {USER_AGENT}\r\n".encode("latin-1")
        client = self.client if target.cafile is None else self._client_for(target.cafile)
        try:
            response = await client.post(url, body, head)
        except UpstreamError as exc:
            raise self._transport_error(exc) from exc
        return target, model_id, response

    def _client_for(self, cafile: str) -> Http1Client:
        client = self._verifying.get(cafile)
        if client is None:
            client = self._verifying[cafile] = _VerifyingClient(self.client, cafile)
        return client

    async def aclose(self) -> None:
        """Closes the clients of custom CA bundles; the shared one belongs to the pool."""
        clients, self._verifying = list(self._verifying.values()), {}
        for client in clients:
            await client.aclose()

    # --- errors -----------------------------------------------------------------------------
    async def _http_error(self, target: _Target, operation: str, response: Response) -> Exception:
        """The `ClientError` botocore would raise for this answer, classified."""
        try:
            body = await response.read()
        except UpstreamError:
            body = b""
        headers = HTTPHeaderDict()
        for name, value in response.headers:
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
        shape = target.service_model.operation_model(operation).output_shape
        parsed = create_parser("rest-json").parse(
            {"status_code": response.status_code, "headers": headers, "body": body},
            cast("Shape", shape),
        )
        return map_botocore_error(ClientError(parsed, operation), self.slug)

    def _stream_error(self, target: _Target, message: EventStreamMessage) -> ProviderError:
        """An exception (or error) frame, as botocore's EventStream raises it."""
        shape = target.service_model.operation_model(CONVERSE_STREAM).get_event_stream_output()
        parsed = EventStreamJSONParser().parse(message.to_response_dict(), cast("Shape", shape))
        return map_botocore_error(EventStreamError(parsed, CONVERSE_STREAM), self.slug)

    def _transport_error(self, exc: UpstreamError) -> ProviderError:
        # As botocore: a connect failure or connect timeout is a network error
        # (EndpointConnectionError, ConnectTimeoutError), no answer in time a timeout.
        text = str(exc)
        if isinstance(exc, UpstreamTimeout) and not text.startswith("could not connect"):
            return ProviderError(
                ErrorCategory.TIMEOUT, text or "timed out", provider=self.slug, code="ReadTimeout"
            )
        return ProviderError(
            ErrorCategory.NETWORK, f"{type(exc).__name__}: {exc}", provider=self.slug,
            code=type(exc).__name__,
        )  # fmt: skip

    def _bad_answer(self, what: str) -> ProviderError:
        return ProviderError(
            ErrorCategory.MODEL_ERROR, f"the provider's answer is not {what}",
            provider=self.slug, code="bad_response",
        )  # fmt: skip

    # --- calls ------------------------------------------------------------------------------
    async def chat(self, request: ChatRequest) -> ChatResponse:
        stopwatch = Stopwatch()
        target, model_id, response = await self._send(request, CONVERSE)
        try:
            if response.status_code >= 301:  # botocore's threshold for an error answer
                raise await self._http_error(target, CONVERSE, response)
            raw = await response.read()
        except UpstreamError as exc:
            raise self._transport_error(exc) from exc
        try:
            data = json.loads(raw)
            text, tool_calls, reason = parse_answer(data, answer_tool(request, model_id))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._bad_answer("a Converse response") from exc
        raw_stop = data.get("stopReason")
        return ChatResponse(
            text=text,
            reasoning=reasoning_text(data),
            tool_calls=tool_calls,
            stop_reason=reason,
            raw_stop_reason=raw_stop,
            usage=usage(data.get("usage")),
            latency_ms=stopwatch.elapsed_ms(),
            model_id=model_id,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        stopwatch = Stopwatch()
        target, model_id, response = await self._send(request, CONVERSE_STREAM)
        assembler = ConverseStreamAssembler(stopwatch, model_id, answer_tool(request, model_id))
        buffer = EventStreamBuffer()
        try:
            if response.status_code >= 301:
                raise await self._http_error(target, CONVERSE_STREAM, response)
            chunks = response.iter_bytes()
            try:
                async for chunk in chunks:
                    buffer.add_data(chunk)
                    for message in buffer:
                        headers = cast(dict[str, Any], message.headers)
                        if headers.get(":message-type") != "event":
                            raise self._stream_error(target, message)
                        payload = json.loads(message.payload) if message.payload else {}
                        for item in assembler.feed({str(headers.get(":event-type")): payload}):
                            yield item
            finally:
                await chunks.aclose()
        except UpstreamError as exc:
            raise self._transport_error(exc) from exc
        except ProviderError:
            raise
        except ValueError as exc:  # malformed JSON in an event
            raise self._bad_answer("a well-formed event stream") from exc
        except Exception as exc:  # botocore's decoder: CRC mismatch, bad lengths
            raise map_botocore_error(exc, self.slug) from exc
        if getattr(buffer, "_data", b""):  # the answer ended inside a frame
            raise ProviderError(
                ErrorCategory.NETWORK, "the event stream ended inside a frame",
                provider=self.slug, code="truncated_stream",
            )  # fmt: skip
        for item in assembler.finish():
            yield item

    # --- the rest stays on boto3 ------------------------------------------------------------
    def _reference(self) -> ProviderAdapter:
        from myia.providers.registry import get_adapter

        return get_adapter(self.connection)

    async def list_models(self, region: str | None = None) -> list[DiscoveredModel]:
        return await self._reference().list_models(region)

    async def list_inference_profiles(
        self, region: str | None = None
    ) -> list[InferenceProfileInfo]:
        from myia.providers.bedrock.adapter import BedrockAdapter

        return await BedrockAdapter(self.connection).list_inference_profiles(region)

    async def validate_credentials(self) -> CredentialCheck:
        return await self._reference().validate_credentials()
