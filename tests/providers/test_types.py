from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from myia.db.enums import AuthType, InferenceType
from myia.providers.connection import ApiKeyCredentials, AwsCredentials, ProviderConnection
from myia.providers.types import ChatMessage, ChatRequest, ImagePart, ToolCall, ToolChoiceTool
from tests.providers.conftest import PNG, aws_connection


def test_requests_refuse_unknown_options() -> None:
    with pytest.raises(ValidationError):
        ChatRequest(model="m", messages=[ChatMessage.user("hi")], temprature=0.5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ChatRequest(model="m", messages=[])


def test_tool_choice_accepts_a_name_dict() -> None:
    request = ChatRequest.model_validate(
        {"model": "m", "messages": [ChatMessage.user("hi")], "tool_choice": {"name": "f"}}
    )
    assert request.tool_choice == ToolChoiceTool(name="f")
    assert request.inference_type is InferenceType.ON_DEMAND


def test_images_round_trip_through_json() -> None:
    message = ChatMessage(role="user", content=[ImagePart(format="png", data=PNG)])
    again = ChatMessage.model_validate_json(message.model_dump_json())
    assert again == message


def test_secrets_stay_out_of_reprs() -> None:
    connection = aws_connection()
    keyed = ProviderConnection(
        slug="groq",
        auth_type=AuthType.API_KEY,
        credentials=ApiKeyCredentials(api_key=SecretStr("gsk_supersecretvalue")),
    )
    for text in (repr(connection), str(connection), connection.model_dump_json(), repr(keyed)):
        assert "wJalrXUtnFEMI" not in text
        assert "AKIAIOSFODNN7EXAMPLE" not in text
        assert "gsk_supersecretvalue" not in text


def test_fingerprint_is_stable_and_not_the_secret() -> None:
    creds = AwsCredentials(access_key_id=SecretStr("AKIA1"), secret_access_key=SecretStr("s3cr3t"))
    same = AwsCredentials(access_key_id=SecretStr("AKIA1"), secret_access_key=SecretStr("s3cr3t"))
    other = AwsCredentials(access_key_id=SecretStr("AKIA1"), secret_access_key=SecretStr("other"))
    assert creds.fingerprint() == same.fingerprint() != other.fingerprint()
    assert "s3cr3t" not in creds.fingerprint() and "AKIA1" not in creds.fingerprint()


def test_tool_call_from_json() -> None:
    assert ToolCall.from_json("i", "f", '{"a": 1}').arguments == {"a": 1}
    assert ToolCall.from_json("i", "f", "").arguments == {}
    assert ToolCall.from_json("i", "f", "[1]").raw_arguments == "[1]"
    assert ToolCall.from_json("i", "f", "{bad").raw_arguments == "{bad"
