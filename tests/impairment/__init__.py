"""A userspace network impairment proxy for tests and benchmarks (this machine has no tc/netem).

`profile` says what a link does (delay, jitter, spikes, stalls, bandwidth, resets, mDNS loss);
`tcp` relays TCP connections through such a link, `mdns` relays mDNS multicast between two
network namespaces through one; `python -m tests.impairment` runs both as a process between
two namespaces (docs/reliability.md, "Bad networks").
"""
