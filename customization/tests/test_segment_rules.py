"""Rule segments: the members are exactly the customers a direct query finds."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Q

from customization import segment_rules, segment_services
from customization.models import Segment
from feedback.models import Customer

pytestmark = pytest.mark.django_db

CASES = [
    ([{"field": "tier", "op": "eq", "value": "enterprise"}], Q(tier="enterprise")),
    (
        [
            {"field": "tier", "op": "in", "value": ["premium", "enterprise"]},
            {"field": "kind", "op": "eq", "value": "external"},
        ],
        Q(tier__in=["premium", "enterprise"], kind="external"),
    ),
    (
        [
            {"field": "annual_value", "op": "gte", "value": "40000"},
            {"field": "annual_value", "op": "lte", "value": 150000},
        ],
        Q(annual_value__gte=40000, annual_value__lte=150000),
    ),
    ([{"field": "product", "op": "eq", "value": "app"}], Q(name__in=["Acme", "Bolt", "Fern"])),
    (
        [
            {"field": "product", "op": "in", "value": ["app", "portal"]},
            {"field": "kind", "op": "eq", "value": "external"},
        ],
        Q(name__in=["Acme", "Bolt", "Cora"]),
    ),
    (
        [{"field": "department", "op": "in", "value": ["Finance", "Sales"]}],
        Q(department__in=["Finance", "Sales"]),
    ),
    ([{"field": "account", "op": "contains", "value": "gmbh"}], Q(account__icontains="gmbh")),
    ([{"field": "attributes.region", "op": "eq", "value": "EMEA"}], Q(attributes__region="EMEA")),
    (
        [{"field": "attributes.region", "op": "in", "value": ["APAC", "LATAM"]}],
        Q(attributes__region__in=["APAC", "LATAM"]),
    ),
    # Numbers compare as numbers; "many" (text) is never at least 100.
    (
        [{"field": "attributes.seats", "op": "gte", "value": 100}],
        Q(name__in=["Acme", "Echo", "Jade"]),
    ),
    (
        [{"field": "attributes.seats", "op": "lte", "value": 80}],
        Q(name__in=["Bolt", "Cora", "Hive"]),
    ),
    ([{"field": "attributes.beta", "op": "eq", "value": True}], Q(attributes__beta=True)),
    ([{"field": "attributes.tags", "op": "contains", "value": "FOOD"}], Q(name="Bolt")),
    (
        [
            {"field": "attributes.region", "op": "eq", "value": "EMEA"},
            {"field": "annual_value", "op": "gte", "value": 50000},
            {"field": "product", "op": "eq", "value": "app"},
        ],
        Q(name="Acme"),
    ),
]


@pytest.mark.parametrize(("rules", "expected"), CASES)
def test_rule_segment_members_equal_a_direct_query(population, rules, expected):
    segment = segment_services.create_rule_segment(name="Under test", rules=rules)
    members = set(segment.customers.values_list("pk", flat=True))
    direct = set(Customer.objects.filter(expected).values_list("pk", flat=True))
    assert direct, "each case must match someone, or it proves nothing"
    assert members == direct
    assert segment.member_count == len(direct)
    assert segment.membership_refreshed_at is not None


def test_the_rules_compile_to_one_query(population, django_assert_num_queries):
    rules = segment_rules.validate_rules(CASES[-1][0])
    with django_assert_num_queries(1):
        list(Customer.objects.filter(segment_rules.compile_rules(rules)))


def test_refresh_follows_changed_customers(population):
    segment = segment_services.create_rule_segment(
        name="EMEA", rules=[{"field": "attributes.region", "op": "eq", "value": "EMEA"}]
    )
    assert segment.member_count == 3
    Customer.objects.filter(name="Cora").update(attributes={"region": "EMEA"})
    Customer.objects.filter(name="Acme").update(attributes={})
    assert segment_services.refresh_segment_membership(segment=segment) == 3
    assert set(segment.customers.values_list("name", flat=True)) == {"Bolt", "Hive", "Cora"}


def test_refresh_all_skips_suggested_and_discarded(population):
    rule = segment_services.create_rule_segment(
        name="Enterprise", rules=[{"field": "tier", "op": "eq", "value": "enterprise"}]
    )
    suggested = Segment.objects.create(name="S", kind="suggested", status="suggested")
    suggested.customers.set([population["Iris"]])
    Customer.objects.filter(name="Jade").update(tier="enterprise")
    assert segment_services.refresh_all_segments() == 1
    rule.refresh_from_db()
    assert rule.member_count == 3
    assert list(suggested.customers.values_list("name", flat=True)) == ["Iris"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([], "at least one rule"),
        ([{"field": "shoe_size", "op": "eq", "value": 3}], "unknown field"),
        ([{"field": "tier", "op": "gte", "value": "premium"}], "cannot be compared"),
        ([{"field": "tier", "op": "eq", "value": "gold"}], "is not a tier"),
        ([{"field": "tier", "op": "in", "value": "premium"}], "non-empty list"),
        ([{"field": "annual_value", "op": "gte", "value": "lots"}], "must be a number"),
        ([{"field": "annual_value", "op": "gte", "value": True}], "must be a number"),
        ([{"field": "product", "op": "eq", "value": "nope"}], "no product"),
        (
            [{"field": "attributes.region__startswith", "op": "eq", "value": "E"}],
            "not a valid attribute",
        ),
        ([{"field": "attributes.", "op": "eq", "value": "E"}], "not a valid attribute"),
        ([{"field": "attributes.seats", "op": "gte", "value": "ten"}], "must be a number"),
        (
            [{"field": "attributes.region", "op": "eq", "value": {"a": 1}}],
            "number, text or true/false",
        ),
        (["tier=premium"], "must be an object"),
        ([{"field": "tier", "op": "eq", "value": "premium", "extra": 1}], "unknown key"),
        ("tier", "at least one rule"),
        ([{"field": "department", "op": "eq", "value": "Fin\x00ance"}], "NUL"),
        ([{"field": "attributes.region", "op": "in", "value": ["EMEA", "\x00"]}], "NUL"),
        ([{"field": "product", "op": "eq", "value": "app\x00"}], "NUL"),
    ],
)
def test_bad_rules_are_refused_with_a_message(population, rules, message):
    with pytest.raises(ValidationError) as caught:
        segment_services.create_rule_segment(name="Bad", rules=rules)
    assert message in " ".join(caught.value.message_dict["rules"])
    assert not Segment.objects.filter(name="Bad").exists()


def test_rules_read_in_plain_language():
    assert (
        segment_rules.describe_rule(
            {"field": "tier", "op": "in", "value": ["premium", "enterprise"]}
        )
        == "Tier is one of premium, enterprise"
    )
    assert segment_rules.describe_rule({"field": "attributes.seats", "op": "gte", "value": 10}) == (
        "Attribute “seats” is at least 10"
    )
