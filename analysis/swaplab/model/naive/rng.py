"""The model's random stream, written again: splitmix64 on Python integers.

Same seed derivation and the same draws as the engine, so both models see one stream:
``next_u64`` for random page orders, ``uniform`` (53 bits) for jitter and trylock.
"""

from __future__ import annotations

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15  # splitmix64 increment
SEED_OFFSET = 0x632BE59BD9B4E019  # the model's seed derivation: seed * gamma + offset


class SplitMix64:
    """splitmix64 (Steele, Lea, Flood 2014) over a 64-bit state."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = (int(seed) * GOLDEN_GAMMA + SEED_OFFSET) & MASK64

    def next_u64(self) -> int:
        """The next 64 random bits."""
        self.state = (self.state + GOLDEN_GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self) -> float:
        """A float in [0, 1) from the top 53 bits."""
        return float(self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def below(self, n: int) -> int:
        """An integer in [0, n) (modulo reduction, as the model's Fisher-Yates uses)."""
        return self.next_u64() % n
