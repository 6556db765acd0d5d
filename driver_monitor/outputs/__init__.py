"""Sinks that write pipeline results: the event log and the per-frame table."""
