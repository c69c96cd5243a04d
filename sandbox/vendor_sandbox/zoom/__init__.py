"""Zoom emulation (S2S OAuth, Meetings/Users v2): routes.py over backend.py (state); errors.py (error bodies)."""
