"""Provider adapters on the official SDKs, behind one interface and one error taxonomy.

`get_adapter(connection)` picks the adapter (Bedrock for `aws_credentials`, OpenAI-compatible
for `api_key`, or a plugin registered for the slug); every adapter speaks the types of
`myia.providers.types` and raises only `ProviderError`. See docs/providers.md.
"""

from myia.providers.adapter import CredentialCheck, ProviderAdapter
from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.discovery import DiscoveredModel, InferenceProfileInfo
from myia.providers.errors import ErrorCategory, ProviderError, Severity
from myia.providers.registry import get_adapter, register, registry
from myia.providers.types import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ImagePart,
    StopReason,
    StreamEnd,
    StreamEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallEvent,
    ToolChoiceTool,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Usage,
)

__all__ = [
    "ApiKeyCredentials",
    "AwsCredentials",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "CredentialCheck",
    "DiscoveredModel",
    "ErrorCategory",
    "ImagePart",
    "InferenceProfileInfo",
    "ProviderAdapter",
    "ProviderConnection",
    "ProviderError",
    "Severity",
    "StopReason",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallEvent",
    "ToolChoiceTool",
    "ToolResultPart",
    "ToolSpec",
    "ToolUsePart",
    "Usage",
    "get_adapter",
    "register",
    "registry",
]
