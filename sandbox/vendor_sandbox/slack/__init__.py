"""Slack Web API emulation: routes.py (thin HTTP layer) over backend.py (state); errors.py (error bodies)."""
