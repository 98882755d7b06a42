"""The seed data file shipped with the package (`myia/data/seed.yaml`), validated."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from myia.db.enums import AuthType, InferenceType, UserRole
from myia.errors import InvalidInputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedProvider(_Strict):
    slug: str
    name: str
    base_url: str | None
    auth_type: AuthType


class SeedDeployment(_Strict):
    provider: str
    deployment_id: str
    inference_type: InferenceType = InferenceType.ON_DEMAND


class SeedBaseModel(_Strict):
    name: str
    vendor: str
    family: str | None = None
    version: str | None = None
    release_date: date | None = None
    description: str | None = None
    capabilities: dict[str, Any]
    deployments: list[SeedDeployment] = Field(default_factory=list)


class SeedUser(_Strict):
    email: str
    password: str
    name: str | None = None
    role: UserRole = UserRole.USER
    theme: str = "light"


class SeedExchange(_Strict):
    user: str
    assistant: str
    latency_ms: int = Field(gt=0)
    time_to_first_token_ms: int = Field(gt=0)


class SeedChat(_Strict):
    user: str
    title: str
    provider: str
    deployment_id: str
    region: str
    system_prompt: str
    params: dict[str, Any] = Field(default_factory=dict)
    days_ago: int = Field(default=1, ge=0)
    exchanges: list[SeedExchange]


class SeedDemo(_Strict):
    users: list[SeedUser]
    chats: list[SeedChat]


class SeedFile(_Strict):
    providers: list[SeedProvider]
    base_models: list[SeedBaseModel]
    demo: SeedDemo

    @model_validator(mode="after")
    def _references_exist(self) -> SeedFile:
        slugs = {provider.slug for provider in self.providers}
        deployments = {
            (deployment.provider, deployment.deployment_id)
            for model in self.base_models
            for deployment in model.deployments
        }
        emails = {user.email for user in self.demo.users}
        for deployment in deployments:
            if deployment[0] not in slugs:
                raise ValueError(f"deployment {deployment} names an unknown provider")
        for chat in self.demo.chats:
            if (chat.provider, chat.deployment_id) not in deployments:
                raise ValueError(f"chat '{chat.title}' uses an unknown deployment")
            if chat.user not in emails:
                raise ValueError(f"chat '{chat.title}' belongs to an unknown user {chat.user}")
        return self


def default_seed_path() -> Path:
    return Path(str(resources.files("myia") / "data" / "seed.yaml"))


def load_seed_file(path: Path | None = None) -> SeedFile:
    path = path or default_seed_path()
    try:
        return SeedFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InvalidInputError("seed file", f"{path}: {exc}") from exc


@lru_cache(maxsize=1)
def default_seed() -> SeedFile:
    return load_seed_file()
