"""Domain typo suggestions: ``jean@gmial.com`` -> ``jean@gmail.com``, never ``edf.fr`` -> anything.

Only the domain is corrected: a local part is unknowable. The engine decides, in order:

1. a known or legitimate domain (providers, listed organisations, ``univ-*.fr``...) is left
   alone;
2. a "real neighbour" confusable (``email.com``) maps to the provider it is almost always a
   slip for;
3. a provider's name under a suffix it does not use (``gmail.fr``, ``wanadoo.com``,
   ``gmail.com.br``) maps to the provider, unless the brand has country variants and the
   suffix is a country's (``hotmail.be``, ``yahoo.co.jp`` stay);
4. otherwise the closest provider by the weighted slip distance (``distance.py``), within a
   threshold that grows with the provider name's length, and only if the typed top-level
   domain is not a different real one (``gial.edu`` is not ``gmail.com``), or a slipped
   long brand name under a popular suffix it does not use (``gamil.fr`` -> ``gmail.com``),
   whichever is cheaper; a bare brand (``jean@gmail``) and a doubled suffix
   (``gmail.com.com``) map to the brand's domain;
5. otherwise, for any domain, a top-level domain that does not exist and is one slip from
   .com/.net/.org/.fr is repaired (``example.con``, ``examplecom``, ``examplec.om``); the
   result goes through steps 1-4 again (``gmail.frr`` -> ``gmail.fr`` -> ``gmail.com``).

Deterministic: candidates are compared on (cost, -weight, domain), never in set order.
Results are cached per distinct domain; the neighbour index is built once per engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailbounce.checks.distance import slip_count, slip_distance
from mailbounce.checks.providers import KnowledgeBase, default_knowledge_base

# Top-level domains a typed one is repaired to, most used first (ties go to the first).
POPULAR_TLDS = ("com", "fr", "net", "org")
# Real ccTLDs that are, in a member list, nearly always a clipped ".com" (Colombia, Cameroon,
# Oman: ``hotmail.om``).
COM_SLIPS = frozenset({"co", "cm", "om"})
# Edits per side kept in the neighbour index (symmetric deletion, as in SymSpell): two slips.
MAX_DELETES = 2
TLD_REPAIR_LIMIT = 1.0
# Two-letter names (ms.com, me.com, gm.com) are one slip from too many real domains to
# correct or to be corrected to by edits.
MIN_EDITED_NAME = 2
# A single slip of the cheapest kind (neighbouring key, doubling, transposition).
CHEAP_SLIP = 0.5
FULL_SLIP = 1.0
# Brands of this weight or less (foreign or legacy ISPs) keep their other real domains.
RARE_BRAND = 1
# Names this short take a single slip (see _closest).
SHORT_NAME = 4
# Brand names this long have no real-word neighbour one cheap slip away (gmail, orange).
LONG_NAME = 5


def _deletes(word: str, depth: int) -> set[str]:
    """Every string obtained by deleting up to ``depth`` characters of ``word``."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier if len(w) > 1 for i in range(len(w))}
        found |= frontier
    return found


def threshold(name: str) -> float:
    """How far a typed domain may be from provider ``name`` and still be called a typo.

    Short names have many real neighbours (``gm.com``, ``ffr.fr``), long names none.
    """
    size = len(name)
    if size <= 4:
        return 1.0
    if size <= 6:
        return 1.5
    return 2.0


def _is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(ch in chars for ch in short)


@dataclass(frozen=True, slots=True)
class _Provider:
    domain: str
    name: str
    suffix: str
    tld: str
    weight: int


