import csv
import json

from matching.cli import main
from tests.matching.people import people

FIELDS = (
    "first_name",
    "surname",
    "dob",
    "street_address",
    "city",
    "postcode",
    "phone",
    "email",
)


def _write(path, records, extra=()):
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("id", *FIELDS, "notes", *extra))
        for r in records:
            writer.writerow((r.id, *(r.fields.get(f) or "" for f in FIELDS), "x"))


def test_dedupe_writes_one_cluster_per_record(tmp_path, capsys):
    records, truth = people(120, seed=3)
    _write(tmp_path / "in.csv", records)
    out, cfg = tmp_path / "clusters.csv", tmp_path / "trained.json"
    assert (
        main(
            [
                "dedupe",
                str(tmp_path / "in.csv"),
                "--out",
                str(out),
                "--save-config",
                str(cfg),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == [r.id for r in records]
    clusters = {r["id"]: r["cluster_id"] for r in rows}
    by_entity = {}
    for rec, ent in zip(records, truth, strict=True):
        by_entity.setdefault(ent, set()).add(clusters[rec.id])
    kept_together = sum(len(c) == 1 for c in by_entity.values()) / len(by_entity)
    assert kept_together > 0.9
    assert json.loads(cfg.read_text(encoding="utf-8"))["prior"] > 0
    err = capsys.readouterr().err
    assert "pairs scored" in err and "s wall" in err


def test_link_writes_scored_cross_file_pairs(tmp_path):
    records, _ = people(80, seed=5)
    _write(tmp_path / "a.csv", records[::2])
    _write(tmp_path / "b.csv", records[1::2])
    out = tmp_path / "links.csv"
    assert (
        main(
            [
                "link",
                str(tmp_path / "a.csv"),
                str(tmp_path / "b.csv"),
                "--out",
                str(out),
                "--schema",
                "person",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and set(rows[0]) == {"left_id", "right_id", "score"}
    left_ids = {r.id for r in records[::2]}
    assert all(r["left_id"] in left_ids for r in rows)
    assert all(r["right_id"] not in left_ids for r in rows)
