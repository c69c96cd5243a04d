"""Keap (formerly Infusionsoft) REST API v1: contacts, tags and tag applications."""
