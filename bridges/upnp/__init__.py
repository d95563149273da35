"""UPnP/DLNA MediaRenderers as Baton devices: the player adapter and its pure rules."""

from bridges.upnp._status import upnp_device_id
from bridges.upnp.player import UpnpPlayer

__all__ = ["UpnpPlayer", "upnp_device_id"]
