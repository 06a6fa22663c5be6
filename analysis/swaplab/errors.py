"""Exception types.  Library code raises these; the CLI prints them as one line and exits 2."""

from __future__ import annotations


class SwaplabError(Exception):
    """Base of every error swaplab reports to a user (bad input, failed run)."""
