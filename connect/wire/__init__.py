"""The wire: the protocol's messages as frozen dataclasses, and the codec to and from bytes.

`messages` names every message and enum (the .proto in proto/ documents their fields);
`codec` turns them into bytes and back, with typed refusals. The generated protobuf code
(`_pb/`, made by `./dev proto` through `protogen`) stays behind the codec and its private
`_to_wire`, `_from_wire`, `_lazy` and `_checks`.
"""

from connect.wire import codec, messages

__all__ = ["codec", "messages"]
