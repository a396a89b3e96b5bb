"""A small generic registry: strategies and scorers register by name, so a new one is one file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object, with an error that lists the known names when a lookup misses."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.what} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def unknown(self, name: str) -> str:
        """The message for a name that is not registered, listing the ones that are."""
        return f"unknown {self.what} '{name}' (known: {', '.join(sorted(self._items))})"

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(self.unknown(name)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def names(self) -> list[str]:
        return list(self._items)
