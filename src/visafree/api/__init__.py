"""The HTTP API (v1) and the traveller's page. Needs the `server` extra (FastAPI)."""

from .app import API_LIMITS, MAX_BODY_BYTES, create_app

__all__ = ["API_LIMITS", "MAX_BODY_BYTES", "create_app"]
