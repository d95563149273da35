"""Finding devices: the controller's registry (mDNS browsing, devices added by hand), the TXT
record both ends agree on, and the choice of network interfaces.

The device's side, `ServiceAdvertiser`, is imported from `advertise` (which also runs as
`python -m connect.discovery.advertise`, a stand-in receiver for tests and benchmarks), and
the interface helpers from `interfaces`.
"""

from connect.discovery.registry import (
    DeviceAdded,
    DeviceEntry,
    DeviceEvent,
    DeviceRegistry,
    DeviceRemoved,
    DeviceUpdated,
)
from connect.discovery.txt import ServiceRecord, capability_hash

__all__ = [
    "DeviceAdded",
    "DeviceEntry",
    "DeviceEvent",
    "DeviceRegistry",
    "DeviceRemoved",
    "DeviceUpdated",
    "ServiceRecord",
    "capability_hash",
]
