"""Customers with varied attributes, shared by the customization tests."""

from decimal import Decimal

import pytest

from feedback.models import Customer
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory


@pytest.fixture
def population(db):
    """Ten customers across kinds, tiers, values and JSON attributes; feedback on products."""
    app = ProductFactory(name="App", slug="app")
    portal = ProductFactory(name="Portal", slug="portal")
    rows = [
        # name, kind, tier, value, department, account, attributes
        (
            "Acme",
            "external",
            "enterprise",
            "120000",
            "",
            "Acme Ltd",
            {"region": "EMEA", "seats": 500, "beta": True},
        ),
        (
            "Bolt",
            "external",
            "premium",
            "40000",
            "",
            "Bolt GmbH",
            {"region": "EMEA", "seats": 80, "tags": "retail, food"},
        ),
        ("Cora", "external", "standard", "9000", "", "Cora Inc", {"region": "APAC", "seats": 12}),
        ("Dune", "external", "free", "0", "", "", {"region": "LATAM", "seats": "many"}),
        (
            "Echo",
            "external",
            "enterprise",
            "300000",
            "",
            "Echo SA",
            {"region": "North America", "seats": 2000, "beta": False},
        ),
        (
            "Fern",
            "internal",
            "standard",
            "0",
            "Finance",
            "Org (internal)",
            {"site": "Berlin", "cost_centre": "CC-1010"},
        ),
        ("Gale", "internal", "standard", "0", "Logistics", "Org (internal)", {"site": "Lyon"}),
        ("Hive", "external", "premium", "55000", "", "Hive BV", {"region": "EMEA", "seats": 50}),
        ("Iris", "external", "standard", "15000", "", "Iris Co", {}),
        ("Jade", "external", "premium", "20000", "", "Jade Ltd", {"region": "APAC", "seats": 200}),
    ]
    customers = {}
    for name, kind, tier, value, department, account, attributes in rows:
        customers[name] = CustomerFactory(
            name=name,
            kind=kind,
            tier=tier,
            annual_value=Decimal(value),
            department=department,
            account=account,
            attributes=attributes,
        )
    for name in ("Acme", "Bolt", "Fern"):
        FeedbackFactory(customer=customers[name], product=app)
    for name in ("Acme", "Cora"):
        FeedbackFactory(customer=customers[name], product=portal)
    FeedbackFactory(customer=None, product=app)
    return customers


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def all_customers():
    return Customer.objects.all()
