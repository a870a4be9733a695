"""Matching after a small import into a big database: the records placed one
by one against the real-time index (what an import does when it leaves at
most IMPORT_MATCH_BATCH_PERCENT of the active records without a golden
record) against a batch run over every record (what every import did before).

    .venv/bin/python bench/run_import_matching.py \\
        --database-url postgres://postgres@127.0.0.1:54340/gr_1m --rows 1000 \\
        --out var/bench/import_matching_1m.json

The database is one loaded by `run_rest_ingest.py --load-only` (every record
in a golden record). It is left as it is: each path runs on its own copy
(`CREATE DATABASE … TEMPLATE`, then migrated), where the shipped model is recorded as a
finished batch run's, as if one had trained it on this data (the paths do
the same work whatever the model's weights). Steps, each in its own process,
so that CPU time and peak RSS are the step's own:

1. a JSON Lines file of `--rows` Kingdee payloads, as an ERP export gives
   them (`run_rest_ingest.build_queries`: 40 % fresh renderings of loaded
   companies, the rest new companies), imported with `--no-match` into each
   copy;
2. copy 1: `matching_after_import()`, the real-time index built from the
   database, and kept in a snapshot file;
3. copy 1 again, a second file of new payloads imported: the same, the
   index read back from the snapshot (REALTIME_INDEX_SNAPSHOT, as
   docs/operations.md sets it for production);
4. copy 2: `matching_run_batch()` (skipped with --skip-batch).

After each, the file's rows by kind: joined a golden record with other
members (for a rendering of a loaded company, found; for a new company, a
false merge unless two rows of the file are one company), alone with an
open review task, or alone.

Prints one JSON object (and writes it to --out).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import psycopg
from run_import import timed
from run_rest_ingest import _server_env, build_queries, machine

ROOT = Path(__file__).resolve().parents[1]

_MODEL_IN_FORCE = """
from django.utils import timezone
from mdm.models import MatchRun
from mdm.services.match_models import match_config_default
MatchRun.objects.create(
    status=MatchRun.Status.DONE,
    config=match_config_default().to_dict(),
    finished_at=timezone.now(),
)
"""
_ONE_BY_ONE = """
from mdm.services.import_matching import matching_after_import
from mdm.services.realtime_matching import _holder
done = matching_after_import()
build = _holder.last_build
result = {"path": done.path, "records": done.records, "outcomes": done.outcomes,
          "index_from_snapshot": build.from_snapshot if build else None,
          "index_seconds": build.seconds if build else None}
"""
_BATCH = """
from mdm.services.batch_matching import matching_run_batch
run = matching_run_batch()
result = {"records": run.records, "stats": run.stats}
"""
# Per kind of row in a file (a rendering of a loaded company, or a new
# company): how many joined a golden record with other members, how many
# stand alone with an open review task, how many stand alone.
_BY_KIND = """
import json, os
from collections import Counter, defaultdict
from django.db.models import Q
from mdm.models import CrossReference, ReviewTask, SourceRecord
kinds = json.load(open(os.environ["BENCH_KINDS"]))
erp = SourceRecord.objects.filter(source_system__code="erp", source_id__in=list(kinds))
pk_of = dict(erp.values_list("source_id", "pk"))
golden_of = dict(
    CrossReference.objects.filter(source_record_id__in=pk_of.values())
    .values_list("source_record_id", "golden_id")
)
members = Counter(
    CrossReference.objects.filter(golden_id__in=set(golden_of.values()))
    .values_list("golden_id", flat=True)
)
queued = set()
for left, right in ReviewTask.objects.filter(status="open").filter(
    Q(left_id__in=pk_of.values()) | Q(right_id__in=pk_of.values())
).values_list("left_id", "right_id"):
    queued.update((left, right))
result = defaultdict(Counter)
for source_id, kind in kinds.items():
    pk = pk_of[source_id]
    if members[golden_of[pk]] > 1:
        result[kind]["joined"] += 1
    elif pk in queued:
        result[kind]["alone_in_review"] += 1
    else:
        result[kind]["alone"] += 1
