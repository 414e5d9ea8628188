"""Fake provider server and demo workload: realistic traffic without API keys or money."""
