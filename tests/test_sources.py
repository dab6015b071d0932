"""Sources: message files, folders, Maildir, streamed mbox, stdin; errors name the path."""

from __future__ import annotations

import io
import mailbox
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbounce.errors import InputError, UsageError
from mailbounce.mbox import Region, read_region
from mailbounce.sources import (
    PathSource,
    RawMessage,
    StdinSource,
    imap_utf7,
    iter_messages,
    parse_imap_url,
    split_mbox,
)

MSG_A = b"From: a@example.org\nSubject: one\n\nbody one\n"
MSG_B = b"From: b@example.org\nSubject: two\n\nFrom here on, body two\n>From escaped\n"


def _mbox(*bodies: bytes) -> bytes:
    out = b""
    for body in bodies:
        escaped = b"\n".join(
            b">" + line if line.lstrip(b">").startswith(b"From ") else line
            for line in body.split(b"\n")
        )
        out += b"From MAILER-DAEMON Thu Nov 20 10:00:00 2026\n" + escaped + b"\n"
    return out


def test_single_file_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "bounce.txt"
    path.write_bytes(MSG_A)
    assert list(PathSource(str(path))) == [RawMessage(str(path), MSG_A, len(MSG_A))]


def test_mbox_is_split_and_unescaped(tmp_path: Path) -> None:
    path = tmp_path / "bounces.mbox"
    path.write_bytes(_mbox(MSG_A, MSG_B))
    found = list(PathSource(str(path)))
    assert [m.source for m in found] == [f"{path}#1", f"{path}#2"]
    assert found[0].data == MSG_A
    assert found[1].data == MSG_B


def test_from_in_body_without_blank_line_does_not_split() -> None:
    text = b"From x Thu Nov 20 10:00:00 2026\nSubject: s\n\nline\nFrom inside text\n"
    found = list(split_mbox(io.BytesIO(text), "m", cap=1000))
    assert len(found) == 1
    assert found[0].data.endswith(b"From inside text\n")


def test_mbox_written_by_python_mailbox_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "py.mbox"
    box = mailbox.mbox(path)
    box.add(MSG_A)
    # Python writes mboxo (only "From " escaped): a ">From " body line would be ambiguous.
    plain_b = MSG_B.replace(b">From escaped\n", b"")
    box.add(plain_b)
    box.flush()
    box.close()
    found = list(PathSource(str(path)))
    assert [m.data for m in found] == [MSG_A, plain_b]


def test_crlf_mbox(tmp_path: Path) -> None:
    path = tmp_path / "dos.mbox"
    path.write_bytes(_mbox(MSG_A, MSG_B).replace(b"\n", b"\r\n"))
    found = list(PathSource(str(path)))
    assert [m.data for m in found] == [MSG_A.replace(b"\n", b"\r\n"), MSG_B.replace(b"\n", b"\r\n")]


