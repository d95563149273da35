"""Who may do what on a device (docs/security.md): pairing, tokens and roles, the
controller's stored credentials, and the device's TLS identity.

`pairing` holds the sans-IO rules (codes, tokens, roles, rate limits) a device's
`AccessControl` applies; `credentials` the controller's tokens on disk; `tls` the device's
key and certificate, trusted by fingerprint. The HTTP endpoints (`_endpoints`, the device's)
and the requests to them (`_requests`, the controller's) are private to the session server
and the controller.

The names are loaded on first use (PEP 562), so a controller does not load a device's rules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connect.access.credentials import Credential, CredentialStore, paired_now
    from connect.access.pairing import AccessControl, AccessDeniedError, Grant

__all__ = [
    "AccessControl",
    "AccessDeniedError",
    "Credential",
    "CredentialStore",
    "Grant",
    "paired_now",
]


_PAIRING_NAMES = frozenset({"AccessControl", "AccessDeniedError", "Grant"})


def __getattr__(name: str) -> object:
    """Load a public name from the module that defines it, on first use."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = "pairing" if name in _PAIRING_NAMES else "credentials"
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
