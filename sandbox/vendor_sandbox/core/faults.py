"""Seeded fault injection per vendor: 429s, 500/503s and slow answers, for reliability work."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    """Probabilities (0..1) that one request to a vendor gets each fault."""

    rate_limit: float = Field(0.0, ge=0, le=1, description="answer 429 in the vendor's shape")
    server_error: float = Field(0.0, ge=0, le=1, description="answer 500")
    unavailable: float = Field(0.0, ge=0, le=1, description="answer 503")
    slow: float = Field(0.0, ge=0, le=1, description="delay the answer by slow_seconds")
    slow_seconds: float = Field(5.0, ge=0, le=600)


@dataclass(frozen=True)
class Fault:
    kind: str  # "rate_limit" | "server_error" | "unavailable" | "slow"
    delay: float = 0.0


class FaultInjector:
    """Draws faults from one seeded random stream per vendor, so a run is repeatable."""

    def __init__(self, seed: int = 0, config: dict[str, FaultConfig] | None = None) -> None:
        self.seed = seed
        self.config: dict[str, FaultConfig] = dict(config or {})
        self._rngs: dict[str, random.Random] = {}

    def configure(self, vendor: str, config: FaultConfig) -> None:
        self.config[vendor] = config
        self._rngs.pop(vendor, None)

    def draw(self, vendor: str) -> Fault | None:
        cfg = self.config.get(vendor)
        if cfg is None:
            return None
        rng = self._rngs.setdefault(vendor, random.Random(self.seed ^ zlib.crc32(vendor.encode())))
        roll = rng.random()
        for kind in ("rate_limit", "server_error", "unavailable", "slow"):
            p = getattr(cfg, kind)
            if roll < p:
                return Fault(kind, cfg.slow_seconds if kind == "slow" else 0.0)
            roll -= p
        return None
