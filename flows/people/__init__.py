"""Waiting on people: the approval forms staff answer in the Prefect UI, and the waits (with
reminders, escalations and timeouts) for staff and for clients."""
