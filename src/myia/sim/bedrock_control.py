"""Bedrock control plane: ListFoundationModels, GetFoundationModel, inference profiles."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from myia.sim.bedrock_wire import BedrockError, authenticate, error_response
from myia.sim.profiles import Profile, model_arn, strip_arn
from myia.sim.scenario import BedrockModel
from myia.sim.state import state_of

# Fixed so that listings are byte-for-byte reproducible.
PROFILE_CREATED = "2024-08-27T00:00:00Z"


def model_summary(model: BedrockModel, region: str) -> dict[str, Any]:
    status = "ACTIVE" if model.lifecycle_in(region) == "ACTIVE" else "LEGACY"
    return {
        "modelArn": model_arn(region, model.id),
        "modelId": model.id,
        "modelName": model.display_name,
        "providerName": model.provider,
        "inputModalities": list(model.input_modalities),
        "outputModalities": list(model.output_modalities),
        "responseStreamingSupported": model.streaming,
        "customizationsSupported": list(model.customizations),
        "inferenceTypesSupported": list(model.inference_types),
        "modelLifecycle": {"status": status},
    }


def profile_summary(profile: Profile, region: str, account_id: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": profile.name,
        "description": f"Routes requests to {profile.model.display_name} in "
        f"{', '.join(profile.destinations)}.",
        "createdAt": PROFILE_CREATED,
        "updatedAt": PROFILE_CREATED,
        "inferenceProfileArn": profile.arn(region, account_id),
        "models": [{"modelArn": model_arn(r, profile.model.id)} for r in profile.destinations],
        "inferenceProfileId": profile.id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def _matches(model: BedrockModel, query: dict[str, str]) -> bool:
    provider = query.get("byProvider")
    if provider and provider.lower() != model.provider.lower():
        return False
    modality = query.get("byOutputModality")
    if modality and modality not in model.output_modalities:
        return False
    inference = query.get("byInferenceType")
    if inference and inference not in model.inference_types:
        return False
    customization = query.get("byCustomizationType")
    return not customization or customization in model.customizations


async def list_foundation_models(request: Request) -> Response:
    state = state_of(request)
    try:
        region = authenticate(request, state.scenario).region
    except BedrockError as error:
        return error_response(error)
    state.record_control_plane()
    query = dict(request.query_params)
    summaries = [
        model_summary(m, region)
        for m in state.scenario.models_in(region)
        if m.listed_in(region) and _matches(m, query)
    ]
    return JSONResponse({"modelSummaries": summaries})


async def get_foundation_model(request: Request) -> Response:
    state = state_of(request)
    try:
        region = authenticate(request, state.scenario).region
        model = state.scenario.model(strip_arn(request.path_params["model_id"]))
        in_region = model is not None and model in state.scenario.models_in(region)
        if model is None or not in_region or not model.listed_in(region):
            raise BedrockError("ResourceNotFoundException", "The requested model was not found.")
    except BedrockError as error:
        return error_response(error)
    state.record_control_plane()
    return JSONResponse({"modelDetails": model_summary(model, region)})


def _page(query: dict[str, str], default_size: int) -> tuple[int, int]:
    try:
        size = int(query.get("maxResults", default_size))
        offset = (
            int(base64.urlsafe_b64decode(query["nextToken"]).decode())
            if ("nextToken" in query)
            else 0
        )
    except (ValueError, binascii.Error) as exc:
        raise BedrockError("ValidationException", "Invalid pagination parameters.") from exc
    if not 1 <= size <= 1000 or offset < 0:
        raise BedrockError("ValidationException", "maxResults must be between 1 and 1000.")
    return offset, size


async def list_inference_profiles(request: Request) -> Response:
    state = state_of(request)
    scenario = state.scenario
    query = dict(request.query_params)
    try:
        region = authenticate(request, scenario).region
        offset, size = _page(query, scenario.defaults.profiles_page_size)
    except BedrockError as error:
        return error_response(error)
    state.record_control_plane()
    # Only system-defined profiles exist here; nobody creates application profiles.
    profiles = [] if query.get("type") == "APPLICATION" else scenario.profiles_in(region)
    page = profiles[offset : offset + size]
    body: dict[str, Any] = {
        "inferenceProfileSummaries": [profile_summary(p, region, scenario.account_id) for p in page]
    }
    if offset + size < len(profiles):
        body["nextToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
    return JSONResponse(body)


async def get_inference_profile(request: Request) -> Response:
    state = state_of(request)
    scenario = state.scenario
    wanted = strip_arn(request.path_params["profile_id"])
    try:
        region = authenticate(request, scenario).region
        profile = next((p for p in scenario.profiles_in(region) if p.id == wanted), None)
        if profile is None:
            raise BedrockError(
                "ResourceNotFoundException", f"Inference profile {wanted} not found."
            )
    except BedrockError as error:
        return error_response(error)
    state.record_control_plane()
    return JSONResponse(profile_summary(profile, region, scenario.account_id))


routes = [
    Route("/foundation-models", list_foundation_models, methods=["GET"]),
    Route("/foundation-models/{model_id:path}", get_foundation_model, methods=["GET"]),
    Route("/inference-profiles", list_inference_profiles, methods=["GET"]),
    Route("/inference-profiles/{profile_id:path}", get_inference_profile, methods=["GET"]),
]