"""
# Appended to a step's code: its `result` goes to the file the bench names.
_EMIT = """
import json, os
with open(os.environ["BENCH_STEP_OUT"], "w") as out:
    json.dump(result, out)
"""


def copy_database(url: str, name: str) -> str:
    """A fresh copy of the database in `url`, named `name`; its URL."""
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parts.path.lstrip("/")}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def migrate(env: dict) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True
    )


def write_payloads(path: Path, rows: int, query_seed: int) -> dict[str, str]:
    """The file's rows as an ERP export gives them; source ID -> kind
    ("duplicate": a rendering of a loaded company, or "new")."""
    args = SimpleNamespace(
        query_seed=query_seed, duplicate_share=0.4, seed=42, chunk_companies=20_000
    )
    queries = build_queries(args, rows)
    with path.open("w", encoding="utf-8") as out:
        for query in queries:
            out.write(json.dumps(query["payload"], ensure_ascii=False) + "\n")
    return {query["source_id"]: query["kind"] for query in queries}


def by_kind(kinds: dict[str, str], env: dict) -> dict:
    path = Path(env["GOLDEN_RECORD_VAR_DIR"]) / "kinds.json"
    path.write_text(json.dumps(kinds))
    return step(_BY_KIND, {**env, "BENCH_KINDS": str(path)})["result"]


def step(code: str, env: dict) -> dict:
    """Run `code` in `manage.py shell`: its process figures and its `result`."""
    out = Path(env["GOLDEN_RECORD_VAR_DIR"]) / "step.json"
    out.unlink(missing_ok=True)
    figures = process_figures(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code + _EMIT],
        {**env, "BENCH_STEP_OUT": str(out)},
    )
    return {"process": figures, "result": json.loads(out.read_text())}


def import_file(path: Path, env: dict) -> dict:
    manage = [sys.executable, str(ROOT / "manage.py")]
    return process_figures(
        [*manage, "import_customers", str(path), "--source", "erp", "--no-match"], env
    )


def process_figures(cmd: list[str], env: dict) -> dict:
    wall, cpu, rss = timed(cmd, env)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "rss_mib": round(rss)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True, help="a loaded PostgreSQL DB")
    ap.add_argument("--rows", type=int, default=1000, help="rows in each file")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--out")
    args = ap.parse_args()
    report: dict = {"rows": args.rows, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "first.jsonl", Path(tmp) / "second.jsonl"
        first_kinds = write_payloads(first, args.rows, query_seed=31)
        second_kinds = write_payloads(second, args.rows, query_seed=32)

        def env_for(url: str) -> dict:
            return {
                **_server_env(url),
                "GOLDEN_RECORD_VAR_DIR": tmp,
                "REALTIME_INDEX_SNAPSHOT": str(Path(tmp) / "index.pickle"),
                "PYTHONPATH": str(ROOT),
                "DJANGO_SETTINGS_MODULE": "mdm.settings",
            }

        def prepared_copy(name: str) -> dict:
            env = env_for(copy_database(args.database_url, name))
            migrate(env)
            step(_MODEL_IN_FORCE + "result = None", env)
            return env

        def matched(code: str, kinds: dict[str, str], env: dict) -> dict:
            return {**step(code, env), "by_kind": by_kind(kinds, env)}

        one = prepared_copy("bench_import_matching_1")
        report["import_1"] = import_file(first, one)
        report["one_by_one_built"] = matched(_ONE_BY_ONE, first_kinds, one)
        report["import_2"] = import_file(second, one)
        report["one_by_one_snapshot"] = matched(_ONE_BY_ONE, second_kinds, one)
        if not args.skip_batch:
            two = prepared_copy("bench_import_matching_2")
            report["import_batch_copy"] = import_file(first, two)
            report["batch"] = matched(_BATCH, first_kinds, two)
    text = json.dumps(report, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
