"""A tiny seeded generator of person records with duplicates and households."""

from __future__ import annotations

import random

from matching import Record

FIRST = (
    "james mary john patricia robert jennifer michael linda william elizabeth david "
    "barbara richard susan joseph jessica thomas sarah charles karen daniel nancy "
    "matthew lisa anthony betty mark helen donald sandra steven donna paul carol"
).split()
SURNAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez "
    "hernandez lopez gonzalez wilson anderson thomas taylor moore jackson martin"
).split()
STREETS = "oak maple cedar pine elm walnut birch willow cherry spruce".split()
SUFFIX = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Lane", "Ln"))


def _typo(s: str, r: random.Random) -> str:
    i = r.randrange(len(s))
    return s[:i] + r.choice("abcdefghijklmnopqrstuvwxyz") + s[i + 1 :]


def _rare_surname(r: random.Random) -> str:
    return "".join(r.choice("bcdfghklmnprstvz") + r.choice("aeiou") for _ in range(3))


def people(entities: int, seed: int = 7) -> tuple[list[Record], list[int]]:
    """Records and their true entity ids."""
    r = random.Random(seed)
    base = []
    for e in range(entities):
        sn = r.choice(SURNAMES) if r.random() < 0.4 else _rare_surname(r)
        street, (suffix, abbr) = r.choice(STREETS).title(), r.choice(SUFFIX)
        base.append(
            {
                "first_name": r.choice(FIRST).title(),
                "surname": sn.title(),
                "dob": f"{r.randint(1940, 2004)}-{r.randint(1, 12):02d}-"
                f"{r.randint(1, 28):02d}",
                "street_address": f"{r.randint(1, 300)} {street} {suffix}",
                "abbr": f"{suffix}|{abbr}",
                "city": r.choice(("springfield", "riverton", "lakeside", "hillview")),
                "postcode": f"{r.randint(10000, 10400)}",
                "phone": f"{r.randint(200, 999)}{r.randint(1000000, 9999999)}",
                "email": f"{sn.lower()}.{e}@example.com",
            }
        )
    # households: a partner shares address, phone and (mostly) the surname
    for e in range(0, entities - 1, 20):
        partner = base[e + 1]
        for key in ("street_address", "city", "postcode", "phone"):
            partner[key] = base[e][key]
        partner["surname"] = base[e]["surname"]
    records, truth = [], []
    for e, fields in enumerate(base):
        copies = 1 + (r.random() < 0.5) + (r.random() < 0.15)
        for c in range(copies):
            f = {k: v for k, v in fields.items() if k != "abbr"}
            if c:
                if r.random() < 0.15:
                    f["first_name"] = _typo(f["first_name"], r)
                if r.random() < 0.1:
                    f["surname"] = _typo(f["surname"], r)
                if r.random() < 0.3:
                    full, abbr = fields["abbr"].split("|")
                    f["street_address"] = f["street_address"].replace(full, abbr)
                if r.random() < 0.15:
                    f["phone"] = None
                if r.random() < 0.3:
                    f["email"] = None
                if r.random() < 0.05:
                    f["dob"] = None
            records.append(Record(f"r{len(records)}", r.choice(("crm", "erp")), f))
            truth.append(e)
    order = list(range(len(records)))
    r.shuffle(order)
    return [records[i] for i in order], [truth[i] for i in order]
