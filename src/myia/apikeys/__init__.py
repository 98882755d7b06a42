"""Per-user API keys for the OpenAI-compatible gateway: created, listed, revoked, verified."""
