"""Customization pages: who may see and do what, bad input, escaping, query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customization import segment_services, services
from customization.models import CustomerPreference, CustomizationRequest, Segment
from feedback.models import Customer
from feedback.tests.factories import (
    CustomerFactory,
    FeedbackFactory,
    ProductFactory,
    UserFactory,
)
from insights.models import FeedbackTheme, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(population):
    return segment_services.create_rule_segment(
        name="EMEA <b>", rules=[{"field": "attributes.region", "op": "eq", "value": "EMEA"}]
    )


@pytest.fixture
def request_obj(population):
    feedback = FeedbackFactory(customer=population["Acme"], text="Export to <script>SAP</script>")
    return services.create_customization_request(
        title="SAP <i>export</i>", customer=population["Acme"], feedback_ids=[feedback.pk]
    )


def _pages(segment, request_obj):
    return [
        reverse("customization:segments"),
        reverse("customization:segment_detail", args=[segment.pk]),
        reverse("customization:requests"),
        reverse("customization:request_detail", args=[request_obj.pk]),
    ]


def test_anonymous_visitors_are_sent_to_login(client, segment, request_obj):
    for url in _pages(segment, request_obj) + [reverse("customization:segment_create")]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_outsiders_get_403_everywhere(client, outsider, segment, request_obj):
    client.force_login(outsider)
    for url in _pages(segment, request_obj) + [reverse("customization:segment_create")]:
        assert client.get(url).status_code == 403, url
    response = client.post(
        reverse("customization:request_status", args=[request_obj.pk]), {"status": "assessed"}
    )
    assert response.status_code == 403


def test_staff_read_and_open_requests_but_do_not_decide(
    client, staff_member, segment, request_obj, population
):
    client.force_login(staff_member)
    for url in _pages(segment, request_obj):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("customization:segment_create")).status_code == 403
    assert (
        client.post(reverse("customization:segment_refresh", args=[segment.pk])).status_code == 403
    )
    assert (
        client.post(
            reverse("customization:request_status", args=[request_obj.pk]), {"status": "assessed"}
        ).status_code
        == 403
    )
    assert (
        client.get(reverse("customization:request_edit", args=[request_obj.pk])).status_code == 403
    )
    response = client.post(
        reverse("customization:request_create"),
        {"title": "Dark mode", "customer": population["Cora"].pk},
    )
    assert response.status_code == 302
    assert CustomizationRequest.objects.get(title="Dark mode").requested_by == staff_member


def test_pages_escape_what_people_typed(client, manager, segment, request_obj):
    client.force_login(manager)
    body = client.get(
        reverse("customization:request_detail", args=[request_obj.pk])
    ).content.decode()
    assert "SAP &lt;i&gt;export&lt;/i&gt;" in body and "<script>SAP" not in body
    body = client.get(reverse("customization:segment_detail", args=[segment.pk])).content.decode()
    assert "EMEA &lt;b&gt;" in body
    assert "Attribute “region” is EMEA" in body


def test_manager_defines_a_rule_segment_with_the_builder(client, manager, population):
    client.force_login(manager)
    data = {
        "name": "Big EMEA",
        "description": "",
        "rules-TOTAL_FORMS": "6",
        "rules-INITIAL_FORMS": "0",
        "rules-0-field": "attribute",
        "rules-0-key": "region",
        "rules-0-op": "eq",
        "rules-0-value": "EMEA",
        "rules-1-field": "annual_value",
        "rules-1-op": "gte",
        "rules-1-value": "50000",
        "rules-2-field": "tier",
        "rules-2-op": "in",
        "rules-2-value": "premium, enterprise",
    }
    response = client.post(reverse("customization:segment_create"), data)
    segment = Segment.objects.get(name="Big EMEA")
    assert response.status_code == 302 and response["Location"].endswith(f"/segments/{segment.pk}/")
    assert set(segment.customers.values_list("name", flat=True)) == {"Acme", "Hive"}
    assert segment.rules[0] == {"field": "attributes.region", "op": "eq", "value": "EMEA"}


def test_text_rules_that_look_like_numbers_stay_text_through_the_builder(
    client, manager, population
):
    Customer.objects.filter(pk=population["Acme"].pk).update(
        attributes={"crm_id": "777", "postcode": "01234", "vip": "true"}
    )
    rules = [
        {"field": "attributes.crm_id", "op": "eq", "value": "777"},
        {"field": "attributes.postcode", "op": "in", "value": ["01234", "09999"]},
        {"field": "attributes.vip", "op": "eq", "value": "true"},
    ]
    segment = segment_services.create_rule_segment(name="CRM 777", rules=rules)
    assert segment.member_count == 1
    client.force_login(manager)
    url = reverse("customization:segment_edit", args=[segment.pk])
    formset = client.get(url).context["formset"]
    data = {"name": "CRM seven", "rules-TOTAL_FORMS": "6", "rules-INITIAL_FORMS": "3"}
    for index, form in enumerate(formset.forms):
        for name, value in form.initial.items():
            data[f"rules-{index}-{name}"] = value
    assert data["rules-1-value"] == '"01234", "09999"'
    assert client.post(url, data).status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.rules, segment.member_count) == ("CRM seven", rules, 1)
    # Typed in the builder: quotes make the text, no quotes the number.
    data.update({"name": "Numbers", "rules-0-value": "777"})
    data.update({"rules-1-field": "", "rules-2-field": ""})
    client.post(reverse("customization:segment_create"), data)
    assert Segment.objects.get(name="Numbers").rules == [
        {"field": "attributes.crm_id", "op": "eq", "value": 777}
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"rules-0-field": "tier", "rules-0-op": "gte", "rules-0-value": "premium"},
            "cannot be compared",
        ),
        (
            {"rules-0-field": "annual_value", "rules-0-op": "gte", "rules-0-value": "lots"},
            "must be a number",
        ),
        (
            {
                "rules-0-field": "attribute",
                "rules-0-key": "a__b",
                "rules-0-op": "eq",
                "rules-0-value": "x",
            },
            "not a valid attribute",
        ),
        (
            {"rules-0-field": "colour", "rules-0-op": "eq", "rules-0-value": "x"},
            "Select a valid choice",
        ),
        ({}, "at least one rule"),
    ],
)
def test_bad_rules_are_form_errors(client, manager, population, rule, message):
    client.force_login(manager)
    data = {"name": "Broken", "rules-TOTAL_FORMS": "6", "rules-INITIAL_FORMS": "0", **rule}
    response = client.post(reverse("customization:segment_create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Segment.objects.filter(name="Broken").exists()


def test_manager_accepts_renames_and_discards_suggestions(client, manager, population):
    client.force_login(manager)
    one = Segment.objects.create(name="Suggested: A", kind="suggested", status="suggested")
    two = Segment.objects.create(name="Suggested: B", kind="suggested", status="suggested")
    client.post(reverse("customization:segment_accept", args=[one.pk]), {"name": "Loyal fans"})
    client.post(reverse("customization:segment_discard", args=[two.pk]))
    one.refresh_from_db(), two.refresh_from_db()
    assert (one.status, one.name) == ("active", "Loyal fans")
    assert two.status == "discarded"
    client.post(reverse("customization:segment_rename", args=[one.pk]), {"name": "Fans"})
    one.refresh_from_db()
    assert one.name == "Fans"


def test_a_suggestion_replaced_meanwhile_gets_a_message_not_a_404(client, manager, population):
    client.force_login(manager)
    gone = Segment.objects.create(name="Suggested: A", kind="suggested", status="suggested")
    urls = [
        reverse("customization:segment_accept", args=[gone.pk]),
        reverse("customization:segment_discard", args=[gone.pk]),
    ]
    gone.delete()  # a clustering run replaced the pending suggestions
    for url in urls:
        response = client.post(url, {"name": "Fans"}, follow=True)
        assert response.status_code == 200, url
        assert response.redirect_chain[-1][0].endswith("?show=suggested")
        assert "a newer clustering run replaced it" in response.content.decode()
    assert not Segment.objects.exists()


def test_staff_cannot_accept_suggestions(client, staff_member):
    client.force_login(staff_member)
    one = Segment.objects.create(name="Suggested: A", kind="suggested", status="suggested")
    assert client.post(reverse("customization:segment_accept", args=[one.pk])).status_code == 403
    assert client.post(reverse("customization:segments_suggest")).status_code == 403
    one.refresh_from_db()
    assert one.status == "suggested"


def test_both_customer_and_segment_is_a_form_error(client, manager, segment, population):
    client.force_login(manager)
    response = client.post(
        reverse("customization:request_create"),
        {"title": "X", "customer": population["Acme"].pk, "segment": segment.pk},
    )
    assert response.status_code == 400
    assert "one customer or one segment" in response.content.decode()
    response = client.post(reverse("customization:request_create"), {"title": "X"})
    assert response.status_code == 400
    assert not CustomizationRequest.objects.exists()


def test_manager_moves_a_request_and_a_wrong_move_is_a_form_error(client, manager, request_obj):
    client.force_login(manager)
    url = reverse("customization:request_status", args=[request_obj.pk])
    assert client.post(url, {"status": "assessed", "note": "looked at it"}).status_code == 302
    response = client.post(url, {"status": "delivered"})
    assert response.status_code == 400
    assert "cannot become delivered" in response.content.decode()
    request_obj.refresh_from_db()
    assert request_obj.status == "assessed"


def test_editing_keeps_a_product_theme_and_owner_no_longer_offered(
    client, manager, request_obj, population
):
    product = ProductFactory(name="Legacy portal", slug="legacy-portal")
    theme = Theme.objects.create(name="Invoices", slug="invoices")
    owner = UserFactory(username="leaver", role="staff")
    services.update_customization_request(
        request=request_obj, product=product, theme=theme, owner=owner
    )
    product.active = False
    product.save()
    theme.status = Theme.Status.ARCHIVED
    theme.save()
    owner.is_active = False
    owner.save()
    client.force_login(manager)
    url = reverse("customization:request_edit", args=[request_obj.pk])
    form = client.get(url).context["form"]
    for name, obj in (("product", product), ("theme", theme), ("owner", owner)):
        assert f'<option value="{obj.pk}" selected>' in str(form[name]), name
    data = {
        "title": request_obj.title,
        "customer": population["Acme"].pk,
        "product": product.pk,
        "theme": theme.pk,
        "owner": owner.pk,
        "due_date": "2027-03-01",
    }
    assert client.post(url, data).status_code == 302
    request_obj.refresh_from_db()
    assert (request_obj.product, request_obj.theme, request_obj.owner) == (product, theme, owner)
    assert str(request_obj.due_date) == "2027-03-01"
    # A new request is not offered what is no longer in use.
    form = client.get(reverse("customization:request_create")).context["form"]
    assert product not in form.fields["product"].queryset
    assert theme not in form.fields["theme"].queryset
    assert owner not in form.fields["owner"].queryset


def test_evidence_linked_or_unlinked_twice_says_so(client, manager, request_obj):
    client.force_login(manager)
    feedback = request_obj.evidence.get()
    add = reverse("customization:request_evidence_add", args=[request_obj.pk])
    response = client.post(add, {"feedback": feedback.pk}, follow=True)
    assert f"Feedback #{feedback.pk} is already linked" in response.content.decode()
    remove = reverse("customization:request_evidence_remove", args=[request_obj.pk, feedback.pk])
    assert "Evidence unlinked." in client.post(remove, follow=True).content.decode()
    response = client.post(remove, follow=True)
    assert f"Feedback #{feedback.pk} was no longer linked" in response.content.decode()
    assert not request_obj.evidence.exists()


def test_a_status_change_sent_twice_is_not_an_error(client, manager, request_obj):
    client.force_login(manager)
    url = reverse("customization:request_status", args=[request_obj.pk])
    assert client.post(url, {"status": "assessed"}).status_code == 302
    response = client.post(url, {"status": "assessed"}, follow=True)
    assert response.status_code == 200
    assert "already assessed" in response.content.decode()
    assert list(request_obj.history.values_list("to_status", flat=True)) == [
        "requested",
        "assessed",
    ]
    # Someone declined it meanwhile: a move from the stale page is still refused.
    services.change_request_status(request=request_obj, to_status="declined")
    response = client.post(url, {"status": "accepted"})
    assert response.status_code == 400
    assert "A declined request cannot become accepted" in response.content.decode()


def test_one_click_request_from_a_feedback(client, staff_member, population):
    client.force_login(staff_member)
    feedback = FeedbackFactory(customer=population["Bolt"], text="We need SSO")
    page = client.get(reverse("feedback:detail", args=[feedback.pk])).content.decode()
    assert "Create a customization request for Bolt" in page
    response = client.post(reverse("customization:request_from_feedback", args=[feedback.pk]))
    request = CustomizationRequest.objects.get()
    assert response["Location"] == reverse("customization:request_detail", args=[request.pk])
    assert list(request.evidence.all()) == [feedback]
    page = client.get(reverse("feedback:detail", args=[feedback.pk])).content.decode()
    assert (
        "We need SSO" in page and reverse("customization:request_detail", args=[request.pk]) in page
    )
    # A double submit, or the button pressed again later, leads to the same request.
    response = client.post(
        reverse("customization:request_from_feedback", args=[feedback.pk]), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse(
        "customization:request_detail", args=[request.pk]
    )
    assert "already open" in response.content.decode()
    assert CustomizationRequest.objects.count() == 1


def test_a_feedback_without_customer_gets_a_message_not_an_error(client, staff_member):
    client.force_login(staff_member)
    feedback = FeedbackFactory(customer=None)
    response = client.post(
        reverse("customization:request_from_feedback", args=[feedback.pk]), follow=True
    )
    assert response.status_code == 200
    assert "no customer record" in response.content.decode()
    assert not CustomizationRequest.objects.exists()


def test_request_from_a_theme(client, manager, segment, population):
    client.force_login(manager)
    theme = Theme.objects.create(name="Invoices", slug="invoices")
    feedback = FeedbackFactory(customer=population["Bolt"])
    FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=1, source="model")
    page = client.get(reverse("insights:theme_detail", args=[theme.pk])).content.decode()
    assert reverse("customization:request_from_theme", args=[theme.pk]) in page
    response = client.post(
        reverse("customization:request_from_theme", args=[theme.pk]), {"segment": segment.pk}
    )
    request = CustomizationRequest.objects.get()
    assert response.status_code == 302 and request.theme == theme and request.segment == segment
    page = client.get(reverse("insights:theme_detail", args=[theme.pk])).content.decode()
    assert reverse("customization:request_detail", args=[request.pk]) in page
    assert (
        client.post(reverse("customization:request_from_theme", args=[theme.pk]), {}).status_code
        == 400
    )


def test_customer_page_shows_preferences_segments_and_requests(
    client, staff_member, segment, request_obj, population
):
    acme = population["Acme"]
    theme = Theme.objects.create(name="Billing <x>", slug="billing")
    for _ in range(2):
        FeedbackTheme.objects.create(
            feedback=FeedbackFactory(
                customer=acme, sentiment_label="negative", sentiment_score=-0.5
            ),
            theme=theme,
            score=1,
            source="model",
        )
    client.force_login(staff_member)
    url = reverse("customization:preference_add", args=[acme.pk])
    client.post(
        url, {"key": "channel", "value": "<email>", "source": "staff", "stated_on": "2026-01-02"}
    )
    body = client.get(reverse("feedback:customer_detail", args=[acme.pk])).content.decode()
    assert "&lt;email&gt;" in body and "2026-01-02" in body
    assert "Billing &lt;x&gt;" in body
    assert "EMEA &lt;b&gt;" in body
    assert "SAP &lt;i&gt;export&lt;/i&gt;" in body
    # Staff edit but do not delete.
    pref = CustomerPreference.objects.get()
    response = client.post(
        reverse("customization:preference_edit", args=[pref.pk]),
        {"key": "channel", "value": "phone", "source": "interview"},
    )
    assert response.status_code == 302
    pref.refresh_from_db()
    assert pref.value == "phone"
    assert (
        client.post(reverse("customization:preference_delete", args=[pref.pk])).status_code == 403
    )
    assert CustomerPreference.objects.exists()


def test_manager_deletes_a_preference(client, manager, population):
    pref = services.set_customer_preference(customer=population["Acme"], key="k", value="v")
    client.force_login(manager)
    assert (
        client.post(reverse("customization:preference_delete", args=[pref.pk])).status_code == 302
    )
    assert not CustomerPreference.objects.exists()


def test_bad_preference_input_is_not_a_500(client, staff_member, population):
    client.force_login(staff_member)
    response = client.post(
        reverse("customization:preference_add", args=[population["Acme"].pk]),
        {"key": "", "value": "", "source": "rumour"},
        follow=True,
    )
    assert response.status_code == 200 and "Preference not saved" in response.content.decode()
    assert not CustomerPreference.objects.exists()


def test_list_filters_and_sorts(client, manager, segment, population):
    client.force_login(manager)
    low = services.create_customization_request(title="Low", customer=population["Cora"])
    high = services.create_customization_request(title="High", customer=population["Echo"])
    services.change_request_status(request=high, to_status="assessed")
    response = client.get(reverse("customization:requests"), {"sort": "-value_at_stake"})
    assert [r.pk for r in response.context["page"].object_list] == [high.pk, low.pk]
    response = client.get(reverse("customization:requests"), {"status": "assessed"})
    assert [r.pk for r in response.context["page"].object_list] == [high.pk]
    response = client.get(reverse("customization:requests"), {"customer": population["Cora"].pk})
    assert [r.pk for r in response.context["page"].object_list] == [low.pk]
    assert client.get(reverse("customization:requests"), {"status": "nope"}).status_code == 400


def test_list_pages_have_a_bounded_query_count(
    client, manager, segment, django_assert_max_num_queries
):
    for index in range(30):
        customer = CustomerFactory(annual_value=Decimal(index))
        services.create_customization_request(
            title=f"Request {index} about topic {index}",
            customer=customer,
            feedback_ids=[FeedbackFactory(customer=customer).pk],
        )
        services.create_customization_request(title=f"Segment request {index}", segment=segment)
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("customization:requests")).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("customization:segments")).status_code == 200
    with django_assert_max_num_queries(12):
        assert (
            client.get(reverse("customization:segment_detail", args=[segment.pk])).status_code
            == 200
        )
    request = CustomizationRequest.objects.filter(customer__isnull=False).first()
    with django_assert_max_num_queries(12):
        assert (
            client.get(reverse("customization:request_detail", args=[request.pk])).status_code
            == 200
        )


def test_members_curated_in_the_admin_update_the_count_and_the_value(client, population):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    segment = Segment.objects.create(name="Key accounts", kind="manual")
    request = services.create_customization_request(title="QBR", segment=segment)
    members = [population["Acme"], population["Echo"]]
    response = client.post(
        reverse("admin:customization_segment_change", args=[segment.pk]),
        {
            "name": "Key accounts",
            "description": "",
            "kind": "manual",
            "status": "active",
            "rules": "[]",
            "customers": ",".join(str(c.pk) for c in members),
            "traits": "[]",
            "top_themes": "[]",
            "created_by": "",
        },
    )
    assert response.status_code == 302
    segment.refresh_from_db(), request.refresh_from_db()
    assert segment.member_count == 2 and segment.membership_refreshed_at is not None
    assert request.value_at_stake == Decimal(420000)
    page = client.get(reverse("customization:segments")).content.decode()
    assert '<td class="num">2</td>' in page


@pytest.mark.parametrize("value", ["²", "9" * 5000, "-1", "abc"])
def test_a_new_request_link_with_an_odd_customer_or_segment_preselects_nothing(
    client, manager, value
):
    client.force_login(manager)
    url = reverse("customization:request_create")
    response = client.get(url, {"customer": value, "segment": value})
    assert response.status_code == 200
    assert response.context["form"].initial == {}
