"""Unit tests of mDNS discovery: interface choice and the TXT contract."""
