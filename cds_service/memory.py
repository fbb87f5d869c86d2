"""A bounded memory of results a worker can compute again: the oldest entry is forgotten first.

The worker's threads share each memory; keys are digests wherever the value was computed from
patient data, so what a memory holds is never the text itself.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memory(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.pop(next(iter(self._entries)), None)
            self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)
