"""What ``parse-bounces`` loads before its work, and what its ``--jobs`` workers inherit.

Each case runs in a child process: the test process has long loaded everything. No
timings: ``benchmarks/parse_throughput.py`` measures them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUNCE = ROOT / "tests" / "data" / "bounces" / "postfix-01.eml"

# Run ``mailbounce ARGV`` through cli.main() and print sys.modules (at exit) on stderr.
PROBE = """
import atexit, json, sys
argv = json.loads(sys.argv[1])
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["mailbounce", *argv]
from mailbounce.cli import main
main()
"""

# A worker's first task reports which modules it had before analysing anything.
POOL = """
import json, sys
from mailbounce.analysis_pool import start_pool

def loaded():
    return sorted(sys.modules)

if __name__ == "__main__":
    pool = start_pool(2)
    print(json.dumps(pool.submit(loaded).result()))
    pool.close()
"""

# Only an IMAP source needs these; only --jobs N needs a process pool.
IMAP_AND_POOL = ("imaplib", "ssl", "multiprocessing", "concurrent.futures.process")
# The analysis reads messages with compat32 (``email._policybase``): email.policy's
# default policy and its header registry (~14 M instructions) are for other commands.
EMAIL_POLICY = ("email.policy", "email.headerregistry", "email._header_value_parser")


def _loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_parse_bounces_on_a_file_loads_neither_imap_nor_a_process_pool(tmp_path: Path) -> None:
    mbox = tmp_path / "bounces.mbox"
    mbox.write_bytes(b"From MAILER-DAEMON Fri Nov 20 10:00:00 2026\n" + BOUNCE.read_bytes())
    argv = ["--db", str(tmp_path / "t.db"), "parse-bounces", str(mbox), "--format", "jsonl"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        check=False,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "MAILBOUNCE_CONFIG"},
    )
    assert done.returncode == 0, done.stderr.decode()
    reasons = [json.loads(line)["reason"] for line in done.stdout.decode().splitlines()]
    assert reasons == ["userunknown", "mailboxfull"]
    modules = json.loads(done.stderr.decode().splitlines()[-1])
    assert "mailbounce.bounces.registry" in modules
    assert _loaded(modules, IMAP_AND_POOL) == []
    assert _loaded(modules, EMAIL_POLICY) == []


def test_jobs_workers_start_with_the_detectors_loaded(tmp_path: Path) -> None:
    """Forked after the parent imported the detectors: no worker imports them again."""
    script = tmp_path / "pool_probe.py"
    script.write_text(POOL, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "mailbounce.bounces.registry" in json.loads(done.stdout)
