"""The Baton app: desktop and TV client (Qt), its bridge to the asyncio core, and its screens.

Every PySide6 import of the app lives in this package (and client/navigation); `views`,
`library`, `core` and `local_device` are Qt-free.
"""
