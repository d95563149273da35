"""The bridges' exceptions: one root, and the device's own refusals and failures."""

from __future__ import annotations

from connect.wire import messages as m

__all__ = ["BridgeError", "DeviceUnreachableError", "PlayerError"]


class BridgeError(Exception):
    """Something a bridge could not do."""


class PlayerError(BridgeError):
    """The bridged device refused a command or failed to play; `code` says which kind."""

    def __init__(self, code: m.ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def failure(self) -> m.Failure:
        """Return the failure a controller is told."""
        return m.Failure(self.code, str(self))


class DeviceUnreachableError(PlayerError):
    """The bridged device cannot be reached (not listening, connection lost)."""
