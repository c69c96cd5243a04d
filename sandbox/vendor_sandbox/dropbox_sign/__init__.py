"""Dropbox Sign emulation: the signature-request endpoints the SOP uses, and the signers' side."""
