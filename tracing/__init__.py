"""Baton tracing: OpenTelemetry setup, the collector and the trace viewer (`baton-traces`)."""
