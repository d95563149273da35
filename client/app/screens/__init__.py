"""The app's four screens: Library, Now playing, Devices, Settings."""
