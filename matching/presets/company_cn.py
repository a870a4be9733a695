"""Default model for Chinese B2B company records.

Identifiers are hard evidence: the same valid USCC is decisive for a match,
two different valid USCCs are decisive against (never auto-merged).  A
branch against its head office is strong evidence against, with weights
fixed here rather than learnt, because branches are too rare in most files
for EM to see them.
"""

from __future__ import annotations

from matching.config import BlockingRule, Comparison, Level, MatchConfig, Test


def _t(op: str, col: str, threshold: float | None = None) -> Test:
    return Test(op, (col,), threshold)


USCC = Comparison(
    name="uscc",
    columns=("co_uscc_any",),
    levels=(
        Level("same_valid", "same USCC", (_t("exact", "co_uscc"),), decisive="match"),
        Level(
            "different_valid",
            "different valid USCCs — never auto-merged",
            (_t("differ", "co_uscc"),),
            decisive="non_match",
        ),
        Level(
            "same_org_code",
            "same organisation code (old and new tax ids)",
            (_t("exact", "co_uscc_org"),),
        ),
        Level(
            "same_unchecked",
            "same tax id (not a valid USCC)",
            (_t("exact", "co_uscc_any"),),
        ),
        Level(
            "typo", "tax ids one character apart", (_t("damerau", "co_uscc_any", 1),)
        ),
    ),
    else_text="tax ids differ",
)

NAME = Comparison(
    name="name",
    columns=("co_key",),
    levels=(
        Level(
            "exact_core",
            "same name after removing region and legal form",
            (_t("exact", "co_core"),),
            tf=True,
        ),
        Level(
            "cross_script",
            "same name in Chinese and in Latin letters",
            (_t("exact", "co_keys"),),
        ),
        Level(
            "jw92",
            "name {similarity} alike after removing the legal form",
            (_t("jaro_winkler", "co_key", 0.92),),
        ),
        Level(
            "brand",
            "same brand, other business words",
            (_t("exact", "co_brand"),),
            tf=True,
        ),
        Level(
            "jw80",
            "name {similarity} alike after removing the legal form",
            (_t("jaro_winkler", "co_key", 0.8),),
        ),
    ),
    else_text="names differ — not merged without review",
    # an agent's shared phone and address must not merge two firms whose
    # names differ; only the same USCC may
    else_decisive="review",
)

BRANCH = Comparison(
    name="branch",
    columns=("co_branch",),
    levels=(Level("same", "same branch status", (_t("exact", "co_branch"),)),),
    else_text="one is a branch, the other the head office (or another branch)",
    # log2(0.002 / 0.1): about -5.6 bits against; only the same USCC
    # (decisive) can still merge a branch with its head office
    m=(0.998, 0.002),
    u=(0.90, 0.10),
    trainable=False,
)

REGION = Comparison(
    name="region",
    columns=("co_city", "co_province"),
    levels=(
        Level("city", "same city", (_t("exact", "co_city"),), tf=True),
        Level("province", "same province, other city", (_t("exact", "co_province"),)),
    ),
    else_text="in different regions",
)

PHONE = Comparison(
    name="phone",
    columns=("co_phones",),
    levels=(
        Level("exact", "same phone number", (_t("exact", "co_phones"),)),
        Level("last7", "same last 7 phone digits", (_t("exact", "co_phone7"),)),
    ),
    else_text="phone differs",
)

EMAIL = Comparison(
    name="email",
    columns=("co_email",),
    levels=(
        Level("exact", "same email address", (_t("exact", "co_email"),)),
        Level("domain", "same company email domain", (_t("exact", "co_domain"),)),
    ),
    else_text="email differs",
)

ADDRESS = Comparison(
    name="address",
    columns=("co_addr",),
    levels=(
        Level("exact", "same address", (_t("exact", "co_addr"),)),
        Level(
            "detail",
            "same district, street address {similarity} alike",
            (_t("exact", "co_district"), _t("jaro_winkler", "co_addr_detail", 0.9)),
        ),
        Level("district", "same district, other street", (_t("exact", "co_district"),)),
    ),
    else_text="address differs",
)

CONTACT = Comparison(
    name="contact",
    columns=("co_contact",),
    levels=(
        Level("exact", "same contact person", (_t("exact", "co_contact"),)),
        Level(
            "surname",
            "contact persons share a surname",
            (_t("exact", "co_contact_sn"),),
        ),
    ),
    else_text="contact person differs",
)

BLOCKING = (
    BlockingRule("uscc", ("co_uscc_any",)),
    BlockingRule("uscc_org", ("co_uscc_org",)),
    BlockingRule("phone", ("co_phones",)),
    BlockingRule("email", ("co_email",)),
    BlockingRule("email_domain", ("co_domain",)),
    BlockingRule("brand", ("co_brand",)),
    BlockingRule("latin_key", ("co_keys",)),
    BlockingRule("core_tokens", ("co_tokens",), max_block_size=50),
    BlockingRule("sorted_core", ("co_key",), method="sorted_neighbourhood", window=4),
)

COMPANY_CN = MatchConfig(
    schema="company_cn",
    blocking=BLOCKING,
    comparisons=(USCC, NAME, BRANCH, REGION, PHONE, EMAIL, ADDRESS, CONTACT),
    auto_merge_threshold=0.9,
    review_threshold=0.5,
    max_block_size=300,
)
