"""`myia sim`: refuses bad scenarios clearly, prints how to connect, then serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from myia.cli.main import app
from tests.sim.conftest import SCENARIOS


def test_bad_scenario_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("regions: [us-east-1]\nmodels:\n  - {id: m, provider: X, fualts: [tools]}\n")
    result = CliRunner().invoke(app, ["sim", "--scenario", str(path)])
    assert result.exit_code == 1
    assert "fualts" in result.output


def test_serves_the_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def fake_run(application: object, **kwargs: Any) -> None:
        # Serving forever is uvicorn's job; here we only check what it would serve.
        served.update(kwargs, app=application)

    monkeypatch.setattr("uvicorn.run", fake_run)
    result = CliRunner().invoke(
        app, ["sim", "--scenario", str(SCENARIOS / "test-basic.yaml"), "--port", "8911"]
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8911" in result.output
    assert "endpoint_url" in result.output and "/openai/v1" in result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 8911)
