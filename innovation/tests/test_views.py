import pytest
from django.urls import reverse

from customization.models import Segment
from feedback.tests.factories import CustomerFactory, FeedbackFactory, ProductFactory, UserFactory
from innovation import services
from innovation.models import Idea, IdeaEvidence, SegmentWeight
from insights.models import FeedbackTheme, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def idea(manager):
    feedback = FeedbackFactory(
        text="The <b>invoice</b> export crashes", customer=CustomerFactory(name="Acme <Ltd>")
    )
    return services.create_idea(
        title="Fix <script>invoice</script> export",
        problem="Invoices cannot be exported.",
        created_by=manager,
        feedback_ids=[feedback.pk],
    )


def _login(client, user):
    if user is not None:
        client.force_login(user)


@pytest.mark.parametrize(
    "actor, expected",
    [(None, 302), ("outsider", 403), ("staff_member", 200), ("manager", 200)],
)
def test_pages_by_role(client, request, idea, actor, expected):
    _login(client, request.getfixturevalue(actor) if actor else None)
    for url in [
        reverse("innovation:ideas"),
        reverse("innovation:idea_detail", args=[idea.pk]),
        reverse("innovation:idea_create"),
        reverse("innovation:idea_find_evidence", args=[idea.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == expected, url
        if expected == 302:
            assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "actor, expected", [(None, 302), ("outsider", 403), ("staff_member", 403), ("manager", 200)]
)
def test_manager_only_pages(client, request, idea, actor, expected):
    _login(client, request.getfixturevalue(actor) if actor else None)
    assert client.get(reverse("innovation:idea_edit", args=[idea.pk])).status_code == expected
    assert client.get(reverse("innovation:segment_weights")).status_code == expected
    response = client.post(
        reverse("innovation:idea_status", args=[idea.pk]), {"to_status": "under_review"}
    )
    assert response.status_code == (302 if expected in (200, 302) else 403)
    idea.refresh_from_db()
    assert idea.status == ("under_review" if actor == "manager" else "new")


def test_editing_keeps_an_inactive_product_archived_theme_and_departed_owner(client, manager):
    product = ProductFactory(name="Legacy app", active=False)
    theme = Theme.objects.create(name="Old sync", slug="old-sync", status=Theme.Status.ARCHIVED)
    owner = UserFactory(username="left_the_company", role="manager")
    owner.is_active = False
    owner.save()
    idea = services.create_idea(
        title="Sync", problem="Sync fails", created_by=manager,
        product=product, theme=theme, owner=owner,
    )  # fmt: skip
    client.force_login(manager)
    url = reverse("innovation:idea_edit", args=[idea.pk])
    form = client.get(url).context["form"]
    for name, current in (("product", product), ("theme", theme), ("owner", owner)):
        assert form[name].value() == current.pk
        assert f'<option value="{current.pk}" selected>' in str(form[name])
    response = client.post(
        url,
        {"title": "Sync again", "problem": "Sync fails", "product": product.pk,
         "theme": theme.pk, "owner": owner.pk},
    )  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    idea.refresh_from_db()
    assert idea.title == "Sync again"
    assert (idea.product, idea.theme, idea.owner) == (product, theme, owner)
    # Still not offered for other ideas.
    assert (
        client.get(reverse("innovation:idea_create"))
        .context["form"]["product"]
        .field.queryset.filter(pk=product.pk)
        .exists()
        is False
    )


def test_detail_escapes_and_shows_formula_evidence_and_history(client, manager, idea):
    services.set_idea_scores(idea=idea, by=manager, impact=2, confidence=0.5, effort=2, value=4)
    client.force_login(manager)
    response = client.get(reverse("innovation:idea_detail", args=[idea.pk]))
    html = response.content.decode()
    assert "<script>invoice" not in html
    assert "&lt;script&gt;invoice" in html
    assert "Acme &lt;Ltd&gt;" in html
    assert "The &lt;b&gt;invoice&lt;/b&gt; export crashes" in html
    assert "RICE = reach 1 × impact 2 × confidence 0.5 ÷ effort 2 = 0.5" in html
    assert "Value/effort = value 4 ÷ effort 2 = 2" in html
    assert "– → New" in html
    services.change_idea_status(idea=idea, to_status="under_review", by=manager, note="Q3?")
    html = client.get(reverse("innovation:idea_detail", args=[idea.pk])).content.decode()
    assert "New → Under review: Q3?" in html and "new → under_review" not in html


def test_list_filters_sorts_and_shows_scores(
    client, staff_member, manager, django_assert_max_num_queries
):
    low = services.create_idea(title="Low", problem="p", created_by=manager)
    high = services.create_idea(title="High", problem="p", created_by=manager)
    for idea, effort in ((low, 4), (high, 1)):
        services.add_evidence(
            idea=idea, feedback_ids=[FeedbackFactory(customer=CustomerFactory()).pk], by=manager
        )
        services.set_idea_scores(
            idea=idea, by=manager, impact=1, confidence=1, effort=effort, value=2
        )
    services.change_idea_status(idea=low, to_status="declined", by=manager)
    for n in range(10):
        services.create_idea(title=f"Other {n}", problem="p", created_by=manager)
    client.force_login(staff_member)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("innovation:ideas"), {"sort": "rice"})
    ideas = list(response.context["page"].object_list)
    assert ideas[:2] == [high, low]
    assert "1.0" in response.content.decode()
    response = client.get(reverse("innovation:ideas"), {"status": "declined"})
    assert list(response.context["page"].object_list) == [low]
    response = client.get(reverse("innovation:ideas"), {"q": "hig"})
    assert list(response.context["page"].object_list) == [high]
    assert client.get(reverse("innovation:ideas"), {"status": "bogus"}).status_code == 400


def test_create_shows_possible_duplicates_then_saves_anyway(client, staff_member, manager):
    existing = services.create_idea(
        title="Export reports to Excel",
        problem="Finance copies reports into Excel.",
        created_by=manager,
    )
    client.force_login(staff_member)
    data = {"title": "Excel export of reports", "problem": "Reports must go to Excel."}
    response = client.post(reverse("innovation:idea_create"), data)
    assert response.status_code == 200
    assert "Possible duplicates" in response.content.decode()
    assert [d.idea for d in response.context["duplicates"]] == [existing]
    assert Idea.objects.count() == 1
    response = client.post(reverse("innovation:idea_create"), {**data, "confirmed": "on"})
    assert response.status_code == 302
    assert Idea.objects.count() == 2


def test_create_with_bad_input_answers_400_with_messages(client, staff_member):
    client.force_login(staff_member)
    response = client.post(
        reverse("innovation:idea_create"), {"title": "", "problem": "x", "feedback_ids": "a,b"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.keys() >= {"title", "feedback_ids"}


@pytest.mark.parametrize("odd", ["²", "١٢", "9" * 5000, "-3", "1e3"])
def test_odd_numbers_in_ids_are_no_match_not_an_error(client, staff_member, idea, odd):
    # "²" and a 5,000-digit string pass str.isdigit() but int() refuses them.
    client.force_login(staff_member)
    for name in ("feedback", "theme"):
        response = client.get(reverse("innovation:idea_create"), {name: odd})
        assert response.status_code == 200
        assert not response.context["form"].initial
    response = client.post(reverse("innovation:idea_vote_add", args=[idea.pk]), {"customer": odd})
    assert response.status_code == 400
    assert response.context["vote_form"].errors["customer"] == ["No customer matches."]


def test_new_idea_from_feedback_and_theme_prefills_evidence(client, staff_member, manager):
    feedback = FeedbackFactory(text="Checkout freezes on step two")
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    strong, weak = FeedbackFactory(), FeedbackFactory()
    FeedbackTheme.objects.create(feedback=strong, theme=theme, score=0.9, source="model")
    FeedbackTheme.objects.create(feedback=weak, theme=theme, score=0.2, source="model")
    client.force_login(staff_member)
    form = client.get(reverse("innovation:idea_create"), {"feedback": feedback.pk}).context["form"]
    assert form.initial["feedback_ids"] == str(feedback.pk)
    assert form.initial["problem"] == feedback.text
    form = client.get(reverse("innovation:idea_create"), {"theme": theme.pk}).context["form"]
    assert form.initial["feedback_ids"] == f"{strong.pk}, {weak.pk}"
    response = client.post(
        reverse("innovation:idea_create"),
        {
            "title": "Checkout",
            "problem": "Checkout hurts",
            "theme": theme.pk,
            "feedback_ids": form.initial["feedback_ids"],
            "confirmed": "on",
        },
    )
    idea = Idea.objects.get()
    assert response.status_code == 302
    assert set(idea.evidence.values_list("feedback_id", flat=True)) == {strong.pk, weak.pk}
    client.force_login(manager)
    theme_page = client.get(reverse("insights:theme_detail", args=[theme.pk]))
    assert theme_page.status_code == 200
    html = theme_page.content.decode()
    assert "New idea from this theme" in html
    assert f'href="{reverse("innovation:idea_detail", args=[idea.pk])}"' in html


def test_feedback_page_links_feedback_to_an_idea(client, staff_member, idea):
    feedback = FeedbackFactory()
    client.force_login(staff_member)
    page = client.get(reverse("feedback:detail", args=[feedback.pk]))
    assert "New idea from this feedback" in page.content.decode()
    response = client.post(
        reverse("innovation:feedback_add_to_idea", args=[feedback.pk]), {"idea": idea.pk}
    )
    assert response.status_code == 302
    assert IdeaEvidence.objects.filter(idea=idea, feedback=feedback).exists()
    page = client.get(reverse("feedback:detail", args=[feedback.pk]))
    assert idea.title not in page.content.decode()  # escaped
    assert "Fix &lt;script&gt;invoice&lt;/script&gt; export" in page.content.decode()


def test_evidence_by_id_search_and_find_similar_confirm(client, staff_member, idea):
    client.force_login(staff_member)
    other = FeedbackFactory(text="Invoice export crashes again")
    response = client.post(
        reverse("innovation:idea_evidence_add", args=[idea.pk]), {"feedback_ids": "x"}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("innovation:idea_evidence_add", args=[idea.pk]), {"feedback_ids": "999999"}
    )
    assert response.status_code == 400
    page = client.get(reverse("innovation:idea_find_evidence", args=[idea.pk]))
    assert other in [row.feedback for row in page.context["results"]]
    third = FeedbackFactory(text="Exporting an invoice fails")
    response = client.post(
        reverse("innovation:idea_find_evidence", args=[idea.pk]),
        {"mode": "similar", "feedback": [other.pk, third.pk], f"similarity_{other.pk}": "0.61"},
    )
    assert response.status_code == 302
    link = IdeaEvidence.objects.get(idea=idea, feedback=other)
    assert (link.source, link.similarity) == ("similar", 0.61)
    idea.refresh_from_db()
    assert idea.evidence_count == 3
    response = client.post(reverse("innovation:idea_evidence_remove", args=[idea.pk, other.pk]))
    idea.refresh_from_db()
    assert idea.evidence_count == 2


def test_find_evidence_search_with_a_nul_character_is_refused_not_a_500(client, staff_member, idea):
    client.force_login(staff_member)
    url = reverse("innovation:idea_find_evidence", args=[idea.pk])
    response = client.get(url, {"q": "invoice\x00export"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert response.context["mode"] == "similar"
    assert client.get(url, {"q": "  invoice  "}).context["query"] == "invoice"


def test_votes_merge_and_unmerge_pages(client, staff_member, manager, idea):
    customer = CustomerFactory(email="vote@example.com")
    client.force_login(staff_member)
    assert (
        client.post(
            reverse("innovation:idea_vote_add", args=[idea.pk]), {"customer": "nobody"}
        ).status_code
        == 400
    )
    client.post(
        reverse("innovation:idea_vote_add", args=[idea.pk]), {"customer": "vote@example.com"}
    )
    idea.refresh_from_db()
    assert idea.vote_count == 1
    other = services.create_idea(title="Other", problem="p", created_by=manager)
    assert (
        client.post(
            reverse("innovation:idea_merge", args=[other.pk]), {"target": idea.pk}
        ).status_code
        == 403
    )
    client.force_login(manager)
    client.post(
        reverse("innovation:idea_vote_add", args=[other.pk]), {"customer": str(customer.pk)}
    )
    response = client.post(reverse("innovation:idea_merge", args=[other.pk]), {"target": idea.pk})
    assert response["Location"] == reverse("innovation:idea_detail", args=[idea.pk])
    other.refresh_from_db()
    assert other.merged_into == idea
    client.post(reverse("innovation:idea_unmerge", args=[other.pk]))
    other.refresh_from_db()
    assert other.merged_into is None and other.vote_count == 1


def test_segment_weights_page_saves_weights(client, manager, django_capture_on_commit_callbacks):
    segment = Segment.objects.create(name="Enterprise")
    client.force_login(manager)
    assert (
        client.post(
            reverse("innovation:segment_weights"), {f"segment_{segment.pk}": "-1"}
        ).status_code
        == 400
    )
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("innovation:segment_weights"), {f"segment_{segment.pk}": "3"}
        )
    assert response.status_code == 302
    assert SegmentWeight.objects.get(segment=segment).weight == 3


def test_scores_form_rejects_bad_numbers(client, manager, idea):
    client.force_login(manager)
    response = client.post(
        reverse("innovation:idea_scores", args=[idea.pk]), {"effort": "0", "confidence": "2"}
    )
    assert response.status_code == 400
    assert response.context["scores_form"].errors.keys() >= {"effort", "confidence"}
    response = client.post(
        reverse("innovation:idea_scores", args=[idea.pk]), {"value": "1e308", "effort": "1e-320"}
    )
    assert response.status_code == 400
    assert response.context["scores_form"].errors.keys() >= {"effort", "value"}
    assert client.get(reverse("innovation:idea_detail", args=[idea.pk])).status_code == 200


def test_detail_page_queries_do_not_grow_with_evidence(client, manager, idea):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(manager)
    url = reverse("innovation:idea_detail", args=[idea.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    segment = Segment.objects.create(name="Key")
    for _ in range(12):
        customer = CustomerFactory()
        segment.customers.add(customer)
        services.add_evidence(
            idea=idea, feedback_ids=[FeedbackFactory(customer=customer).pk], by=manager
        )
        services.record_vote(idea=idea, customer=customer, by=manager)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.decode().count('class="evidence"') == 13
    assert len(many) == len(few)


def test_admin_lists_ideas_and_recomputes_numbers(client, idea):
    from feedback.tests.factories import UserFactory
    from innovation.models import IdeaVote

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for path in [
        "idea",
        "ideaevidence",
        "ideavote",
        "segmentweight",
        "ideasuggestion",
        "loopmessage",
    ]:
        assert client.get(f"/admin/innovation/{path}/").status_code == 200, path
    assert client.get(f"/admin/innovation/idea/{idea.pk}/change/").status_code == 200
    IdeaVote.objects.create(idea=idea, customer=CustomerFactory())
    response = client.post(
        "/admin/innovation/idea/",
        {"action": "refresh_numbers", "_selected_action": [idea.pk]},
    )
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.vote_count == 1
