"""PLACEHOLDER: replaced by the HubSpot integration."""
HubSpotCRM = object
def connect(*a, **k): return None
