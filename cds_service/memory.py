"""A bounded memory of results a worker can compute again: the oldest entry is forgotten first.

The worker's threads share each memory; keys are digests wherever the value was computed from
patient data, so what a memory holds is never the text itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memory(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        # Not a dict: forgetting a dict's first entry again and again leaves a run of holes
        # that finding the next first entry walks (29 µs a put in a full memory of 32,768,
        # bench/README.md); an OrderedDict forgets its first entry in constant time.
        self._entries: OrderedDict[K, V] = OrderedDict()
        #: The value remembered for a key, or None: the dict's own look-up, called for every
        #: resource of every chart, so no Python frame of its own.
        self.get: Callable[[K], V | None] = self._entries.get
        self._lock = threading.Lock()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.popitem(last=False)
            self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)
