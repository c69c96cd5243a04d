"""Google emulation (Drive v3, Forms v1, Gmail v1, Calendar v3): routes.py over backend.py; errors.py, common.py."""
