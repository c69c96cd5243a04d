"""PLACEHOLDER: replaced by the Zoom integration."""
ZoomMeetings = object
def connect(*a, **k): return None
