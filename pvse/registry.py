"""Plug-in tables: one per kind of pluggable part (frame CNNs, word features, frame-text readers, index backends).

Each implementing module adds its entry at import time (`Registry.register`, the table it imports); the lookup
module holds a `Catalog` that imports the built-in modules and the modules its entry-point group names the first
time it is asked, so the table never imports its users. Other packages add theirs in their pyproject.toml, e.g.::

    [project.entry-points."pvse_gif.features"]
    my-cnn = "my_package.my_cnn"
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Entries of one kind by name: the table implementing modules register into. It names no implementation
    (they import it); `Catalog` finds them.

    origin(entry) says where an entry comes from: registering a name again from elsewhere is a ValueError (a
    reloaded module registering the same thing again is not)."""

    def __init__(self, kind: str, origin: Callable[[T], str] | None = None) -> None:
        self.kind = kind
        self._origin = origin
        self._entries: dict[str, T] = {}
        self.lock = threading.RLock()  # re-entrant: a module a Catalog imports registers while it holds the lock

    def register(self, entry: T) -> T:
        """Add an entry (call at import time of the module that implements it); returns it."""
        with self.lock:
            old = self._entries.get(entry.name)
            if (self._origin is not None and old is not None and old != entry
                    and self._origin(old) != self._origin(entry)):
                raise ValueError(f"{self.kind} {entry.name!r} is already registered by {self._origin(old)}")
            self._entries[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry by name (for tests and plug-ins that withdraw one)."""
        with self.lock:
            self._entries.pop(name, None)

    def registered(self) -> dict[str, T]:
        """The entries registered so far, sorted by name (which module was imported first never changes it)."""
        with self.lock:
            return dict(sorted(self._entries.items()))


class Catalog(Generic[T]):
    """A registry with where its entries come from: built-in module names and an entry-point group, imported the
    first time it is asked."""

    def __init__(self, registry: Registry[T], builtin_modules: tuple[str, ...], entry_point_group: str) -> None:
        self.registry = registry
        self.builtin_modules = builtin_modules
        self.entry_point_group = entry_point_group
        self._discovered = False

    def all(self) -> dict[str, T]:
        """Every entry by name, sorted: the built-in modules', the entry points' and any registered since."""
        with self.registry.lock:
            if not self._discovered:
                for module in self.builtin_modules:
                    importlib.import_module(module)
                for entry in entry_points(group=self.entry_point_group):
                    entry.load()
                self._discovered = True
        return self.registry.registered()

    def get(self, name: str, error: type[Exception] = KeyError) -> T:
        """The entry called `name`, or `error` with a one-line message naming the known ones."""
        known = self.all()
        if name not in known:
            raise error(f"unknown {self.registry.kind} {name!r}; known: {', '.join(known)}")
        return known[name]
