"""Legal-form and branch vocabulary of company names (data only).

Keys are in normalised form: simplified Chinese, brackets as "(" and ")",
Latin lower-case with punctuation replaced by spaces.
"""

from __future__ import annotations

_GROUP = "集团"

# Chinese legal-form suffix → canonical form. 集团 wins over the company type
# it is combined with: 华盛集团, 华盛集团有限公司 and 华盛集团股份有限公司 name
# the same group.
HAN_LEGAL_FORMS = {
    "集团股份有限公司": _GROUP,
    "集团有限责任公司": _GROUP,
    "集团有限公司": _GROUP,
    "集团公司": _GROUP,
    "(集团)股份有限公司": _GROUP,
    "(集团)有限责任公司": _GROUP,
    "(集团)有限公司": _GROUP,
    "(集团)公司": _GROUP,
    "(集团)": _GROUP,
    "集团": _GROUP,
    "股份有限公司": "股份有限公司",
    "股份公司": "股份有限公司",
    "有限责任公司": "有限责任公司",
    "有限公司": "有限公司",
    "公司": "公司",
    "(有限合伙)": "有限合伙",
    "有限合伙": "有限合伙",
    "(普通合伙)": "普通合伙",
    "(特殊普通合伙)": "特殊普通合伙",
    "合伙企业": "合伙企业",
    "个人独资企业": "个人独资企业",
    "(个体工商户)": "个体工商户",
    "个体工商户": "个体工商户",
    "(个体)": "个体工商户",
    "个体": "个体工商户",
    "工作室": "工作室",
    "经营部": "经营部",
    "门市部": "经营部",
    "工厂": "厂",
    "厂": "厂",
    "商店": "店",
    "店": "店",
}

# 酒店, 饭店 … are the business itself, not the "shop" legal form.
HAN_SHOP_EXCEPTIONS = frozenset("酒饭书药花")

# Suffixes that make a name a branch of another company (上海分公司).
HAN_BRANCH_WORDS = (
    "分公司",
    "分部",
    "办事处",
    "代表处",
    "分厂",
    "分店",
    "营业部",
    "分行",
    "支行",
    "分所",
    "分中心",
    "分院",
)

# Latin legal-form phrases → canonical token.
LATIN_LEGAL_FORMS = {
    "company limited": "ltd",
    "co limited": "ltd",
    "co ltd": "ltd",
    "pte ltd": "ltd",
    "pty ltd": "ltd",
    "limited": "ltd",
    "ltd": "ltd",
    "incorporated": "inc",
    "inc": "inc",
    "corporation": "corp",
    "corp": "corp",
    "company": "co",
    "co": "co",
    "gmbh": "gmbh",
    "l l c": "llc",
    "llc": "llc",
    "llp": "llp",
    "plc": "plc",
    "s a": "sa",
    "sa": "sa",
    "ag": "ag",
    "b v": "bv",
    "bv": "bv",
    "nv": "nv",
    "sdn bhd": "sdn bhd",
    "kk": "kk",
    "srl": "srl",
    "spa": "spa",
    "sarl": "sarl",
    "group": "group",
}

LATIN_BRANCH_WORDS = {
    "branch": "branch",
    "branch office": "branch",
    "representative office": "representative office",
    "rep office": "representative office",
    "liaison office": "representative office",
}

# Bracketed or leading words that only say "China".
COUNTRY_WORDS = frozenset({"中国", "中华", "china", "prc", "p r c", "p r china"})
