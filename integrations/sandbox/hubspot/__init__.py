"""HubSpot CRM v3 / associations v4 emulation (routes + backend)."""
