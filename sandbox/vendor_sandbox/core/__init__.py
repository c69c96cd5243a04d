"""The sandbox's shared machinery: the app, the state store, the vendor base class, rate limits, faults, the server."""
