"""Strict JSON for every file and printout streamseg writes.

Python's ``json`` writes ``NaN`` and ``Infinity``, which are not JSON: a browser's or
``jq``'s parser refuses the whole file. Statistics are NaN where they are undefined
(a loss before the first step, a latency with no frame), so they become ``null``.

Example:
    >>> from streamseg.jsonout import dumps
    >>> import numpy as np
    >>> dumps({"loss": float("nan"), "steps": np.int64(3), "ms": (1.5, float("inf"))})
    '{"loss": null, "steps": 3, "ms": [1.5, null]}'
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["dumps", "plain"]


def plain(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and infinities become ``None``, numpy scalars Python."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    """``value`` as strict JSON text (no ``NaN``; see :func:`plain`)."""
    return json.dumps(plain(value), indent=indent, allow_nan=False)
