"""Member lists: every sample of tests/data/lists/ against expected.json, and properties."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailbounce.errors import InputError
from mailbounce.lists import (
    ColumnMapping,
    ListReader,
    _SeenAddresses,
    header_key,
    is_plainly_valid,
    read_addresses,
    slug,
)

SAMPLES = Path(__file__).resolve().parent / "data" / "lists"
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (SAMPLES / "expected.json").read_text(encoding="utf-8")
)


def test_every_sample_has_an_expectation() -> None:
    samples = {p.name for p in SAMPLES.iterdir() if p.suffix in {".csv", ".txt"}}
    assert samples == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if "summary" in e))
def test_sample_reads_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    reader = read_addresses(SAMPLES / name)
    assert reader.encoding == expected["encoding"]
    assert reader.delimiter == expected["delimiter"]
    entries = {entry.line: entry for entry in reader}
    summary = reader.summary
    counts = {key: getattr(summary, key) for key in expected["summary"]}
    assert counts == expected["summary"]
    assert summary.accepted + summary.rejected + summary.without_address == summary.data_rows
    for want in expected["entries"]:
        entry = entries[want["line"]]
        for key, value in want.items():
            if key == "fields":
                assert {k: entry.fields[k] for k in value} == value
            elif key == "problem" and value is not None:
                assert entry.problem is not None
                assert value in entry.problem
            else:
                assert getattr(entry, key) == value, (name, want["line"], key)


@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if "error" in e))
def test_sample_fails_with_its_line(name: str) -> None:
    expected = EXPECTED[name]
    with pytest.raises(InputError) as caught:
        list(ListReader(SAMPLES / name))
    assert caught.value.line == expected["line"]
    assert expected["error"] in caught.value.message
    assert caught.value.message.startswith(f"{SAMPLES / name}:{expected['line']}: ")


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        ListReader(tmp_path / "absent.csv")


def test_columns_known_before_reading() -> None:
    reader = ListReader(SAMPLES / "cp1252_semicolon.csv")
    assert set(reader.columns) >= {
        "email",
        "first_name",
        "last_name",
        "ville",
        "Ville",
        "adhesion",
        "Adhésion",
        "adresse_e_mail",
    }
    assert reader.summary.data_rows == 0


def test_reading_twice_gives_the_same_summary() -> None:
    reader = ListReader(SAMPLES / "duplicate.csv")
    first = [entry.duplicate_of for entry in reader]
    summary = reader.summary
    assert [entry.duplicate_of for entry in reader] == first
    assert reader.summary == summary


def test_configured_columns(tmp_path: Path) -> None:
    path = tmp_path / "pro.csv"
    path.write_text("Email perso;Email pro;Qui;Famille\nz@home.fr;zoe@work.fr;Zoé;Robert\n")
    mapping = ColumnMapping(address="email PRO", first_name="qui", last_name="Famille")
    entry = next(iter(ListReader(path, columns=mapping)))
    assert (entry.address, entry.first_name, entry.last_name) == ("zoe@work.fr", "Zoé", "Robert")
    with pytest.raises(InputError, match=r"pro\.csv:1: no column 'Courriel'.*'Email perso'"):
        ListReader(path, columns=ColumnMapping(address="Courriel"))
    with pytest.raises(InputError, match="no column 'Prénom'"):
        ListReader(path, columns=ColumnMapping(address="Email pro", first_name="Prénom"))


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("Adresse e-mail", "email"),
        ("ADRESSE MAIL", "email"),
        ("adresse électronique", "email"),
        ("Courriel", "email"),
        ("E-Mail", "email"),
        ("mail", "email"),
        ("Prénom", "first_name"),
        ("first name", "first_name"),
        ("NOM", "last_name"),
        ("Nom de famille", "last_name"),
        ("Last-Name", "last_name"),
    ],
)
def test_header_aliases(tmp_path: Path, header: str, role: str) -> None:
    others = {"email": "Courriel", "first_name": "Prénom", "last_name": "Nom"}
    others[role] = header
    path = tmp_path / "list.csv"
    path.write_text(
        f"{others['email']};{others['first_name']};{others['last_name']}\na@example.fr;Zoé;Robert\n"
    )
    entry = next(iter(ListReader(path)))
    assert (entry.address, entry.first_name, entry.last_name) == ("a@example.fr", "Zoé", "Robert")


def test_slug_and_header_key() -> None:
    assert slug("Code postal") == "code_postal"
    assert slug("Adhésion 2026 (€)") == "adhesion_2026"
    assert slug("2e adresse") == "col_2e_adresse"
    assert header_key("Adresse e-mail") == "adresseemail"


def test_slug_collisions_get_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email;Ville;ville;;Email\na@example.fr;Paris;Lyon;x;b@example.fr\n")
    entry = next(iter(ListReader(path)))
    assert entry.fields["ville"] == "Paris"
    assert entry.fields["ville_2"] == "Lyon"
    assert entry.fields["column_4"] == "x"
    assert entry.fields["email"] == "a@example.fr"
    assert entry.fields["email_2"] == "b@example.fr"
    assert entry.fields["Email"] == "b@example.fr"


def test_seen_addresses_grows_and_remembers_first_lines() -> None:
    seen = _SeenAddresses(slots=1024)  # small, so that it grows several times
    for line in range(20_000):
        assert seen.first_line(f"user{line}@example.fr", line) is None
    for line in range(0, 20_000, 997):
        assert seen.first_line(f"user{line}@example.fr", 99_999) == line


# -- properties -----------------------------------------------------------------------------

_atext = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-.")
_local = st.text(_atext, min_size=1, max_size=70)
_label = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-"), min_size=1, max_size=70)
_domain = st.lists(_label, min_size=1, max_size=4).map(".".join)


@given(_local, _domain)
@settings(max_examples=500)
def test_fast_path_never_accepts_what_email_validator_refuses(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    if is_plainly_valid(address):
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{address!r} passed the fast path but: {exc}")


_FRENCH = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    "àâäçéèêëîïôöùûüÿœæÀÂÇÉÈÊÎÔŒ€«»’'-"
)
_value = st.text(st.sampled_from(_FRENCH + ',;\t"\r\n'), max_size=20)
_address = st.from_regex(r"[a-z][a-z0-9._-]{0,10}@[a-z]{1,8}\.(fr|com|example)", fullmatch=True)
_ENCODINGS = {"utf-8": b"", "utf-8-sig": b"", "cp1252": b"", "utf-16": b""}


@given(
    rows=st.lists(st.tuples(_address, _value, _value, _value), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(sorted(_ENCODINGS)),
    eol=st.sampled_from(["\r\n", "\n"]),
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_round_trip(
    tmp_path: Path,
    rows: list[tuple[str, str, str, str]],
    delimiter: str,
    encoding: str,
    eol: str,
) -> None:
    assume(not any(r[0].endswith(".") or ".." in r[0] or ".@" in r[0] for r in rows))
    buffer = io.StringIO()
    # Python's writer leaves a lone CR unquoted when the line ends in LF alone, which any
    # reader (RFC 4180) takes as a line break; spreadsheets quote it, so do we.
    quoting = csv.QUOTE_ALL if eol == "\n" else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=eol, quoting=quoting)
    writer.writerow(["Adresse e-mail", "Prénom", "Nom", "Note"])
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    if encoding == "cp1252" and not data.isascii():
        # A cp1252 file that is also valid UTF-8 is read as UTF-8 by design.
        try:
            data.decode("utf-8")
            assume(False)
        except UnicodeDecodeError:
            pass
    path = tmp_path / "round.csv"
    path.write_bytes(data)
    reader = ListReader(path)
    entries = list(reader)
    assert reader.delimiter == delimiter
    assert [e.raw_address for e in entries] == [r[0] for r in rows]
    assert [e.fields["Prénom"] for e in entries] == [r[1] for r in rows]
    assert [e.fields["nom"] for e in entries] == [r[2] for r in rows]
    assert [e.fields["note"] for e in entries] == [r[3] for r in rows]
    assert reader.summary.data_rows == len(rows)
    assert reader.summary.duplicates == len(rows) - len({r[0] for r in rows})


def test_utf16_bom_is_decided_from_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "email\nzoé@example.fr\n".encode("utf-16-le"))
    entry = next(iter(ListReader(path)))
    assert entry.address == "zoé@example.fr"
    assert entry.problem is None


def test_small_chunks_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encoding detection streams the file; multi-byte characters straddle chunk ends."""
    monkeypatch.setattr("mailbounce.sniff._CHUNK", 3)
    reader = ListReader(SAMPLES / "utf16_le_tab.csv")
    assert reader.encoding == "utf-16-le"
    assert [e.first_name for e in reader] == ["Noël", "Maëlle"]
    assert ListReader(SAMPLES / "cp1252_semicolon.csv").encoding == "cp1252"
    for name in ("invalid_utf8_line4.csv", "invalid_cp1252_line3.csv", "invalid_utf16_line3.csv"):
        with pytest.raises(InputError) as caught:
            ListReader(SAMPLES / name)
        assert caught.value.line == EXPECTED[name]["line"]


