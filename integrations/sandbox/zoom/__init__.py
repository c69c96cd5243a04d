"""Zoom emulation: S2S OAuth + Meetings/Users v2 (routes.py thin, backend.py state)."""
