"""Domain errors raised by services; the API, CLI and workers each translate them."""

from __future__ import annotations


class MyIAError(Exception):
    """Base of every error a service raises on purpose."""


class NotFoundError(MyIAError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity} '{key}' not found")
        self.entity = entity
        self.key = key


class ConflictError(MyIAError):
    """The request is valid but clashes with the current state: a uniqueness rule (a second
    provider with the same slug) or a transition the record's status forbids (resuming a job
    that is not paused)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(MyIAError):
    """Input that passed schema validation but breaks a domain rule; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AuthenticationError(MyIAError):
    pass


class PermissionDeniedError(MyIAError):
    pass
