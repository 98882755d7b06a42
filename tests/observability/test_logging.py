"""Log output: JSON lines on stdout, redacted, for structlog and standard-library records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from myia.observability.context import request_id_var, user_id_var
from myia.observability.logging import configure_logging, get_logger


@pytest.fixture
def configured(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    configure_logging("INFO")
    yield
    configure_logging("INFO")


def _lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capfd.readouterr().out.splitlines() if line]


@pytest.mark.usefixtures("configured")
def test_events_are_json_with_context_and_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    request_token = request_id_var.set("req-42")
    user_token = user_id_var.set("user-7")
    try:
        get_logger("tests.logging").info("called", api_key="sk-test-0123456789", tokens=12)
    finally:
        request_id_var.reset(request_token)
        user_id_var.reset(user_token)
    [line] = _lines(capfd)
    assert line["event"] == "called" and line["level"] == "info"
    assert line["request_id"] == "req-42" and line["user_id"] == "user-7"
    assert line["api_key"] == "***" and line["tokens"] == 12
    assert line["logger_name"] == "tests.logging" and "timestamp" in line


@pytest.mark.usefixtures("configured")
def test_stdlib_records_are_json_and_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("uvicorn.error").warning("retrying with Bearer abc.def.ghi")
    [line] = _lines(capfd)
    assert line["logger_name"] == "uvicorn.error" and line["level"] == "warning"
    assert "abc.def.ghi" not in str(line["event"])


@pytest.mark.usefixtures("configured")
def test_uvicorn_access_log_is_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    # Our middleware logs each request without its query string; uvicorn's line would not.
    logging.getLogger("uvicorn.access").info('GET /api/x?key=%s HTTP/1.1" 200', "hidden")
    assert _lines(capfd) == []


@pytest.mark.usefixtures("configured")
def test_exceptions_are_rendered_and_redacted(capfd: pytest.CaptureFixture[str]) -> None:
    try:
        raise RuntimeError("provider refused AKIAABCDEFGHIJKLMNOP")
    except RuntimeError:
        get_logger("tests.logging").exception("call failed")
    [line] = _lines(capfd)
    assert "RuntimeError" in str(line["exception"])
    assert "AKIAABCDEFGHIJKLMNOP" not in json.dumps(line)
