"""Errors raised by the model."""

from __future__ import annotations

from swaplab.errors import SwaplabError


class ModelError(SwaplabError, ValueError):
    """Bad policy, knob or model input; the message is one line naming what is allowed."""