def test_maildir_reads_cur_and_new_not_tmp(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1.host:2,S").write_bytes(MSG_A)
    (root / "new" / "2.host").write_bytes(MSG_B)
    (root / "tmp" / "3.host").write_bytes(b"partial")
    found = list(PathSource(str(root)))
    assert [m.source for m in found] == [
        str(root / "cur" / "1.host:2,S"),
        str(root / "new" / "2.host"),
    ]


def test_folder_is_recursive_whatever_the_extension(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "a.eml").write_bytes(MSG_A)
    (tmp_path / "sub" / "b.msg").write_bytes(MSG_B)
    (tmp_path / "sub" / "deeper" / "c").write_bytes(_mbox(MSG_A, MSG_B))
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    labels = [m.source for m in PathSource(str(tmp_path))]
    assert labels == [
        str(tmp_path / "a.eml"),
        str(tmp_path / "sub" / "b.msg"),
        f"{tmp_path / 'sub' / 'deeper' / 'c'}#1",
        f"{tmp_path / 'sub' / 'deeper' / 'c'}#2",
    ]


def test_stdin_single_message_and_mbox() -> None:
    assert list(StdinSource(io.BytesIO(MSG_A))) == [RawMessage("-", MSG_A, len(MSG_A))]
    piped = list(StdinSource(io.BytesIO(_mbox(MSG_A))))
    assert [m.data for m in piped] == [MSG_A]
    assert list(StdinSource(io.BytesIO(b""))) == []


def test_oversized_message_is_truncated_with_real_size(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    big = b"Subject: big\n\n" + b"x" * 5000 + b"\n"
    path.write_bytes(_mbox(big, MSG_A))
    found = list(PathSource(str(path), max_message_bytes=1000))
    assert found[0].size == len(big) and len(found[0].data) <= 1000
    assert found[1] == RawMessage(f"{path}#2", MSG_A, len(MSG_A))


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        list(iter_messages([str(tmp_path / "nope")]))


def test_special_file_is_an_input_error(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a file or a folder"):
        list(iter_messages([str(fifo)]))


def test_unreadable_path_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "secret.eml"
    path.write_bytes(MSG_A)
    path.chmod(0)
    try:
        if path.open("rb").readable():  # root reads anything: nothing to test then
            pytest.skip("running as root: permissions are not enforced")
    except PermissionError:
        pass
    with pytest.raises(InputError, match="permission denied"):
        list(iter_messages([str(path)]))


def test_imap_url_parsing() -> None:
    loc = parse_imap_url("imaps://bounces%40asso.example@mail.example:1993/Bounces/2026")
    assert (loc.user, loc.host, loc.port, loc.folder) == (
        "bounces@asso.example",
        "mail.example",
        1993,
        "Bounces/2026",
    )
    assert parse_imap_url("imaps://u@h").folder == "INBOX"
    with pytest.raises(UsageError, match="only imaps"):
        parse_imap_url("imap://u@h/INBOX")
    with pytest.raises(UsageError, match="MAILBOUNCE_IMAP_PASSWORD"):
        parse_imap_url("imaps://u:pw@h/INBOX")


_line = st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_line, min_size=1, max_size=8), min_size=1, max_size=5))
def test_mbox_round_trip(messages: list[list[bytes]]) -> None:
    """Whatever the bodies (``From `` lines included), splitting gives them back."""
    bodies = [b"X-N: 1\n\n" + b"\n".join(lines) + b"\n" for lines in messages]
    found = list(split_mbox(io.BytesIO(_mbox(*bodies)), "m", cap=1 << 20))
    assert [m.data for m in found] == bodies


def test_mbox_streaming_memory_is_bounded() -> None:
    """~12 MB of mbox read through split_mbox: the peak is one message, not the file."""
    import tracemalloc

    body = b"X-Filler: " + b"y" * 70 + b"\n"
    message = b"Subject: s\n\n" + body * 50  # ~4 KB

    def lines() -> Iterator[bytes]:
        for _ in range(3_000):
            yield b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n"
            yield b"Subject: s\n"
            yield b"\n"
            for _ in range(50):
                yield body
            yield b"\n"

    tracemalloc.start()
    count = 0
    for found in split_mbox(lines(), "big", cap=1 << 20):
        assert found.data == message
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 3_000
    assert peak < 1_000_000


def test_imap_folder_names_in_modified_utf7() -> None:
    # RFC 3501 §5.1.3 examples, and a French folder.
    assert imap_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
    assert imap_utf7("Retours à traiter") == "Retours &AOA- traiter"
    assert imap_utf7("A&B") == "A&-B"


# --------------------------------------------------------------------------- block reader


def _reference_split(data: bytes, cap: int) -> list[RawMessage]:
    """RFC 4155 read line by line (the reader before the block reader): what it must give."""
    found: list[RawMessage] = []
    number, size, started, previous_blank = 0, 0, False, True
    chunks: list[bytes] = []
    pending: bytes | None = None
    for line in io.BytesIO(data):
        if line.startswith(b"From ") and previous_blank:
            if started:
                found.append(RawMessage(f"m#{number}", b"".join(chunks), size))
            number, started = number + 1, True
            chunks, size, pending, previous_blank = [], 0, None, False
            continue
        if not started:
            started, number = True, 1
        if pending is not None:
            size += len(pending)
            if size <= cap:
                chunks.append(pending)
            pending = None
        blank = line in (b"\n", b"\r\n")
        if blank:
            pending = line
        else:
            kept = line[1:] if line.lstrip(b">").startswith(b"From ") and line[:1] == b">" else line
            size += len(kept)
            if size <= cap:
                chunks.append(kept)
        previous_blank = blank
    if started and (chunks or size):
        found.append(RawMessage(f"m#{number}", b"".join(chunks), size))
    return found


