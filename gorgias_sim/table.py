"""One entity's items by id, with a sorted key list per order, kept right as items change."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from .keyset import Key

T = TypeVar("T")


class Table(Generic[T]):
    """`sorts` maps an order's name to the sort value of an item; keys are (sort value, id).

    Not thread-safe on its own: the dataset's lock covers it.
    """

    def __init__(self, sorts: Mapping[str, Callable[[T], Any]], items: dict[int, T]) -> None:
        self.items = items  # shared with the caller on purpose (Dataset.customers)
        self._sorts = dict(sorts)
        self._keys = {
            name: sorted((sort(item), i) for i, item in items.items())
            for name, sort in self._sorts.items()
        }

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())

    def get(self, item_id: int) -> T | None:
        return self.items.get(item_id)

    def keys(self, order: str) -> list[Key]:
        """The live sorted keys of one order; read them under the dataset's lock."""
        return self._keys[order]

    def add(self, item_id: int, item: T) -> None:
        if item_id in self.items:
            raise ValueError(f"id {item_id} is taken")
        self.items[item_id] = item
        for name, sort in self._sorts.items():
            insort(self._keys[name], (sort(item), item_id))

    def remove(self, item_id: int) -> T:
        item = self.items.pop(item_id)
        for name, sort in self._sorts.items():
            keys = self._keys[name]
            key = (sort(item), item_id)
            i = bisect_left(keys, key)
            if i < len(keys) and keys[i] == key:
                del keys[i]
        return item

    def change(self, item_id: int, apply: Callable[[T], T]) -> T:
        """Replace an item by `apply(item)` (which may change it in place), re-sorting it."""
        return self._store(item_id, apply(self.remove(item_id)))

    def _store(self, item_id: int, item: T) -> T:
        self.add(item_id, item)
        return item
