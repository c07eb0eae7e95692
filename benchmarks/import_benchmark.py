"""How long `duban plan import` takes on a 300-row division-of-labour table (issue 16: a DOCX in ≤ 2 s, a PDF in
≤ 5 s): the seed's table repeated with its tasks numbered on, written as a Word file and printed to PDF by the
system's Chromium (tests/import_documents.py builds both), then read (``formats.read_document``) and imported
whole (``service.import_document``: reading, units resolved against the seed plan's directory, the draft
written). Prints the median of ``--repeat`` runs per case.

    .venv/bin/python benchmarks/import_benchmark.py [--rows 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from import_documents import seed_division_rows, seed_docx, seed_pdf  # noqa: E402

from responsibilities.importing.formats import read_document  # noqa: E402
from responsibilities.importing.service import import_document  # noqa: E402
from responsibilities.importing.units import Directory, DirectoryEntry  # noqa: E402
from responsibilities.plan.loader import load_plan  # noqa: E402

NUMBER = re.compile(r"^\d+\.")


def rows(count: int) -> list[tuple[str, str, str, str]]:
    """The seed's rows over and over, each task numbered on within its unit's run."""
    seed = seed_division_rows()
    out = []
    for i in range(count):
        unit, task, deadline, note = seed[i % len(seed)]
        out.append((unit, f"{i + 1}." + NUMBER.sub("", task), deadline, note))
    return out


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def floor(kind: str, data: bytes) -> None:
    """What the library alone takes to give the tables' text, the naive way (no merges walked, no joins across
    pages): python-docx's cells of every row; pdfplumber's ``extract_tables`` of every page. In the same run, as the
    floor duban's reading is compared with."""
    import io

    if kind == "docx":
        import docx

        for table in docx.Document(io.BytesIO(data)).tables:
            [[cell.text for cell in row.cells] for row in table.rows]
    else:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            [page.extract_tables() for page in pdf.pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plan = load_plan(ROOT / "deadlines.yaml")
    directory = Directory(tuple(DirectoryEntry(u.id, u.name, u.aliases, kind=u.kind) for u in plan.units)
                          + tuple(DirectoryEntry(g.id, g.name, g.aliases, group=True, members=g.members)
                                  for g in plan.groups))
    table = rows(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        files = {"docx": seed_docx(Path(folder) / "分工.docx", table),
                 "pdf": seed_pdf(Path(folder) / "分工.pdf", table)}
        for kind, path in files.items():
            data = path.read_bytes()
            document = read_document(data, path.name)
            read_rows = sum(len(t.rows) for t in document.tables)
            assert read_rows == args.rows + 1, f"{kind}: {read_rows} rows read"  # the header, once
            reading = median_ms(lambda data=data, path=path: read_document(data, path.name), args.repeat)
            whole = median_ms(lambda data=data, path=path: import_document(data, path.name, directory), args.repeat)
            bare = median_ms(lambda kind=kind, data=data: floor(kind, data), args.repeat)
            print(f"{kind} {args.rows} rows ({len(data) // 1024} KB): read {reading:.0f} ms, "
                  f"import {whole:.0f} ms, floor (the library alone) {bare:.0f} ms, import/floor "
                  f"{whole / bare:.2f}× (median of {args.repeat})")


if __name__ == "__main__":
    main()
