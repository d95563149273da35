"""The refusal of a command by a session's rules, in the protocol's terms."""

from __future__ import annotations

from connect.errors import ConnectError
from connect.wire import messages as m


class CommandRejectedError(ConnectError):
    """A command cannot be applied; `failure` says why, in the protocol's terms."""

    def __init__(self, code: m.ErrorCode, message: str) -> None:
        super().__init__(message)
        self.failure = m.Failure(code, message)
