"""REST ingest with real-time matching against 1,000,000 existing records.

    .venv/bin/python bench/run_rest_ingest.py --records 1000000 \\
        --out var/bench/rest_ingest_1m.json
    # again on the loaded database, with fresh queries:
    .venv/bin/python bench/run_rest_ingest.py --database-url postgres://... \\
        --skip-load --query-seed 8

1. Database: `--database-url` (PostgreSQL), or a throwaway server this script
   starts itself (initdb in a temporary directory, `fsync=off`, stopped at
   the end). Migrated with `manage.py migrate`.
2. Load: `--records` source records of Chinese B2B companies drawn with
   `fixtures.chinese_b2b`'s generators, in chunks of `--chunk-companies`
   companies, `--jobs` chunks at a time, each chunk in its own process and
   its own transaction. Every record goes through the product's own mapping
   and standardisation (`payload_map`, `attributes_standardise`,
   `payload_fingerprint`), every company becomes a golden record (values by
   `survive`, golden IDs from `GoldenIdAllocation`) with its cross-references,
   and every row gets its history row, as an import followed by a batch
   matching run leaves them. Rows go in with PostgreSQL `COPY` (psycopg 3),
   built field by field from the Django models (`get_db_prep_save`), so a
   column added to a model is filled with its default. A sample of loaded
   records is then re-sent through `source_record_upsert`, which must find
   each one unchanged (the loader wrote what the product would have).
3. Server: gunicorn with `deploy/gunicorn.conf.py` (`--workers` workers,
   preload, real-time index warmed in the master before the workers fork),
   an API client bound to the `erp` source system with a fresh token, HTTPS
   as a TLS-terminating proxy would report it (`X-Forwarded-Proto: https`).
   The environment passes through: set REDIS_URL, as in production, for the
   rate-limit counters (without it they are a database table, 8 more
   statements a request), REALTIME_INDEX_SNAPSHOT to start from a snapshot.
4. Client, a separate process: one cold request right after the server
   answers, then `--queries` single-record PUTs one after the other, then
   one batch POST per `--batches` size. Queries are Kingdee payloads, new
   ERP customer numbers: a share (`--duplicate-share`) are fresh renderings
   of companies already loaded (typos, other phones, short names: the
   auto-merge and review outcomes), the rest new companies.

Prints one JSON object (and writes it to `--out`): load time and rate, the
server's start-up and index build figures, RSS and PSS of each worker,
p50 / p95 / p99 / max latency per record, throughput, and the outcome counts.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from gunicorn_server import GunicornServer, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
SYSTEMS = ("erp", "crm", "legacy")


# --- the database ------------------------------------------------------------


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary directory, removed on stop."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins:
            raise SystemExit("no PostgreSQL server found; pass --database-url")
        self.bin = bins[-1].parent
        self.dir = Path(tempfile.mkdtemp(prefix="gr-bench-pg-"))
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        data = self.dir / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c shared_buffers=1GB -c max_wal_size=4GB"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.dir / "log"),
            "-w",
            "-o",
            options,
            "start",
        )
        self._run(
            "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "golden_record",
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/golden_record"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def _server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
    }


def _django_setup(database_url: str) -> None:
    os.environ.update(_server_env(database_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdm.settings")
    import django

    django.setup()


# --- loading -----------------------------------------------------------------


def _chunk_companies(seed: int, chunk: int, companies: int):
    """The companies of one chunk and their drafts, numbered uniquely."""
    from fixtures.b2b_hard_negatives import company_groups
    from fixtures.b2b_systems import company_drafts

    rng = random.Random(seed * 100_003 + chunk)
    entities = []
    for group, _labels in company_groups(rng, companies):
        for company in group:
            entities.append((company, company_drafts(rng, company)))
    counters = dict.fromkeys(SYSTEMS, 0)
    numbered = []
    for company, drafts in entities:
        rows = []
        for draft in sorted(drafts, key=lambda d: d.created):
            counters[draft.system] += 1
            source_id = _source_id(
                draft.system, f"C{chunk:03d}", counters[draft.system]
            )
            _number(draft, source_id)
            rows.append((draft, source_id))
        numbered.append((company, rows))
    return numbered


def _source_id(system: str, prefix: str, n: int) -> str:
    """Kingdee customer numbers, Salesforce Ids and sheet rows, unique per
    (prefix, n)."""
    from fixtures.b2b_systems import BASE62, salesforce_suffix

    if system == "erp":
        return f"CUST-{prefix}{n:06d}"
    if system == "legacy":
        return f"XLS-{prefix}{n:05d}"
    number = int(prefix[1:]) * 10**8 + n if prefix[1:].isdigit() else n
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    body = "0015g0" + digits.rjust(9, "0")
    return body + salesforce_suffix(body)


def _number(draft, source_id: str) -> None:
    if draft.system == "erp":
        draft.payload["FNumber"] = source_id
    elif draft.system == "crm":
        draft.payload["Id"] = source_id


def _reserve(cursor, model, count: int) -> list[int]:
    """`count` fresh primary keys from the model's own sequence."""
    if count == 0:
        return []
    cursor.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
        [model._meta.db_table, model._meta.pk.column, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _copy(cursor, connection, model, rows) -> int:
    """COPY rows ({attname: value} dicts, or model instances) into the model's
    table; a column a row does not name gets the field's default."""
    from django.db.models import JSONField
    from psycopg.types.json import Jsonb

    fields = model._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    defaults = {f.attname: f.get_default() for f in fields}
    json_fields = [f.attname for f in fields if isinstance(f, JSONField)]
    names = [f.attname for f in fields]
    count = 0
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            if not isinstance(row, dict):
                row = {f.attname: f.pre_save(row, True) for f in fields}
            values = {**defaults, **row}
            for name in json_fields:
                values[name] = Jsonb(values[name])
            copy.write_row([values[name] for name in names])
            count += 1
    return count


def _history(model, objects, reason_of, when):
    tracked = [f.attname for f in model.history.model.tracked_fields]
    return [
        {
            "history_date": when,
            "history_type": "+",
            "history_change_reason": reason_of(obj)[:100],
            "history_user_id": None,
            **{name: getattr(obj, name) for name in tracked},
        }
        for obj in objects
    ]


def load_chunk(task: tuple[int, int, int, int]) -> dict:
    """Load one chunk: at most `quota` records of `companies` companies."""
    seed, chunk, companies, quota = task
    from django.db import connection, transaction
    from django.utils import timezone

    from mdm.golden_ids import golden_id_format
    from mdm.mapping_presets import payload_map
    from mdm.matching_adapter import attributes_standardise
    from mdm.models import (
        CrossReference,
        GoldenIdAllocation,
        GoldenRecord,
        SourceRecord,
        SourceSystem,
    )
    from mdm.services.source_records import payload_fingerprint
    from mdm.services.survivorship import survive, survivorship_policy_get

    started = time.perf_counter()
    systems = {s.code: s for s in SourceSystem.objects.filter(code__in=SYSTEMS)}
    policy = survivorship_policy_get()
    entities = _chunk_companies(seed, chunk, companies)
    clusters: list[list[SourceRecord]] = []
    loaded = 0
    for _company, rows in entities:
        if loaded + len(rows) > quota:
            break
        members = []
        for draft, source_id in rows:
            system = systems[draft.system]
            data = draft.payload
            mapped = payload_map(data, system.mapping_rules)
            standardised = attributes_standardise(mapped.attributes)
            record = SourceRecord(
                source_system=system,
                source_id=source_id,
                raw_payload=json.dumps(data, ensure_ascii=False),
                fingerprint=payload_fingerprint(data),
                attributes=mapped.attributes,
                standardised=standardised,
                name=(
                    mapped.attributes.get("legal_name")
                    or mapped.attributes.get("english_name")
                    or ""
                )[:300],
                uscc=(standardised.get("uscc") or "")[:32],
                uscc_valid=standardised.get("uscc_valid"),
                source_created_at=mapped.created_at,
                source_updated_at=mapped.updated_at,
            )
            members.append(record)
        clusters.append(members)
        loaded += len(members)
    prepared_s = time.perf_counter() - started
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        records = [r for members in clusters for r in members]
        for record, pk in zip(
            records, _reserve(cursor, SourceRecord, len(records)), strict=True
        ):
            record.pk = record.id = pk
        serials = _reserve(cursor, GoldenIdAllocation, len(clusters))
        golden_pks = _reserve(cursor, GoldenRecord, len(clusters))
        goldens, xrefs = [], []
        for members, serial, pk in zip(clusters, serials, golden_pks, strict=True):
            golden = GoldenRecord(pk=pk, golden_id=golden_id_format(serial))
            values, lineage = survive(members, policy=policy)
            for attribute, value in values.items():
                setattr(golden, attribute, value)
            golden.lineage = lineage
            golden._members = members
            goldens.append(golden)
            for k, member in enumerate(members):
                xrefs.append(
                    CrossReference(
                        source_record=member,
                        golden=golden,
                        method=CrossReference.Method.NEW
                        if k == 0
                        else CrossReference.Method.AUTO_MATCH,
                        linked_at=now,
                    )
                )
        for xref, pk in zip(
            xrefs, _reserve(cursor, CrossReference, len(xrefs)), strict=True
        ):
            xref.pk = pk
        _copy(cursor, connection, SourceRecord, records)
        _copy(
            cursor,
            connection,
            GoldenIdAllocation,
            [{"id": s, "issued_at": now} for s in serials],
        )
        _copy(cursor, connection, GoldenRecord, goldens)
        _copy(cursor, connection, CrossReference, xrefs)
        histories = [
            (SourceRecord, records, lambda r: f"created from {r.source_system.code}"),
            (
                GoldenRecord,
                goldens,
                lambda g: "created from " + ", ".join(m.key for m in g._members),
            ),
            (
                CrossReference,
                xrefs,
                lambda x: f"linked to {x.golden.golden_id} ({x.method})",
            ),
        ]
        for model, objects, reason in histories:
            rows = _history(model, objects, reason, now)
            history_model = model.history.model
            pk_name = history_model._meta.pk.attname
            for row, pk in zip(
                rows, _reserve(cursor, history_model, len(rows)), strict=True
            ):
                row[pk_name] = pk
            _copy(cursor, connection, history_model, rows)
    connection.close()
    return {
        "chunk": chunk,
        "records": len(records),
        "goldens": len(goldens),
        "prepare_s": round(prepared_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
    }


def load(args, database_url: str) -> dict:
    from django.db import connection, connections

    from mdm.models import SourceRecord

    per_chunk = args.chunk_companies * 1.28  # records per company, less a margin
    chunks = max(1, math.ceil(args.records / per_chunk))
    quota = math.ceil(args.records / chunks)
    tasks = [(args.seed, i, args.chunk_companies, quota) for i in range(chunks)]
    connections.close_all()
    started = time.perf_counter()
    done = []
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for result in pool.imap_unordered(load_chunk, tasks):
            done.append(result)
            loaded = sum(r["records"] for r in done)
            print(
                f"  chunk {len(done)}/{chunks}: {loaded:,} records, "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    load_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    analyze_s = time.perf_counter() - started - load_s
    return {
        "records": SourceRecord.objects.count(),
        "chunks": chunks,
        "load_s": round(load_s, 1),
        "analyze_s": round(analyze_s, 1),
        "records_per_s": round(sum(r["records"] for r in done) / load_s),
        "verified": verify_sample(args.seed),
    }


def verify_sample(seed: int, size: int = 50) -> int:
    """Re-send loaded records through the product's upsert: each must come
    back unchanged, with the same attributes. Rolled back afterwards."""
    from django.db import transaction

    from mdm.mapping_presets import payload_map
    from mdm.models import SourceRecord
    from mdm.services.source_records import source_record_upsert

    ids = list(SourceRecord.objects.order_by("?").values_list("pk", flat=True)[:size])
    with transaction.atomic():
        for record in SourceRecord.objects.select_related("source_system").filter(
            pk__in=ids
        ):
            payload = json.loads(record.raw_payload)
            result = source_record_upsert(
                system=record.source_system, source_id=record.source_id, payload=payload
            )
            mapped = payload_map(payload, record.source_system.mapping_rules)
            if result.outcome != "unchanged" or mapped.attributes != record.attributes:
                raise SystemExit(
                    f"loaded record {record.key} differs from the product's"
                )
        transaction.set_rollback(True)
    return len(ids)


# --- queries -----------------------------------------------------------------


def build_queries(args, count: int) -> list[dict]:
    """ERP payloads: fresh renderings of loaded companies (chunk 0, first
    half) and new companies, in a fixed shuffled order."""
    from fixtures.b2b_hard_negatives import company_groups
    from fixtures.b2b_systems import company_drafts

    rng = random.Random(args.query_seed)
    duplicates = round(count * args.duplicate_share)
    loaded = [c for c, _ in _chunk_companies(args.seed, 0, args.chunk_companies)]
    known = loaded[: len(loaded) // 2]
    rng.shuffle(known)
    queries = []
    for company in known:
        if len(queries) == duplicates:
            break
        erp = [d for d in company_drafts(rng, company) if d.system == "erp"]
        if erp:
            queries.append(("duplicate", erp[0]))
    fresh_rng = random.Random(10_000 + args.query_seed)
    while len(queries) < count:
        for group, _labels in company_groups(fresh_rng, 200):
            for company in group:
                erp = [
                    d for d in company_drafts(fresh_rng, company) if d.system == "erp"
                ]
                if erp and len(queries) < count:
                    queries.append(("new", erp[0]))
    rng.shuffle(queries)
    result = []
    for n, (kind, draft) in enumerate(queries, 1):
        source_id = _source_id("erp", f"Q{args.query_seed:02d}-", n)
        _number(draft, source_id)
        result.append({"kind": kind, "source_id": source_id, "payload": draft.payload})
    return result


# --- the server --------------------------------------------------------------


def issue_token() -> str:
    from mdm.models import ApiClient, SourceSystem
    from mdm.services.api_tokens import api_token_issue

    client, _ = ApiClient.objects.get_or_create(
        name="bench-erp",
        defaults={
            "source_system": SourceSystem.objects.get(code="erp"),
            "scopes": ["read", "write"],
        },
    )
    return api_token_issue(client=client).secret


def start_server(args, database_url: str) -> GunicornServer:
    env = {
        **_server_env(database_url),
        "REALTIME_INDEX_WARM": "false" if args.cold else "true",
    }
    log = Path(tempfile.mkstemp(prefix="gr-bench-gunicorn-", suffix=".log")[1])
    return GunicornServer.start(env, workers=args.workers, log=log)


def worker_memory(server: subprocess.Popen) -> list[dict]:
    """RSS and PSS (MiB) of the master and each worker."""
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    found = []
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        values = {
            line.split(":")[0]: int(line.split()[1]) / 1024
            for line in rollup.splitlines()[1:]
        }
        found.append(
            {
                "pid": pid,
                "role": "master" if pid == server.pid else "worker",
                "rss_mib": round(values.get("Rss", 0)),
                "pss_mib": round(values.get("Pss", 0)),
            }
        )
    return found


def workers_cpu_s(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) the workers have used so far."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    total = 0
    for pid in children.read_text().split() if children.exists() else []:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def warm_log(log: Path) -> list[str]:
    return [
        line.strip()
        for line in log.read_text().splitlines()
        if "real-time index" in line
    ]


# --- the client (its own process) ---------------------------------------------


def client_main(argv: list[str]) -> None:
    import requests

    ap = argparse.ArgumentParser(prog="run_rest_ingest.py client")
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--singles", type=int, required=True)
    ap.add_argument("--batches", default="")
    args = ap.parse_args(argv)
    queries = [json.loads(line) for line in Path(args.queries).read_text().splitlines()]
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {args.token}", "X-Forwarded-Proto": "https"}
    )
    base = f"{args.url}/api/v1/systems/erp/records"

    def put(query: dict) -> tuple[float, dict]:
        started = time.perf_counter()
        response = session.put(f"{base}/{query['source_id']}", json=query["payload"])
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 201):
            raise SystemExit(
                f"PUT {query['source_id']}: {response.status_code} "
                f"{response.text[:500]}"
            )
        return elapsed, response.json()

    first_s, _ = put(queries[0])
    rest = queries[1 : 1 + args.singles]
    latencies, outcomes = [], Counter()
    started = time.perf_counter()
    for query in rest:
        elapsed, body = put(query)
        latencies.append(elapsed)
        decision = (body.get("match") or {}).get("decision", body["outcome"])
        outcomes[f"{query['kind']}->{decision}"] += 1
    wall = time.perf_counter() - started
    result = {
        "first_request_ms": round(first_s * 1000, 1),
        "singles": _summary(latencies, wall, outcomes),
    }
    offset = 1 + args.singles
    for size in [int(s) for s in args.batches.split(",") if s]:
        items = queries[offset : offset + size]
        offset += size
        body = {
            "records": [
                {"source_id": q["source_id"], "payload": q["payload"]} for q in items
            ]
        }
        started = time.perf_counter()
        response = session.post(f"{base}/batch", json=body, timeout=3600)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            result[f"batch_{size}"] = {
                "records": len(items),
                "call_s": round(elapsed, 2),
                "error": f"HTTP {response.status_code}",
            }
            continue
        counts = Counter(
            (r.get("match") or {}).get("decision", r.get("outcome", "error"))
            for r in response.json()["results"]
        )
        result[f"batch_{size}"] = {
            "records": len(items),
            "call_s": round(elapsed, 2),
            "per_record_ms": round(elapsed * 1000 / len(items), 2),
            "records_per_s": round(len(items) / elapsed, 1),
            "outcomes": dict(counts),
        }
    print(json.dumps(result))


def _summary(latencies: list[float], wall: float, outcomes: Counter) -> dict:
    ms = sorted(x * 1000 for x in latencies)
    # p95 of each quarter of the run, in the order sent: the first requests a
    # fresh worker serves copy the index pages they touch (copy-on-write)
    quarter = math.ceil(len(latencies) / 4)
    return {
        "requests": len(ms),
        "p50_ms": _pct(ms, 50),
        "p95_ms": _pct(ms, 95),
        "p99_ms": _pct(ms, 99),
        "max_ms": round(ms[-1], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "p95_ms_by_quarter": [
            _pct(sorted(x * 1000 for x in latencies[i : i + quarter]), 95)
            for i in range(0, len(latencies), quarter)
        ],
        "records_per_s": round(len(ms) / wall, 1),
        "outcomes": dict(sorted(outcomes.items())),
    }


def _pct(ms: list[float], p: float) -> float:
    return round(ms[min(len(ms) - 1, math.ceil(p / 100 * len(ms)) - 1)], 1)


# --- main --------------------------------------------------------------------


def main() -> None:
    if sys.argv[1:2] == ["client"]:
        client_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--database-url", help="PostgreSQL URL; default: a throwaway server"
    )
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--skip-load", action="store_true", help="the database is loaded")
    ap.add_argument("--load-only", action="store_true", help="stop after loading")
    ap.add_argument("--chunk-companies", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=2, help="loader processes")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--query-seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=2000, help="single-record PUTs")
    ap.add_argument("--batches", default="100,1000", help="batch sizes, one call each")
    ap.add_argument("--duplicate-share", type=float, default=0.4)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--cold", action="store_true", help="no index warm-up at start")
    ap.add_argument(
        "--keep-server", action="store_true", help="leave PostgreSQL running"
    )
    ap.add_argument("--out")
    args = ap.parse_args()

    pg = None
    database_url = args.database_url
    if database_url is None:
        if args.skip_load:
            raise SystemExit("--skip-load needs --database-url")
        pg = ThrowawayPostgres()
        database_url = pg.start()
    server = None
    try:
        result = {"command": " ".join(sys.argv), "machine": machine()}
        env = _server_env(database_url)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        _django_setup(database_url)
        if not args.skip_load:
            result["load"] = load(args, database_url)
            print(f"loaded: {result['load']}", file=sys.stderr, flush=True)
            if args.load_only:
                print(json.dumps(result, indent=1))
                return
        from django.db import connections

        from mdm.models import GoldenRecord, SourceRecord

        result["database"] = {
            "source_records": SourceRecord.objects.count(),
            "golden_records": GoldenRecord.objects.count(),
        }
        batch_sizes = [int(s) for s in args.batches.split(",") if s]
        queries = build_queries(args, 1 + args.queries + sum(batch_sizes))
        token = issue_token()
        connections.close_all()
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
            fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in queries)
            queries_path = fh.name
        started = time.perf_counter()
        server = start_server(args, database_url)
        answers_after_s = server.wait_answering(
            "/api/v1/exports/cross-reference", timeout=3600
        )
        result["server"] = {
            "workers": args.workers,
            "warm_up": not args.cold,
            # rate-limit counters: Redis (REDIS_URL, as production) or a table
            "cache": "redis" if os.environ.get("REDIS_URL") else "database",
            "answers_after_s": round(answers_after_s, 1),
        }
        cpu_before = workers_cpu_s(server.process)
        client = subprocess.run(
            [
                PYTHON,
                __file__,
                "client",
                "--url",
                server.url,
                "--token",
                token,
                "--queries",
                queries_path,
                "--singles",
                str(args.queries),
                "--batches",
                args.batches,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if client.returncode:
            raise SystemExit(
                f"client failed:\n{client.stderr[-3000:]}\n{server.log_tail()}"
            )
        result["client"] = json.loads(client.stdout.strip().splitlines()[-1])
        ingested = 1 + args.queries + sum(batch_sizes)
        result["server"]["worker_cpu_ms_per_record"] = round(
            (workers_cpu_s(server.process) - cpu_before) * 1000 / ingested, 1
        )
        result["server"]["memory"] = worker_memory(server.process)
        result["server"]["index_log"] = warm_log(server.log)
        result["server"]["total_s"] = round(time.perf_counter() - started, 1)
        os.unlink(queries_path)
    finally:
        if server is not None:
            server.stop()
        if pg is not None and not args.keep_server:
            pg.stop()
        elif pg is not None:
            print(
                f"PostgreSQL left running: {database_url} ({pg.dir})", file=sys.stderr
            )
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().split()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "mem_gib": round(int(meminfo[1]) / 2**20, 1),
        "python": sys.version.split()[0],
    }


if __name__ == "__main__":
    main()
