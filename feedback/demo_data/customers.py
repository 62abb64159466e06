"""The demo organisation's customers, as plain data. No ORM.

About one in eight is internal (a colleague in another department); the rest are external:
individuals on the free or standard tier, and contacts of companies on the standard,
premium or enterprise tier, with annual values that grow with the tier.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from . import phrases
from .sampling import Weighted

MAX_CUSTOMERS = 50_000
# Demo addresses use the reserved ".example" top-level domain: no mail can reach a real
# person, and the loader recognises demo customers by it when flushing.
DEMO_EMAIL_SUFFIX = ".example"
INTERNAL_DOMAIN = f"{phrases.ORGANISATION.lower()}.example"

INTERNAL_CUSTOMER_SHARE = 0.12
EXTERNAL = "external"
INTERNAL = "internal"


@dataclass(frozen=True)
class CustomerSeed:
    name: str
    email: str
    kind: str
    tier: str
    department: str
    account: str
    annual_value: Decimal
    attributes: dict
    consent_contact: bool
    consent_research: bool
    activity: float


def customer_count_for(size: int) -> int:
    """2,000 customers for the default size, fewer for small runs, bounded for huge ones."""
    return min(MAX_CUSTOMERS, max(min(size // 10, 2_000), size // 200, 50))


_TIER_ACTIVITY = {"free": 0.6, "standard": 1.0, "premium": 1.5, "enterprise": 2.5}
_COMPANY_TIERS = Weighted([("standard", 0.6), ("premium", 0.3), ("enterprise", 0.1)])
# Bigger accounts have more people who talk to us.
_COMPANY_CONTACTS = {"standard": 1.0, "premium": 1.5, "enterprise": 2.5}
# Median annual value and spread (log-normal sigma) per tier.
_ANNUAL_VALUE = {
    "standard": (600, 0.5),
    "premium": (6_000, 0.5),
    "enterprise": (80_000, 0.6),
}
_LANGUAGES = Weighted([("en", 5), ("de", 2), ("fr", 1.5), ("es", 1.5), ("sv", 0.5), ("nl", 1)])


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    tier: str
    region: str


def generate_customers(*, count: int, seed: int) -> list[CustomerSeed]:
    """``count`` customers: about one in eight internal (a department), the rest external."""
    rng = random.Random(f"{seed}:customers")
    internal_count = max(1, round(count * INTERNAL_CUSTOMER_SHARE))
    kinds = [INTERNAL] * internal_count + [EXTERNAL] * (count - internal_count)
    rng.shuffle(kinds)
    companies = _generate_companies(rng, count=max(5, count // 8))
    company_picker = Weighted([(c, _COMPANY_CONTACTS[c.tier]) for c in companies])
    used_emails: set[str] = set()
    customers = []
    for kind in kinds:
        first = rng.choice(phrases.FIRST_NAMES)
        last = rng.choice(phrases.LAST_NAMES)
        if kind == INTERNAL:
            customers.append(_internal_customer(rng, first, last, used_emails))
        else:
            company = company_picker.pick(rng) if rng.random() < 0.6 else None
            customers.append(_external_customer(rng, first, last, company, used_emails))
    return customers


def _generate_companies(rng: random.Random, *, count: int) -> list[_Company]:
    names = [
        f"{prefix} {noun}" for prefix in phrases.COMPANY_PREFIXES for noun in phrases.COMPANY_NOUNS
    ]
    rng.shuffle(names)
    companies = []
    for base in names[:count]:
        suffix = rng.choice(phrases.COMPANY_SUFFIXES)
        companies.append(
            _Company(
                name=f"{base} {suffix}".strip(),
                domain=base.lower().replace(" ", "") + DEMO_EMAIL_SUFFIX,
                tier=_COMPANY_TIERS.pick(rng),
                region=rng.choice(phrases.REGIONS),
            )
        )
    return companies


def _unique_email(local: str, domain: str, used: set[str]) -> str:
    email = f"{local}@{domain}"
    number = 1
    while email in used:
        number += 1
        email = f"{local}{number}@{domain}"
    used.add(email)
    return email


def _internal_customer(rng: random.Random, first: str, last: str, used: set[str]) -> CustomerSeed:
    department_index = rng.randrange(len(phrases.DEPARTMENTS))
    return CustomerSeed(
        name=f"{first} {last}",
        email=_unique_email(f"{first}.{last}".lower(), INTERNAL_DOMAIN, used),
        kind=INTERNAL,
        tier="standard",
        department=phrases.DEPARTMENTS[department_index],
        account=f"{phrases.ORGANISATION} (internal)",
        annual_value=Decimal("0.00"),
        attributes={
            "site": rng.choice(phrases.SITES),
            "cost_centre": f"CC-{1000 + 10 * department_index}",
        },
        consent_contact=rng.random() < 0.9,
        consent_research=rng.random() < 0.5,
        activity=min(30.0, rng.paretovariate(1.5)),
    )


def _external_customer(
    rng: random.Random, first: str, last: str, company: _Company | None, used: set[str]
) -> CustomerSeed:
    if company is None:
        tier = "free" if rng.random() < 0.7 else "standard"
        domain = rng.choice(phrases.PERSONAL_MAIL_DOMAINS)
        region = rng.choice(phrases.REGIONS)
    else:
        tier, domain, region = company.tier, company.domain, company.region
    if tier == "free":
        annual_value = Decimal("0.00")
        plan = "free"
    else:
        median, sigma = _ANNUAL_VALUE[tier]
        annual_value = Decimal(f"{median * math.exp(rng.gauss(0, sigma)):.2f}")
        plan = rng.choice(("monthly", "annual", "annual") if tier != "enterprise" else ("annual",))
    research_share = 0.45 if tier in ("premium", "enterprise") else 0.2
    return CustomerSeed(
        name=f"{first} {last}",
        email=_unique_email(f"{first}.{last}".lower(), domain, used),
        kind=EXTERNAL,
        tier=tier,
        department="",
        account=company.name if company else "",
        annual_value=annual_value,
        attributes={"region": region, "plan": plan, "language": _LANGUAGES.pick(rng)},
        consent_contact=rng.random() < 0.55,
        consent_research=rng.random() < research_share,
        activity=_TIER_ACTIVITY[tier] * min(30.0, rng.paretovariate(1.5)),
    )
