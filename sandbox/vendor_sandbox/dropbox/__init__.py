"""Dropbox (files, shared links, file requests) emulation."""