def test_old_mac_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes("email;prénom\ra@example.fr;Zoé\rbad;Luc\r".encode("cp1252"))
    entries = list(ListReader(path))
    assert [(e.line, e.address, e.problem) for e in entries] == [
        (2, "a@example.fr", None),
        (3, "bad", "missing @"),
    ]
    path.write_bytes(b"email;pr\xe9nom\ra@example.fr;Zo\xe9\rb@example.fr;\x81\r")
    with pytest.raises(InputError) as caught:
        ListReader(path)
    assert caught.value.line == 3


def test_utf32_bom(tmp_path: Path) -> None:
    path = tmp_path / "u32.csv"
    path.write_bytes(codecs.BOM_UTF32_LE + "email,nom\nz@example.fr,Noël\n".encode("utf-32-le"))
    reader = ListReader(path)
    assert reader.encoding == "utf-32-le"
    assert [e.last_name for e in reader] == ["Noël"]


def test_damaged_utf8_is_not_read_as_cp1252(tmp_path: Path) -> None:
    """Valid accents then one bad byte: a damaged UTF-8 file, not mojibake (sniff.py)."""
    path = tmp_path / "damaged.csv"
    path.write_bytes("email;prénom\na@example.fr;Zoé\n".encode() + b"b@example.fr;Luc\xe9\n")
    with pytest.raises(InputError, match="not valid utf-8") as caught:
        ListReader(path)
    assert caught.value.line == 3


