"""The 10-foot TV layout of the app (`baton --tv`): rows of cards, a full-screen Now playing,
a device picker one key away, every text legible at 3 m, inside the overscan margin."""
