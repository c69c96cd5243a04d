"""HubSpot emulation (CRM v3, associations v4): routes.py over backend.py (state); errors.py (error bodies)."""
