"""Integration tests of mDNS discovery over loopback and between network namespaces."""
