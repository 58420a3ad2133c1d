"""Channels, the inbound pipeline, the gateway app and the `relevo` CLI."""
