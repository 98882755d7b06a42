"""MyIA: self-hosted multi-provider AI platform."""

__version__ = "0.1.0"
