"""BYOK provider credentials: encrypted at rest, masked on the way out, rotatable."""
