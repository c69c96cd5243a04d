"""Slack Web API emulation (routes + backend)."""
