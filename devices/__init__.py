"""The Baton receiver: libVLC player, device profiles, persistence, `baton-receiver`. No Qt."""
