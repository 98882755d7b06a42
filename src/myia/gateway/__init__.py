"""The OpenAI-compatible gateway (/v1): wire translation, errors and the request service."""
