"""Chats: conversations of a user with certified models, each answer with its telemetry."""
