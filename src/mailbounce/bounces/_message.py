"""A compat32 ``Message`` that answers header look-ups from an index built once.

compat32's ``Message.get`` / ``get_all`` / ``in`` scan the whole header list and lower-case
every name on each call, and ``get_content_type`` re-parses Content-Type each time. Some 70
detectors ask the same questions of the same message: the DEV corpus profile showed ~60
``get`` and ~44 ``get_content_type`` calls per message (h12). This subclass answers them from
a per-part index, built on first use after parsing, with the very same values (each value
still goes through ``policy.header_fetch_parse``), and drops the index on every change.
"""

from __future__ import annotations

from email._policybase import compat32  # email.policy's, without importing email.policy
from email.message import Message
from typing import Any

_ABSENT = object()  # ``get``'s answer for a name without a field


class IndexedMessage(Message):
    """``email.message.Message`` with cached header look-ups and content type."""

    # Lower-cased name -> its first field's raw value.
    _index: dict[str, Any] | None = None
    _index_length = -1  # the header count when the index was built (``set_raw`` appends)
    _content_type: str | None = None
    _content_type_length = -1

    def _header_index(self) -> dict[str, Any]:
        """The first field's raw value per lower-cased name (see ``_index``), made in one
        comprehension, the last field of a name written last (round 5: sorting out ASCII
        values here cost a fifth of the build; ``get`` checks the few values it returns)."""
        headers: list[tuple[str, Any]] = self._headers  # type: ignore[attr-defined]
        index = self._index
        if index is None or self._index_length != len(headers):
            index = {name.lower(): value for name, value in reversed(headers)}
            self._index, self._index_length = index, len(headers)
        return index

    def _first_pair(self, key: str) -> tuple[str, Any]:
        """The first field whose lower-cased name is ``key`` (one the index holds)."""
        headers: list[tuple[str, Any]] = self._headers  # type: ignore[attr-defined]
        return next(pair for pair in headers if pair[0].lower() == key)

    def _changed(self) -> None:
        self._index = None
        self._content_type = None

    def get(self, name: str, failobj: Any = None) -> Any:
        if self.policy is not compat32:
            return super().get(name, failobj)
        index = self._index  # ``_header_index()`` inlined: detectors ask ~20 times a message
        if index is None or self._index_length != len(self._headers):  # type: ignore[attr-defined]
            index = self._header_index()
        key = name.lower()
        value = index.get(key, _ABSENT)
        if value.__class__ is str and value.isascii():
            return value  # what compat32's header_fetch_parse returns for it, without the calls
        if value is _ABSENT:
            return failobj
        return compat32.header_fetch_parse(*self._first_pair(key))

    def get_all(self, name: str, failobj: Any = None) -> Any:
        key = name.lower()
        if key not in self._header_index():
            return failobj  # most names asked are absent: the index tells without a pass
        # One pass over the fields for the name asked (round 5: lists per name for every
        # name, built for the Received look-ups alone, cost ~4% of detection). A field
        # whose name lower-cases to an ASCII name has that name's length (every character
        # ``str.lower`` maps into ASCII maps to one character: a test checks all of
        # Unicode), so fields of another length are passed over without lower-casing them.
        if self.policy is compat32 and key.isascii():
            fetch = compat32.header_fetch_parse
            length = len(key)
            return [
                v if v.__class__ is str and v.isascii() else fetch(k, v)
                for k, v in self._headers  # type: ignore[attr-defined]
                if len(k) == length and k.lower() == key
            ]
        return [
            self.policy.header_fetch_parse(k, v)
            for k, v in self._headers  # type: ignore[attr-defined]
            if k.lower() == key
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._header_index()

    def get_content_type(self) -> str:
        length = len(self._headers)  # type: ignore[attr-defined]
        cached = self._content_type
        if cached is None or self._content_type_length != length:
            cached = self._content_type = super().get_content_type()
            self._content_type_length = length
        return cached

    # Every other way the standard library changes headers or the default type drops the
    # caches, after the change (which may itself read headers). ``set_raw``, called for each
    # header while parsing, only appends: the header counts above tell.
    def __setitem__(self, name: str, val: Any) -> None:
        super().__setitem__(name, val)
        self._changed()

    def __delitem__(self, name: str) -> None:
        super().__delitem__(name)
        self._changed()

    def add_header(self, _name: str, _value: str, **_params: Any) -> None:
        super().add_header(_name, _value, **_params)
        self._changed()

    def replace_header(self, _name: str, _value: Any) -> None:
        super().replace_header(_name, _value)
        self._changed()

    def set_boundary(self, boundary: str) -> None:
        super().set_boundary(boundary)
        self._changed()

    def set_default_type(self, ctype: str) -> None:
        super().set_default_type(ctype)
        self._changed()
