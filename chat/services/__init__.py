"""Writes. The only code that changes chat state; pages, the API and the socket call these."""