_piece = st.sampled_from(
    [b"From ", b"From x\n", b"\n", b"\r\n", b">From ", b">>From a\n", b"a", b"bc\n", b"X: y\n"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_piece, max_size=40),
    st.booleans(),
    st.sampled_from([1, 5, 20, 1 << 20]),
    st.integers(1, 9),
)
def test_block_reader_agrees_with_line_reading(
    pieces: list[bytes], mbox: bool, cap: int, block: int
) -> None:
    """Whatever the block size (1 MiB reads, or lines), the same messages as line by line,
    empty lines before separators, escapes and the size cap included."""
    data = (b"From z\n" if mbox else b"") + b"".join(pieces)
    blocks = [data[at : at + block] for at in range(0, len(data), block)]
    assert list(split_mbox(blocks, "m", cap=cap, eol=b"\n")) == _reference_split(data, cap)


def test_over_cap_message_is_counted_to_its_end() -> None:
    """A message far over the cap keeps its first lines and its real size (bounded memory)."""
    line = b"x" * 99 + b"\n"
    data = b"From a\n" + line * 5000 + b">From b\n" + line + b"\nFrom c\nX: 1\n"
    blocks = [data[at : at + 4096] for at in range(0, len(data), 4096)]
    found = list(split_mbox(blocks, "m", cap=1000))
    assert found[0] == RawMessage("m#1", line * 10, 5000 * 100 + 7 + 100)
    assert found[1] == RawMessage("m#2", b"X: 1\n", 5)


def test_cr_only_mbox_is_split(tmp_path: Path) -> None:
    """Old Mac line endings: CR alone ends a line, and separates messages (issue 3)."""
    path = tmp_path / "mac.mbox"
    path.write_bytes(_mbox(MSG_A, MSG_B).replace(b"\n", b"\r"))
    found = list(PathSource(str(path)))
    assert [m.source for m in found] == [f"{path}#1", f"{path}#2"]
    assert [m.data for m in found] == [MSG_A.replace(b"\n", b"\r"), MSG_B.replace(b"\n", b"\r")]


@settings(max_examples=100, deadline=None)
@given(st.lists(_piece, max_size=40), st.booleans(), st.integers(1, 30))
def test_regions_read_by_workers_give_the_same_messages(
    pieces: list[bytes], crlf: bool, region_bytes: int
) -> None:
    """``--jobs``: runs of messages read from the file by offset, joined, are the mbox."""
    data = b"From z\n" + b"".join(pieces)
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.mbox")
        Path(path).write_bytes(data)
        whole = list(PathSource(path))
        regions = [r for r in PathSource(path).units(region_bytes) if isinstance(r, Region)]
        assert [r.start for r in regions[1:]] == [r.end for r in regions[:-1]]
        read = [m for region in regions for m in read_region(region)]
        # Each region's messages are numbered from 1 (the reader of results renumbers).
        assert [m.data for m in read] == [m.data for m in whole]
        assert [m.size for m in read] == [m.size for m in whole]


def test_regions_cut_between_large_messages(tmp_path: Path) -> None:
    """A cut looks for the next separator past its offset, over messages larger than the
    windows it reads; the runs, joined, are the whole file."""
    sizes = [10, 200_000, 5, 70_000, 3, 140_000, 1]
    bodies = [b"X-N: %d\n\n" % n + b"y" * (size - 1) + b"\n" for n, size in enumerate(sizes)]
    path = tmp_path / "big.mbox"
    path.write_bytes(_mbox(*bodies))
    regions = [r for r in PathSource(str(path)).units(1000) if isinstance(r, Region)]
    assert 1 < len(regions) <= len(bodies)
    assert [m.data for r in regions for m in read_region(r)] == bodies
