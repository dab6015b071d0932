"""check addresses: library verdicts on a sample list, and the command's formats and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dns_server import FixtureDnsServer
from typer.testing import CliRunner

from mailbounce.checks import check_addresses
from mailbounce.checks.dns import make_resolver
from mailbounce.checks.syntax import is_role_account, repair_artifacts
from mailbounce.cli import app
from mailbounce.models import SuppressionCause
from mailbounce.store.contacts import suppress
from mailbounce.store.db import Store

DATA = Path(__file__).resolve().parent / "data" / "check" / "addresses"
EXPECTED = yaml.safe_load((DATA / "expected.yaml").read_text())
MX = {"MX": ["10 mx.example."]}
DOMAINS = ("gmail.com", "gmial.com", "orange.fr", "asso.fr", "xn--bcher-kva.de", "free.fr")
ZONE = dict.fromkeys((*DOMAINS, "wanadoo.fr"), MX)


@pytest.fixture(scope="module")
def dns_server() -> Iterator[FixtureDnsServer]:
    with FixtureDnsServer(ZONE, drop=["slow.example"]) as server:
        yield server


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "mailbounce.db"
    with Store(path) as store, store.transaction() as conn:
        suppress(conn, "un@free.fr", SuppressionCause.UNSUBSCRIBED)
        suppress(conn, "luc@wanadoo.fr", SuppressionCause.INVALID)
    return path


def test_sample_list_verdicts(dns_server: FixtureDnsServer, store_path: Path) -> None:
    resolver = dns_server.resolver()
    check = check_addresses([DATA / "members.csv"], db_path=store_path, dns=True, resolver=resolver)
    results = {r.line: r for r in check}
    assert sorted(results) == sorted(EXPECTED)
    for line, want in EXPECTED.items():
        got = results[line]
        assert got.valid is want["valid"], (line, got)
        assert got.suggestion == want["suggestion"], (line, got)
        assert [f.code for f in got.findings] == want["codes"], (line, got)
    assert check.summary.without_address == 1
    assert check.summary.addresses == len(EXPECTED)


def test_late_answers_are_verdicts_and_no_answer_is_could_not_tell(store_path: Path) -> None:
    # A loaded machine: every answer 0.6 s late (the tests once waited 0.5 s, and now and
    # then got "domain-unknown" for a domain the server answered). The verdicts are the
    # same; and where the resolver gives up first, the product says it could not tell,
    # never that the domain has no mail (not even for the NXDOMAIN that came too late).
    with FixtureDnsServer(ZONE, drop=["slow.example"], delay=0.6) as server:
        check = check_addresses(
            [DATA / "members.csv"], db_path=store_path, dns=True, resolver=server.resolver()
        )
        got = {r.line: [f.code for f in r.findings] for r in check}
        assert got == {line: want["codes"] for line, want in EXPECTED.items()}
        impatient = make_resolver(["127.0.0.1"], server.port, timeout=0.3)
        check = check_addresses([DATA / "members.csv"], dns=True, resolver=impatient)
        dns_codes = {
            r.line: [f.code for f in r.findings if f.rule == "dns"] for r in check if r.valid
        }
    checked = [2, 3, 5, 6, 8, 9, 10, 11, 12, 13]  # lines with a well-formed address
    assert dns_codes == {line: ["domain-unknown"] for line in checked}


def test_dns_asked_once_per_domain(dns_server: FixtureDnsServer) -> None:
    resolver = dns_server.resolver()
    before = dns_server.queries[("orange.fr.", "MX")]
    list(check_addresses([DATA / "members.csv", DATA / "plain.txt"], dns=True, resolver=resolver))
    assert dns_server.queries[("orange.fr.", "MX")] == before + 1


def test_no_database_is_created_by_a_check(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    list(check_addresses([DATA / "plain.txt"], db_path=missing))
    assert not missing.exists()


def test_duplicates_across_files_name_the_file() -> None:
    results = list(check_addresses([DATA / "members.csv", DATA / "plain.txt"]))
    dup = next(r for r in results if r.file.endswith("plain.txt") and r.line == 1)
    assert [f.code for f in dup.findings] == ["typo", "duplicate"]
    assert "members.csv:2" in dup.findings[1].message


@pytest.mark.parametrize(
    ("raw", "repaired"),
    [
        ("jean@gmail,com", "jean@gmail.com"),
        ("jean@gmail.com.", "jean@gmail.com"),
        ("jean@@gmail.com", "jean@gmail.com"),
        (" jean @gmail.com", "jean@gmail.com"),
        ("Jean Dupont <jean@gmail.com>", "jean@gmail.com"),
        ("mailto:jean@gmail.com", "jean@gmail.com"),
        ("jean.@gmail..com", "jean@gmail.com"),
    ],
)
def test_artifacts_are_repaired(raw: str, repaired: str) -> None:
    assert repair_artifacts(raw)[0] == repaired


def test_role_accounts() -> None:
    assert is_role_account("noreply@asso.fr")
    assert is_role_account("postmaster+x@asso.fr")
    assert not is_role_account("jean@asso.fr")


runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_jsonl_one_object_per_address_in_order(tmp_path: Path) -> None:
    code, out = _run(
        "--db", str(tmp_path / "x.db"), "check", "addresses", "-f", "jsonl", str(DATA / "plain.txt")
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 3
    assert [r["line"] for r in rows] == [1, 3, 4]
    assert rows[0] == {
        "address": "jean@gmial.com",
        "line": 1,
        "valid": True,
        "suggestion": "jean@gmail.com",
        "findings": [
            {
                "code": "typo",
                "severity": "warning",
                "message": "the domain gmial.com looks like a typo of gmail.com",
                "rule": "typo",
            }
        ],
    }
    assert rows[1]["findings"] == [] and rows[2]["valid"] is False
    assert not (tmp_path / "x.db").exists()


def test_clean_list_exits_zero(tmp_path: Path) -> None:
    clean = tmp_path / "ok.txt"
    clean.write_text("jean@gmail.com\nmarie@orange.fr\n")
    code, out = _run(
        "--db", str(tmp_path / "x.db"), "check", "addresses", "-f", "table", str(clean)
    )
    assert code == 0
    assert "jean@gmail.com" not in out  # the table shows only addresses with findings


def test_csv_and_json_are_complete(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    code, out = _run("--db", db, "check", "addresses", "-f", "csv", str(DATA / "plain.txt"))
    assert code == 3
    assert out.splitlines()[0] == "address,line,valid,suggestion,findings"
    assert len(out.splitlines()) == 4
    _, out = _run("--db", db, "check", "addresses", "-f", "json", str(DATA / "plain.txt"))
    assert len(json.loads(out)) == 3


def test_unreadable_file_is_one_line_exit_1(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mailbounce", "check", "addresses", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "nope.csv" in result.stderr
