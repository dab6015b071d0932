"""A compat32 ``Message`` that answers header look-ups from an index built once.

compat32's ``Message.get`` / ``get_all`` / ``in`` scan the whole header list and lower-case
every name on each call, and ``get_content_type`` re-parses Content-Type each time. Some 70
detectors ask the same questions of the same message: the DEV corpus profile showed ~60
``get`` and ~44 ``get_content_type`` calls per message (h12). This subclass answers them from
a per-part index, built on first use after parsing, with the very same values (each value
still goes through ``policy.header_fetch_parse``), and drops the index on every change.
"""

from __future__ import annotations

from email.message import Message
from typing import Any


class IndexedMessage(Message):
    """``email.message.Message`` with cached header look-ups and content type."""

    _index: dict[str, list[tuple[str, Any]]] | None = None
    _content_type: str | None = None

    def _header_index(self) -> dict[str, list[tuple[str, Any]]]:
        index = self._index
        if index is None:
            index = {}
            headers: list[tuple[str, Any]] = self._headers  # type: ignore[attr-defined]
            for name, value in headers:
                index.setdefault(name.lower(), []).append((name, value))
            self._index = index
        return index

    def _changed(self) -> None:
        self._index = None
        self._content_type = None

    def get(self, name: str, failobj: Any = None) -> Any:
        found = self._header_index().get(name.lower())
        if not found:
            return failobj
        return self.policy.header_fetch_parse(*found[0])

    def get_all(self, name: str, failobj: Any = None) -> Any:
        found = self._header_index().get(name.lower())
        if not found:
            return failobj
        return [self.policy.header_fetch_parse(k, v) for k, v in found]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._header_index()

    def get_content_type(self) -> str:
        cached = self._content_type
        if cached is None:
            cached = self._content_type = super().get_content_type()
        return cached

    # Every way the standard library changes headers or the default type drops the caches.
    def __setitem__(self, name: str, val: Any) -> None:
        self._changed()
        super().__setitem__(name, val)

    def __delitem__(self, name: str) -> None:
        self._changed()
        super().__delitem__(name)

    def set_raw(self, name: str, value: Any) -> None:
        self._changed()
        super().set_raw(name, value)

    def add_header(self, _name: str, _value: str, **_params: Any) -> None:
        self._changed()
        super().add_header(_name, _value, **_params)

    def replace_header(self, _name: str, _value: Any) -> None:
        self._changed()
        super().replace_header(_name, _value)

    def set_boundary(self, boundary: str) -> None:
        self._changed()
        super().set_boundary(boundary)

    def set_default_type(self, ctype: str) -> None:
        self._changed()
        super().set_default_type(ctype)
