"""Asana emulation (REST 1.0): routes.py (thin HTTP layer) over backend.py (state); errors.py (error bodies)."""