class TypoEngine:
    """Suggests the domain a typed one was meant to be; one instance per knowledge base."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.kb = kb if kb is not None else default_knowledge_base()
        self._cache: dict[str, str | None] = {}
        self._providers: dict[str, _Provider] = {}
        self._by_name: dict[str, list[_Provider]] = {}
        self._index: dict[str, list[str]] = {}
        for domain, weight in self.kb.domains.items():
            name, suffix = self.split(domain)
            provider = _Provider(domain, name, suffix, suffix.rsplit(".", 1)[-1], weight)
            self._providers[domain] = provider
            self._by_name.setdefault(name, []).append(provider)
            for variant in sorted(_deletes(domain, MAX_DELETES)):
                self._index.setdefault(variant, []).append(domain)
        # Long brand names by their deletions, for _slipped_name (the same SymSpell trick).
        self._name_index: dict[str, set[str]] = {}
        for name in self._by_name:
            if len(name) >= LONG_NAME:
                for variant in _deletes(name, MAX_DELETES):
                    self._name_index.setdefault(variant, set()).add(name)
        lengths = [len(domain) for domain in self._providers] or [0]
        self._min_length = min(lengths) - MAX_DELETES
        self._max_length = max(lengths) + MAX_DELETES

    # -- parsing -------------------------------------------------------------------------
    def split(self, domain: str) -> tuple[str, str]:
        """(name, public suffix): ``gmail.com.br`` -> (``gmail``, ``com.br``)."""
        labels = domain.split(".")
        if len(labels) >= 3 and ".".join(labels[-2:]) in self.kb.second_level:
            return ".".join(labels[:-2]), ".".join(labels[-2:])
        if len(labels) >= 2:
            return ".".join(labels[:-1]), labels[-1]
        return domain, ""

    def _suffix_is_real(self, suffix: str) -> bool:
        return bool(suffix) and (suffix in self.kb.second_level or self.kb.is_real_tld(suffix))

    def _is_country_suffix(self, suffix: str) -> bool:
        tld = suffix.rsplit(".", 1)[-1]
        return suffix not in COM_SLIPS and tld in self.kb.country_tlds

    # -- public --------------------------------------------------------------------------
    def suggest_domain(self, domain: str) -> str | None:
        """The provider domain ``domain`` is a slip for, or None when it looks intended."""
        key = domain.strip().lower()
        if key in self._cache:
            return self._cache[key]
        result = self._decide(key)
        self._cache[key] = result
        return result

    def suggest(self, address: str) -> str | None:
        """``address`` with its domain corrected, or None. The local part is kept as typed."""
        local, at, domain = address.strip().rpartition("@")
        if not at or not local:
            return None
        fixed = self.suggest_domain(domain)
        return f"{local}@{fixed}" if fixed is not None else None

    # -- decision ------------------------------------------------------------------------
    def _decide(self, domain: str) -> str | None:
        if not domain or " " in domain:
            return None
        found = self._decide_known(domain)
        if found is not None:
            return found or None
        repaired = self._repair_tld(domain)
        if repaired is None or repaired == domain:
            return None
        if self.kb.is_legitimate(repaired):
            return repaired
        again = self._decide_known(repaired)
        return again or repaired

    def _decide_known(self, domain: str) -> str | None:
        """Steps 1-4: a suggestion, "" for "leave it alone", None for "no provider near"."""
        if self.kb.is_legitimate(domain):
            return ""
        if domain in self.kb.confusables:
            return self.kb.confusables[domain]
        name, suffix = self.split(domain)
        if self._suffix_is_real(suffix) and len(name) >= 3 and name in self._by_name:
            return self._same_name(name, suffix)
        if not suffix and len(name) >= 3 and name in self._by_name:
            # The suffix left out altogether (``jean@gmail``): the brand's most used domain.
            return min(self._by_name[name], key=lambda p: (-p.weight, p.domain)).domain
        head = domain.rpartition(".")[0]
        if suffix in POPULAR_TLDS and head in self.kb.domains:
            return head  # a suffix typed twice or one too many: gmail.com.com, orange.fr.fr
        options = [self._closest(domain, name, suffix)]
        if suffix in POPULAR_TLDS:
            options.append(self._slipped_name(name, suffix))
        found = [option for option in options if option is not None]
        return min(found)[2] if found else None

    def _slipped_name(self, name: str, suffix: str) -> tuple[float, int, str] | None:
        """A slipped brand name under a popular suffix the brand does not use (``gamil.fr``,
        ``homail.net``): fix the name, then the suffix as for ``gmail.fr``; the suffix costs
        one cheap slip more. Long names only, with one slip less than their threshold: a
        short one is a cheap slip from too many real words (``fred.com``)."""
        found: tuple[float, int, str] | None = None
        if len(name) < LONG_NAME - 1:
            return None
        near: set[str] = set()
        for variant in _deletes(name, MAX_DELETES):
            near |= self._name_index.get(variant, set())
        for brand in sorted(near):
            if abs(len(brand) - len(name)) > 1:
                continue
            limit = threshold(brand) - FULL_SLIP
            cost = slip_distance(name, brand, limit)
            if cost > limit:
                continue
            exact = f"{brand}.{suffix}"
            # orabge.com: Orange's corporate domain is real too, and nearer.
            target = exact if self.kb.is_legitimate(exact) else self._same_name(brand, suffix)
            if not target:
                continue
            weight = max(p.weight for p in self._by_name[brand])
            key = (cost + CHEAP_SLIP, -weight, target)
            if found is None or key < found:
                found = key
        return found

    def _same_name(self, name: str, suffix: str) -> str:
        if name in self.kb.country_variants and self._is_country_suffix(suffix):
            return ""
        brand = self._by_name[name]
        # A rare foreign brand under another real suffix is usually its corporate or sister
        # domain (verizon.com, att.com, skynet.com, tiscali.com): only a neighbour-key slip
        # of its own suffix is a typo (skynet.bw).
        rare = max(p.weight for p in brand) <= RARE_BRAND and suffix not in COM_SLIPS
        if rare and all(slip_distance(suffix, p.suffix) > CHEAP_SLIP for p in brand):
            return ""
        # A slip of the suffix itself (.co, .cm for .com) points at the nearest suffix;
        # otherwise a generic suffix (.net) means the brand's generic domain (.com), and
        # the most used domain of the brand wins (gmail.fr -> gmail.com, not gmail.co.uk).
        generic = suffix in self.kb.generic_tlds

        def rank(p: _Provider) -> tuple[float, bool, int, str]:
            cost = slip_distance(suffix, p.suffix)
            # One slip of the suffix, not two (gmail.co.il is not gmail.co.uk).
            near = cost <= TLD_REPAIR_LIMIT and slip_count(suffix, p.suffix) <= 1
            close = cost if near else 2.0
            return (close, generic and p.suffix not in self.kb.generic_tlds, -p.weight, p.domain)

        return min(brand, key=rank).domain

    def _candidates(self, domain: str) -> list[str]:
        if not self._min_length <= len(domain) <= self._max_length:
            return []  # more than MAX_DELETES characters longer or shorter than any provider
        found: set[str] = set()
        index = self._index
        for variant in _deletes(domain, MAX_DELETES):
            hits = index.get(variant)
            if hits:
                found.update(hits)
        return sorted(found)

    def _closest(self, domain: str, name: str, suffix: str) -> tuple[float, int, str] | None:
        typed_tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        tld_is_real = "." in domain and self.kb.is_real_tld(typed_tld)
        flat = domain.replace(".", "")
        # A two-letter name is only a slip when the dot moved (``sf.rfr`` for ``sfr.fr``).
        dot_moved_only = len(name) <= MIN_EDITED_NAME
        best: tuple[float, int, str] | None = None
        for candidate in self._candidates(domain):
            provider = self._providers[candidate]
            if len(provider.name) <= MIN_EDITED_NAME:
                continue
            if dot_moved_only and flat != candidate.replace(".", ""):
                continue
            if tld_is_real and typed_tld != provider.tld:
                clipped_com = typed_tld in COM_SLIPS and provider.tld == "com"
                if not clipped_com and flat != candidate.replace(".", ""):
                    continue
            limit = threshold(provider.name)
            cost = slip_distance(domain, candidate, limit)
            if cost > limit:
                continue
            # Two slips in a four-letter name leave a real word (bois.fr, loge.fr, nerf.fr
            # are two neighbouring keys from noos.fr, live.fr, neuf.fr): one slip only.
            if len(provider.name) <= SHORT_NAME and slip_count(domain, candidate) > 1:
                continue
            short = len(provider.name) <= 3
            if short and cost > CHEAP_SLIP and not self._short_name_slip(name, provider.name):
                continue
            key = (cost, -provider.weight, candidate)
            if best is None or key < best:
                best = key
        return best

    @staticmethod
    def _short_name_slip(typed: str, name: str) -> bool:
        """Short names (msn, aol, sfr) accept, beyond one cheap slip (``sfe``), only slips
        that keep every letter of the name (``gmsn``, ``aoel``) or swap two (``mns``):
        ``ffr.fr`` is a federation, not sfr.fr."""
        if len(typed) < len(name):
            return False
        return _is_subsequence(name, typed) or sorted(typed) == sorted(name)

    def _repair_tld(self, domain: str) -> str | None:
        """Step 5: a non-existent TLD one slip from a popular one, for any domain."""
        if "." not in domain:
            for tld in POPULAR_TLDS:
                if domain.endswith(tld) and len(domain) - len(tld) >= 2:
                    return f"{domain[: -len(tld)]}.{tld}"
            return None
        head, _, tld = domain.rpartition(".")
        shifted = self._shifted_dot(head, tld)
        if shifted is not None:
            return shifted
        if self.kb.is_real_tld(tld) or not tld.isascii():
            return None
        scored = sorted(
            (slip_distance(tld, popular), order, popular)
            for order, popular in enumerate(POPULAR_TLDS)
        )
        cost, _, popular = scored[0]
        if cost > TLD_REPAIR_LIMIT or (len(scored) > 1 and scored[1][0] == cost):
            return None
        return f"{head}.{popular}"

    @staticmethod
    def _shifted_dot(head: str, tld: str) -> str | None:
        """``examplec.om`` -> ``example.com``: the dot typed one letter early."""
        for popular in POPULAR_TLDS:
            if len(tld) < len(popular) and popular.endswith(tld):
                moved = popular[: len(popular) - len(tld)]
                rest = head[: -len(moved)]
                if head.endswith(moved) and len(rest) >= 2 and not rest.endswith((".", "-")):
                    return f"{rest}.{popular}"
        return None


def suggest_domains(engine: TypoEngine, domains: Iterable[str]) -> dict[str, str | None]:
    """Suggestions for many domains, in input order (a helper for reports and tests)."""
    return {domain: engine.suggest_domain(domain) for domain in domains}
