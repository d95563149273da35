"""The Baton app: Qt screens, spatial navigation, local playback, the `baton` command."""
