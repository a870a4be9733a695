"""Common English given-name variants: canonical name -> nicknames.

Data only.  Used to put "Bill" and "William" on one canonical key so a
nickname counts as a (weaker) first-name agreement.
"""

from __future__ import annotations

NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "gail"),
    "albert": ("al", "bert"),
    "alexander": ("alex", "al", "sandy", "xander"),
    "alexandra": ("alex", "sasha", "sandra", "lexi"),
    "alfred": ("alf", "fred"),
    "allison": ("ally", "allie"),
    "amanda": ("mandy", "amy"),
    "andrew": ("andy", "drew"),
    "angela": ("angie",),
    "anthony": ("tony",),
    "arthur": ("art",),
    "barbara": ("barb", "babs"),
    "benjamin": ("ben", "benny"),
    "beverly": ("bev",),
    "bradley": ("brad",),
    "catherine": ("cathy", "cat", "kate"),
    "charles": ("charlie", "chuck", "chas"),
    "christina": ("chris", "tina", "christy"),
    "christopher": ("chris", "kit", "topher"),
    "cynthia": ("cindy",),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "deborah": ("deb", "debbie", "debby"),
    "donald": ("don", "donny"),
    "dorothy": ("dot", "dottie"),
    "douglas": ("doug",),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "beth", "betty", "eliza", "lizzie", "betsy"),
    "eugene": ("gene",),
    "frances": ("fran", "frankie"),
    "francis": ("frank",),
    "frederick": ("fred", "freddie"),
    "gerald": ("jerry",),
    "gregory": ("greg",),
    "harold": ("hal", "harry"),
    "henry": ("hank", "harry"),
    "james": ("jim", "jimmy", "jamie"),
    "jeffrey": ("jeff",),
    "jennifer": ("jen", "jenny"),
    "jessica": ("jess", "jessie"),
    "john": ("jack", "johnny"),
    "jonathan": ("jon",),
    "joseph": ("joe", "joey"),
    "joshua": ("josh",),
    "judith": ("judy",),
    "katherine": ("kate", "kathy", "katie", "kat"),
    "kathleen": ("kathy", "kate"),
    "kenneth": ("ken", "kenny"),
    "kimberly": ("kim",),
    "lawrence": ("larry",),
    "leonard": ("leo", "len", "lenny"),
    "margaret": ("maggie", "peggy", "meg", "marge"),
    "matthew": ("matt",),
    "michael": ("mike", "mick", "mikey"),
    "nicholas": ("nick", "nicky"),
    "pamela": ("pam",),
    "patricia": ("pat", "patty", "trish", "tricia"),
    "patrick": ("pat", "paddy"),
    "peter": ("pete",),
    "philip": ("phil",),
    "raymond": ("ray",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "dick", "rich", "ricky"),
    "robert": ("bob", "rob", "bobby", "robbie"),
    "ronald": ("ron", "ronnie"),
    "samantha": ("sam", "sammy"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve",),
    "steven": ("steve",),
    "susan": ("sue", "suzy"),
    "theodore": ("ted", "teddy", "theo"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "tori"),
    "walter": ("walt",),
    "william": ("bill", "will", "billy", "liam", "willy"),
    "zachary": ("zach",),
}


def canonical_map() -> dict[str, tuple[str, ...]]:
    """Map every nickname (and canonical name) to its possible canonical names.

    A nickname shared by several names ("pat", "sam") maps to all of them.
    """
    out: dict[str, set[str]] = {}
    for canon, nicks in NICKNAMES.items():
        out.setdefault(canon, set()).add(canon)
        for nick in nicks:
            out.setdefault(nick, set()).add(canon)
    return {k: tuple(sorted(v)) for k, v in out.items()}