def test_the_example_members_list() -> None:
    """examples/members.csv, exported the French-Excel way, reads as the demo expects."""
    reader = ListReader(SAMPLES.parent.parent.parent / "examples" / "members.csv")
    assert (reader.encoding, reader.delimiter) == ("cp1252", ";")
    entries = list(reader)
    summary = reader.summary
    assert (summary.data_rows, summary.accepted, summary.rejected) == (30, 27, 1)
    assert (summary.without_address, summary.duplicates) == (2, 1)
    assert {"ville", "adhesion", "Adhésion"} <= set(reader.columns)
    assert entries[0].first_name == "Élodie"


_fragments = st.sampled_from(
    [
        b"email",
        b";",
        b",",
        b"\t",
        b'"',
        b"\r\n",
        b"\n",
        b"\r",
        b"@",
        b"a",
        b"\x00",
        b"\xe9",
        b"\xff",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xc3\xa9",
        b"Pr\xc3\xa9nom",
        b" ",
        b"x@y.fr",
    ]
)


@given(st.lists(_fragments, max_size=40).map(b"".join))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_give_entries_or_an_input_error(tmp_path: Path, data: bytes) -> None:
    """Whatever the file holds, the user gets rows or a located InputError, never a crash."""
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        reader = ListReader(path)
        entries = list(reader)
    except InputError as exc:
        assert exc.line is None or exc.line >= 1
        return
    summary = reader.summary
    assert summary.accepted + summary.rejected + summary.without_address == len(entries)
    assert all(entry.line >= 1 for entry in entries)


def test_reading_streams_the_file(tmp_path: Path) -> None:
    """30,000 rows (2 MB) are read with a few MB of Python memory: rows are not kept."""
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Nom;Prénom;Adresse e-mail;Ville;Adhésion\r\n")
        for index in range(30_000):
            handle.write(f"Dupré-{index};Élodie;membre.{index}@orange.fr;Besançon;à jour\r\n")
    tracemalloc.start()
    try:
        reader = ListReader(path)
        count = sum(1 for _ in reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == reader.summary.accepted == 30_000
    # Measured: ~3.5 MB streaming, ~33 MB if the rows were kept.
    assert peak < 8 * 1024 * 1024, peak


def test_plain_list_whose_first_address_has_a_comma(tmp_path: Path) -> None:
    """A typo like ``paul@laposte,net`` on line 1 is data, not a CSV header (issue 4 report)."""
    path = tmp_path / "addresses.txt"
    path.write_text("paul@laposte,net\njean@gmail.com\n", encoding="utf-8")
    reader = ListReader(path)
    entries = list(reader)
    assert [(entry.line, entry.problem is not None) for entry in entries] == [(1, True), (2, False)]
    assert reader.summary.rejected == 1
    assert reader.summary.accepted == 1
