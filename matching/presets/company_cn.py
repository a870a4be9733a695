"""Default model for Chinese B2B company records.

Identifiers are hard evidence: the same valid USCC is decisive for a match,
two different valid USCCs are decisive against (never auto-merged, never in
one cluster).  The registered name tells apart companies that look alike:
a branch (分公司) and its head office, a group (集团) and a company of it,
the same brand in another line of business (华盛科技 / 华盛贸易) are
separately registered companies, so these are never auto-merged on shared
addresses, phones or domains (which they often have); only the same valid
USCC can say otherwise.  A name that only sounds or reads alike (华胜 for
华盛, a pinyin name, a near spelling), or one whose city is not known to be
the same, needs a second, identifying agreement (tax id, phone, email,
street address or contact person: the levels marked `corroborates`) before
it may auto-merge; the same name in the same city may merge on its own.
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
            corroborates=True,
        ),
        Level(
            "same_unchecked",
            "same tax id (not a valid USCC)",
            (_t("exact", "co_uscc_any"),),
            corroborates=True,
        ),
        Level(
            "typo",
            "tax ids one character apart",
            (_t("damerau", "co_uscc_any", 1),),
            corroborates=True,
        ),
    ),
    else_text="tax ids differ",
)

# Only the same name in the same city may auto-merge on its own: the other
# name levels are "corroborate" (capped below auto-merge unless an
# identifying field agrees too).  Homophones are common in trade names (华盛,
# 华胜, 华晟 are three companies as often as one typo), a Latin name is a
# pinyin reading that several Chinese names share, and a name without its
# city is any of the companies of that name across China.
_ALIKE = "corroborate"

NAME = Comparison(
    name="name",
    columns=("co_key",),
    levels=(
        Level(
            "exact_name",
            "same name and city, legal form aside",
            (_t("exact", "co_core"), _t("exact", "co_city")),
            tf=True,
        ),
        Level(
            # 华盛科技 without its region names any 华盛科技 in China
            "exact_core",
            "same name after removing region and legal form, city not the same "
            "or not known — not merged on the name alone",
            (_t("exact", "co_core"),),
            tf=True,
            decisive=_ALIKE,
        ),
        Level(
            "other_trade",
            "other line of business (科技 / 贸易, 集团 / 建材): another company — "
            "not merged without review",
            (_t("differ", "co_trade"),),
            # the industry words are part of the registered name: 华盛科技,
            # 华盛网络科技 and 华盛贸易 are three registrations, however much
            # else they share (an exact core has the same words: no loss)
            decisive="review",
        ),
        Level(
            "homophone",
            "names sound the same but are written differently — not merged on "
            "the name alone",
            (_t("exact", "co_keys"), _t("differ", "co_han_core")),
            decisive=_ALIKE,
        ),
        Level(
            "cross_script",
            "same name in Chinese and in Latin letters — not merged on the name alone",
            (_t("exact", "co_keys"),),
            decisive=_ALIKE,
        ),
        Level(
            "jw92",
            "name {similarity} alike after removing the legal form — not merged "
            "on the name alone",
            (_t("jaro_winkler", "co_key", 0.92),),
            decisive=_ALIKE,
        ),
        Level(
            "brand",
            "same brand, other business words — not merged on the name alone",
            (_t("exact", "co_brand"),),
            tf=True,
            decisive=_ALIKE,
        ),
        Level(
            "jw80",
            "name {similarity} alike after removing the legal form — not merged "
            "without review",
            (_t("jaro_winkler", "co_key", 0.8),),
            # pinyin keys of two brands with the same trade words get this
            # far ("bohan technology", "woman technology"): names that differ
            decisive="review",
        ),
    ),
    else_text="names differ — not merged without review",
    # an agent's shared phone and address must not merge two firms whose
    # names differ; only the same USCC may
    else_decisive="review",
    ordered=True,
)

BRANCH = Comparison(
    name="branch",
    columns=("co_branch",),
    levels=(Level("same", "same branch status", (_t("exact", "co_branch"),)),),
    else_text="one is a branch, the other the head office (or another branch) — "
    "not merged without review",
    # log2(0.002 / 0.1): about -5.6 bits against; a branch often shares its
    # head office's domain, so it is capped too: only the same USCC
    # (decisive) can still merge a branch with its head office
    m=(0.998, 0.002),
    u=(0.90, 0.10),
    trainable=False,
    else_decisive="review",
)

GROUP = Comparison(
    name="group",
    columns=("co_group",),
    levels=(
        Level("same", "both group companies, or neither", (_t("exact", "co_group"),)),
    ),
    else_text="a group (集团) and a company that is not — not merged without review",
    # as for branches: a group shares office, domain and brand with its
    # companies, and groups are too few for EM to learn from
    m=(0.998, 0.002),
    u=(0.90, 0.10),
    trainable=False,
    else_decisive="review",
)

REGION = Comparison(
    name="region",
    columns=("co_city", "co_province"),
    levels=(
        Level("city", "same city", (_t("exact", "co_city"),), tf=True),
        Level("province", "same province, other city", (_t("exact", "co_province"),)),
    ),
    else_text="in different regions",
    # no level `corroborates`: a city is where thousands of companies are
    ordered=True,
)

PHONE = Comparison(
    name="phone",
    # a tail alone is evidence too: a landline keyed without its area code
    columns=("co_phones", "co_phone7"),
    levels=(
        Level(
            "exact",
            "same phone number",
            (_t("exact", "co_phones"),),
            corroborates=True,
        ),
        Level(
            "last7",
            "same last 7 phone digits",
            (_t("exact", "co_phone7"),),
            corroborates=True,
        ),
    ),
    else_text="phone differs",
)

EMAIL = Comparison(
    name="email",
    columns=("co_email",),
    levels=(
        Level(
            "exact",
            "same email address",
            (_t("exact", "co_email"),),
            corroborates=True,
        ),
        Level(
            "domain",
            "same company email domain",
            (_t("exact", "co_domain"),),
            corroborates=True,
        ),
    ),
    else_text="email differs",
)

ADDRESS = Comparison(
    name="address",
    columns=("co_addr",),
    levels=(
        Level("exact", "same address", (_t("exact", "co_addr"),), corroborates=True),
        Level(
            "detail",
            "same district, street address {similarity} alike",
            (_t("exact", "co_district"), _t("jaro_winkler", "co_addr_detail", 0.9)),
            corroborates=True,
        ),
        Level(
            # one side's address leaves out the district: 北京市淮海路35号
            "street",
            "street address {similarity} alike",
            (_t("jaro_winkler", "co_addr_detail", 0.9),),
            corroborates=True,
        ),
        Level("district", "same district, other street", (_t("exact", "co_district"),)),
    ),
    else_text="address differs",
)

CONTACT = Comparison(
    name="contact",
    columns=("co_contact",),
    levels=(
        Level(
            "exact",
            "same contact person",
            (_t("exact", "co_contact"),),
            corroborates=True,
        ),
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
    comparisons=(
        USCC,
        NAME,
        BRANCH,
        GROUP,
        REGION,
        PHONE,
        EMAIL,
        ADDRESS,
        CONTACT,
    ),
    auto_merge_threshold=0.9,
    review_threshold=0.5,
    max_block_size=300,
)
