"""The app's traces: `tracing.setup` for its controller, when a trace collector is set.

Applied when the app starts (the SDK installs one tracer provider per process, for good): a
collector or user changed in Settings takes effect at the next start, as the screen says.
Without a collector nothing is imported and the instrumentation costs nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from client.app.views import AppSettings

if TYPE_CHECKING:
    from tracing.setup import Tracing

_LOG = logging.getLogger(__name__)

SPOOL_FILE = "trace-spool.sqlite3"  # in the app's state folder: survives a collector outage


def start_tracing(settings: AppSettings) -> tuple[Tracing | None, str]:
    """Trace the app's controller to `settings.trace_collector`; return (handle, problem).

    The handle is None, and the problem says why in the listener's words, when tracing could
    not start (a collector address that is not a URL, or an SDK already set up in-process).
    """
    if not settings.trace_collector:
        return None, ""
    from client.lifeline import controller_lifeline
    from tracing.setup import TraceSettings, setup

    # Its own lifeline, not the client id its sessions present: the CLI presents that one too
    # (client/lifeline.py); devices reply to the lifeline its traced Hello names.
    device_id, name = controller_lifeline("app")
    trace_settings = TraceSettings(
        settings.trace_collector,
        device_id=device_id,
        device_name=name,
        device_type="controller",
        user=settings.trace_user,
        token=settings.trace_token,
        spool=settings.state_dir / SPOOL_FILE,
    )
    try:
        return setup(trace_settings), ""
    except ValueError as exc:
        return None, f"Tracing is off: {exc}"
    except RuntimeError as exc:  # another part of this process set up tracing first
        _LOG.warning("app tracing not started: %s", exc)
        return None, f"Tracing is off: {exc}"
