"""The HTTP service: ``procflow serve`` runs ``create_app`` on uvicorn.

One responsibility per module: ``app`` (the routes, JSON over ``Workflows``), ``auth`` (who is
calling: users, passwords, tokens, a trusted proxy), ``problems`` (RFC 9457 refusals) and
``openapi`` (the OpenAPI 3.1 document, generated from the registered definitions).
"""

from engine.errors import UsersFileError
from engine.http.app import create_app
from engine.http.auth import Authenticator, TrustedProxy

__all__ = ["Authenticator", "TrustedProxy", "UsersFileError", "create_app"]
