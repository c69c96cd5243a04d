"""SOP phases 4-5 after kick-off: the client's engagement plan, one flow per follow-up (each runnable
alone for one client and day), the daily sweep that runs what is due, and the KPI report."""
