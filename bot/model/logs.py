"""Log lines, from Cloud Logging or the Kubernetes API, in one shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class LogLine:
    timestamp: datetime | None
    severity: str  # DEFAULT .. EMERGENCY; "" when the source has none
    text: str
    origin: str = ""  # node name, pod/container, or component
