"""Typed errors of the Connect core: one root, `ConnectError`, mixed with builtins where fit."""

from __future__ import annotations


class ConnectError(Exception):
    """Root of every error raised by the `connect` package."""


class FrameError(ConnectError, ValueError):
    """A frame could not be decoded into a message; the session may reply with `Error`."""

    def __init__(self, message: str, *, seq: int | None = None, msg_id: str = "") -> None:
        super().__init__(message)
        self.seq = seq  # the offending envelope's sequence number, when it could be read
        self.msg_id = msg_id


class FrameTooLargeError(FrameError):
    """A frame is over the protocol's size limit (1 MiB); it was not parsed."""


class MalformedFrameError(FrameError):
    """A frame is not a valid Envelope: truncated, garbage, or a field out of range."""


class UnknownMessageError(FrameError):
    """A well-formed Envelope whose body this version does not know (a newer peer's message)."""


class MalformedCommandError(MalformedFrameError):
    """A Command that cannot be applied as sent, whose `command_id` could still be read.

    The device answers it with a failed CommandResult for that id (a controller waits on it),
    not with an Error frame: MALFORMED for a broken envelope around it.
    """

    def __init__(
        self, message: str, *, command_id: str, seq: int | None = None, msg_id: str = ""
    ) -> None:
        super().__init__(message, seq=seq, msg_id=msg_id)
        self.command_id = command_id


class InvalidCommandError(MalformedCommandError):
    """A Command with a value outside what it allows (a bad uid): INVALID_ARGUMENT by id."""


class EncodeError(ConnectError, ValueError):
    """A message could not be encoded: a value is out of the range the wire allows."""


class ConnectionLostError(ConnectError, ConnectionError):
    """The session to a device ended before the operation could finish."""


class DeviceNotFoundError(ConnectError, LookupError):
    """No known device matches the given name, id or address."""


class ConnectTimeoutError(ConnectError, TimeoutError):
    """A device did not answer in time."""


class UnknownCommandError(UnknownMessageError):
    """A Command whose action this version does not know; answer with a failed CommandResult."""

    def __init__(self, message: str, *, command_id: str, seq: int | None = None) -> None:
        super().__init__(message, seq=seq)
        self.command_id = command_id


# ------------------------------------------------------------------ access (docs/security.md)


class AccessError(ConnectError, PermissionError):
    """A device refused this controller: not paired, revoked, wrong role, or a wrong code."""

    def __init__(self, message: str, *, device: str = "") -> None:
        super().__init__(message)
        self.device = device  # the device's id or the name the user gave, for the message


class NotPairedError(AccessError):
    """The device needs a token from pairing and we hold none it accepts (stop retrying)."""


class AccessRevokedError(AccessError):
    """The device revoked our token; the stored credential was forgotten (stop retrying)."""


class ForbiddenError(AccessError):
    """Our role does not allow this (e.g. token management needs the owner role)."""


class WrongPinError(AccessError):
    """The pairing code was not the one the device shows now.

    `tries_left`: the wrong codes the device still takes before it pauses pairing, as the
    device counts them (every controller's); None when the device does not say.
    """

    def __init__(self, message: str, *, device: str = "", tries_left: int | None = None) -> None:
        super().__init__(message, device=device)
        self.tries_left = tries_left


class RateLimitedError(AccessError):
    """The device refuses pairing attempts for a while; `retry_after_s` says how long."""

    def __init__(self, message: str, *, device: str = "", retry_after_s: float = 0.0) -> None:
        super().__init__(message, device=device)
        self.retry_after_s = retry_after_s


class TokenNotFoundError(ConnectError, LookupError):
    """The device knows no token with that id (already revoked, or mistyped)."""


class UntrustedDeviceError(ConnectError):
    """The device's certificate does not match the id it claims or we paired with."""


class CredentialStoreError(ConnectError, OSError):
    """The controller's credentials file is unreadable, damaged or cannot be written."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class SocketClosedError(ConnectionLostError):
    """The WebSocket ended (closed by the device, or not a binary message where one is due)."""


class FingerprintMismatchError(UntrustedDeviceError):
    """Someone else answers at the device's address: its certificate is not the pinned one."""

    def __init__(self, host: str, port: int, got: str) -> None:
        super().__init__(f"{host}:{port} presented certificate {got or 'none'}")
        self.host, self.port, self.got = host, port, got


class TlsHandshakeError(ConnectError):
    """No TLS handshake completed: likely a plain-HTTP server where TLS is due."""


class GroupRefusedError(ConnectError):
    """A group request refused before anything was sent to a device: *device* (its id, "" for
    the request as a whole) cannot take part, and the message says why in the listener's words.
    `code` is the protocol's word for it: unsupported, not_found, not_active, busy, timeout."""

    def __init__(self, message: str, *, device: str = "", code: str = "unsupported") -> None:
        super().__init__(message)
        self.device, self.code = device, code
