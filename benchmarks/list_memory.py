"""Peak memory (and time) reading a 1,000,000-row member list through ListReader.

Generates a French-Excel-like CSV (cp1252, ';', CRLF, 5 columns, 1% duplicates, 1%
invalid addresses, 1% without address) in a temporary directory, then reads it in two
child processes so each peak RSS (ru_maxrss) is its own:

- baseline: ``csv.reader`` over the same file, doing nothing with the rows;
- mailbounce: ``ListReader`` (encoding detection, header mapping, address syntax,
  duplicate detection), keeping nothing but the summary.

Target (issue 2): mailbounce's peak under 200 MB. Prints figures; asserts nothing.
Run: .venv/bin/python benchmarks/list_memory.py [ROWS]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000

BASELINE = """
import csv, json, resource, sys, time
start = time.perf_counter()
rows = 0
with open(sys.argv[1], encoding="cp1252", newline="") as handle:
    for _ in csv.reader(handle, delimiter=";"):
        rows += 1
print(json.dumps({"rows": rows - 1, "seconds": time.perf_counter() - start,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

MAILBOUNCE = """
import json, resource, sys, time
from pathlib import Path
from mailbounce.lists import ListReader
start = time.perf_counter()
reader = ListReader(Path(sys.argv[1]))
for _ in reader:
    pass
s = reader.summary
print(json.dumps({"rows": s.data_rows, "accepted": s.accepted, "rejected": s.rejected,
                  "without_address": s.without_address, "duplicates": s.duplicates,
                  "encoding": s.encoding, "seconds": time.perf_counter() - start,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

IMPORT_ONLY = """
import json, resource
import mailbounce.lists
print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

CITIES = ["Besançon", "Orléans", "Nîmes", "Dole", "Pontarlier", "Lons-le-Saunier"]
DOMAINS = ["orange.fr", "wanadoo.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr"]


def generate(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp1252", newline="") as handle:
        handle.write("Nom;Prénom;Adresse e-mail;Ville;Adhésion\r\n")
        for index in range(rows):
            address = f"membre.{index}@{DOMAINS[index % len(DOMAINS)]}"
            if index % 100 == 1:
                address = f"membre.{index - 1}@{DOMAINS[(index - 1) % len(DOMAINS)]}"
            elif index % 100 == 2:
                address = f"membre.{index}.{DOMAINS[0]}"
            elif index % 100 == 3:
                address = ""
            city = CITIES[index % len(CITIES)]
            handle.write(f"Dupré-{index};Élodie;{address};{city};à jour\r\n")


def child(code: str, path: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "members.csv"
        start = time.perf_counter()
        generate(path, ROWS)
        size = path.stat().st_size
        print(
            f"generated {ROWS:,} rows, {size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s"
        )
        base = child(BASELINE, path)
        imported = child(IMPORT_ONLY, path)
        ours = child(MAILBOUNCE, path)
    print(
        f"baseline csv.reader : {base['maxrss_kb'] / 1024:7.1f} MB peak RSS, "
        f"{base['seconds']:6.2f} s, {base['rows']:,.0f} rows"
    )
    print(f"import mailbounce   : {imported['maxrss_kb'] / 1024:7.1f} MB peak RSS (no reading)")
    print(
        f"mailbounce ListReader: {ours['maxrss_kb'] / 1024:6.1f} MB peak RSS, "
        f"{ours['seconds']:6.2f} s, {ours['rows']:,.0f} rows "
        f"({ours['accepted']:,.0f} accepted incl. {ours['duplicates']:,.0f} duplicates, "
        f"{ours['rejected']:,.0f} rejected, {ours['without_address']:,.0f} without address; "
        f"{ours['encoding']})"
    )
    print(
        f"extra over baseline : {(ours['maxrss_kb'] - base['maxrss_kb']) / 1024:.1f} MB, "
        f"{ours['seconds'] / base['seconds']:.1f}x the time; target < 200 MB: "
        f"{'met' if ours['maxrss_kb'] < 200 * 1024 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
