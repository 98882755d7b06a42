"""`myia.sim`: a local provider simulator speaking the Bedrock and OpenAI wire protocols.

Unmodified boto3 (`endpoint_url=server.base_url`) and the openai SDK
(`base_url=f"{server.base_url}/{slug}/v1"`) talk to it. See docs/simulator.md.
"""

from myia.sim.outcome import Capability, Outcome
from myia.sim.scenario import BedrockModel, OpenAIModel, OpenAIProvider, Scenario, load_scenario
from myia.sim.server import SimServer, build_app, running_simulator
from myia.sim.state import SimStats

__all__ = [
    "BedrockModel",
    "Capability",
    "OpenAIModel",
    "OpenAIProvider",
    "Outcome",
    "Scenario",
    "SimServer",
    "SimStats",
    "build_app",
    "load_scenario",
    "running_simulator",
]
