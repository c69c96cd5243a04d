"""SOP phases 1-3: the new-client run (``new_client.onboard_client``) and one subflow per phase,
each runnable on its own from its parameters; ``cancel`` archives what a cancelled run made."""
