"""Storage: the only package with SQL (DESIGN §3, §7).

One module per concern, each a set of functions taking a ``Store``:
``db`` (connection, transactions), ``migrations``, ``contacts`` (contacts, lists,
suppressions, events), and the modules of the sending, bounce and report concerns.
"""

from mailbounce.store.db import Store, utcnow

__all__ = ["Store", "utcnow"]
