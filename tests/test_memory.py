"""The bounded memory behind the worker's caches (texts, resources, validated models, content)."""

from __future__ import annotations

from cds_service.memory import Memory


def test_a_full_memory_forgets_its_oldest_entry_first() -> None:
    memory: Memory[str, int] = Memory(3)
    for n, key in enumerate("abcd"):
        memory.put(key, n)
    assert len(memory) == 3
    assert memory.get("a") is None
    assert [memory.get(k) for k in "bcd"] == [1, 2, 3]
