import re
import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from feedback.models import Feedback
from surveys import services
from surveys.models import Question, Response, Survey
from surveys.tests.factories import make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def respond_url(survey):
    return reverse("surveys:respond", args=[survey.slug])


def form_data(**answers):
    data = {"client_uuid": str(uuid.uuid4()), "started_at": ""}
    data.update({f"q_{k}": v for k, v in answers.items()})
    return data


# --- public answering ---------------------------------------------------------------------


def test_respondent_sees_the_questions_and_the_logic_without_login(client):
    survey = make_survey()
    page = client.get(respond_url(survey))
    assert page.status_code == 200
    body = page.content.decode()
    assert "How likely are you to recommend us?" in body
    assert 'id="survey-logic"' in body and "survey_form.js" in body
    assert "<script>" not in body


def test_respondent_submits_and_is_thanked(client):
    survey = make_survey()
    page = client.post(respond_url(survey), form_data(nps="4", why="Too slow"))
    assert page.status_code == 302
    assert page["Location"] == reverse("surveys:thanks", args=[survey.slug])
    response = Response.objects.get()
    assert response.channel == "link"
    assert Feedback.objects.get().text == "Too slow"
    assert client.get(page["Location"]).status_code == 200


def test_a_form_response_costs_the_same_queries_every_time(client, django_assert_num_queries):
    survey = make_survey()
    assert client.post(respond_url(survey), form_data(nps="9")).status_code == 302
    # In the transaction's savepoint, one statement that locks the survey row and inserts
    # the response and its answers: the survey row and its questions are this process's
    # (kept from the first response), a new client_uuid is not looked up.
    with django_assert_num_queries(3):
        assert client.post(respond_url(survey), form_data(nps="8")).status_code == 302
    assert Response.objects.count() == 2


def test_posting_to_an_unknown_or_draft_survey_is_not_found(client):
    draft = make_survey(status=Survey.Status.DRAFT)
    assert client.post(respond_url(draft), form_data(nps="9")).status_code == 404
    missing = reverse("surveys:respond", args=["no-such-survey"])
    assert client.post(missing, form_data(nps="9")).status_code == 404
    assert not Response.objects.exists()


def test_errors_are_shown_per_question_and_answers_kept(client):
    survey = make_survey()
    page = client.post(respond_url(survey), form_data(nps="3"))
    assert page.status_code == 400
    body = page.content.decode()
    assert "This question requires an answer." in body
    assert 'value="3" checked' in body
    assert not Response.objects.exists()


def test_a_text_answer_to_fix_is_marked_invalid_and_described_by_its_error(client):
    survey = make_survey()
    page = client.post(respond_url(survey), form_data(nps="3"))

    body = page.content.decode()
    textarea = re.search(r"<textarea [^>]*>", body).group(0)
    assert 'aria-invalid="true"' in textarea
    assert 'aria-describedby="sq-why-error"' in textarea
    assert '<p class="error" id="sq-why-error">This question requires an answer.</p>' in body
    scale = re.search(r'<div class="scale [^>]*>', body).group(0)
    assert 'aria-invalid="true"' not in scale  # the score given is fine

    unanswered = client.post(respond_url(survey), form_data()).content.decode()
    assert 'aria-invalid="true"' in re.search(r'<div class="scale [^>]*>', unanswered).group(0)


def test_required_scales_and_text_answers_are_announced_as_required(client):
    survey = make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
            {"key": "csat", "kind": "csat", "text": "Satisfied?"},
            {"key": "why", "kind": "long_text", "text": "Why?", "required": True},
            {"key": "more", "kind": "short_text", "text": "More?"},
        ]
    )
    body = client.get(respond_url(survey)).content.decode()

    def tag(pattern):
        return re.search(pattern, body).group(0)

    assert 'aria-required="true"' in tag(r'<div class="scale scale-nps[^>]*>')
    assert 'aria-required="true"' not in tag(r'<div class="scale scale-csat[^>]*>')
    assert 'aria-required="true"' in tag(r'<textarea name="q_why"[^>]*>')
    assert 'aria-required="true"' not in tag(r'<input type="text" name="q_more"[^>]*>')


def test_repeated_post_of_the_same_form_stores_one_response(client):
    survey = make_survey()
    data = form_data(nps="9")
    assert client.post(respond_url(survey), data).status_code == 302
    assert client.post(respond_url(survey), data).status_code == 302
    assert Response.objects.count() == 1


def test_honeypot_gets_thanks_and_stores_nothing(client):
    survey = make_survey()
    page = client.post(respond_url(survey), {**form_data(nps="9"), "website": "spam.example"})
    assert page.status_code == 302
    assert not Response.objects.exists()


def test_rate_limit_answers_429_with_answers_kept(client, settings):
    settings.FEEDBACK_FORM_RATE = "2/m"
    survey = make_survey()
    for _ in range(2):
        assert client.post(respond_url(survey), form_data(nps="9")).status_code == 302
    page = client.post(respond_url(survey), form_data(nps="8"))
    assert page.status_code == 429
    assert 'value="8" checked' in page.content.decode()
    assert Response.objects.count() == 2


def test_csrf_is_enforced_on_the_public_form():
    from django.test import Client

    survey = make_survey()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(respond_url(survey), form_data(nps="9")).status_code == 403
    assert not Response.objects.exists()


def test_closed_survey_shows_a_clear_page(client):
    survey = make_survey(status=Survey.Status.CLOSED)
    page = client.get(respond_url(survey))
    assert page.status_code == 410
    assert "This survey is closed." in page.content.decode()
    page = client.post(respond_url(survey), form_data(nps="9"))
    assert page.status_code == 410
    assert not Response.objects.exists()


def test_quota_reached_shows_a_clear_page(client):
    survey = make_survey(response_quota=1)
    client.post(respond_url(survey), form_data(nps="9"))
    page = client.get(respond_url(survey))
    assert page.status_code == 410
    assert "all the responses it needs" in page.content.decode()


def test_draft_survey_is_not_found_publicly(client):
    survey = make_survey(status=Survey.Status.DRAFT)
    assert client.get(respond_url(survey)).status_code == 404


def test_embed_is_frameable_and_uses_the_embed_channel(client):
    survey = make_survey()
    url = reverse("surveys:embed", args=[survey.slug])
    page = client.get(url)
    assert page.status_code == 200
    assert "X-Frame-Options" not in page.headers
    assert "site-header" not in page.content.decode()
    page = client.post(url, form_data(nps="10"))
    assert page["Location"].endswith("?embed=1")
    assert Response.objects.get().channel == "embed"
    assert client.get(respond_url(survey)).headers.get("X-Frame-Options") == "DENY"


def test_choice_other_and_multiple_answers_from_the_form(client):
    survey = make_survey(
        questions=[
            {
                "key": "how",
                "kind": "single",
                "text": "How?",
                "choices": ["Web", "App"],
                "allow_other": True,
            },
            {
                "key": "what",
                "kind": "multiple",
                "text": "What?",
                "choices": ["A", "B"],
                "allow_other": True,
            },
        ]
    )
    data = form_data(how="Other", what=["A", "Other"])
    data["q_how__other"] = "Phone"
    data["q_what__other"] = "C"
    assert client.post(respond_url(survey), data).status_code == 302
    answers = {a.question.key: a for a in Response.objects.get().answers.all()}
    assert (answers["how"].choices, answers["how"].text) == (["Other"], "Phone")
    assert (answers["what"].choices, answers["what"].text) == (["A", "Other"], "C")


# --- access per role ----------------------------------------------------------------------

STAFF_PAGES = ["surveys:list"]


def survey_pages(survey):
    q = survey.questions.first()
    return {
        "list": reverse("surveys:list"),
        "detail": reverse("surveys:detail", args=[survey.pk]),
        "preview": reverse("surveys:preview", args=[survey.pk]),
        "results": reverse("surveys:results", args=[survey.pk]),
        "csv": reverse("surveys:export_csv", args=[survey.pk]),
        "xlsx": reverse("surveys:export_xlsx", args=[survey.pk]),
        "new": reverse("surveys:new"),
        "question_new": reverse("surveys:question_new", args=[survey.pk]),
        "question_edit": reverse("surveys:question_edit", args=[survey.pk, q.pk]),
    }


READ_PAGES = ["list", "detail", "preview", "results", "csv", "xlsx"]
EDIT_PAGES = ["new", "question_new", "question_edit"]


def test_anonymous_visitors_are_sent_to_login(client):
    survey = make_survey()
    for name, url in survey_pages(survey).items():
        page = client.get(url)
        assert page.status_code == 302, name
        assert page["Location"].startswith(reverse("login")), name


def test_outsiders_get_403_or_404(client, outsider):
    survey = make_survey()
    client.force_login(outsider)
    for name, url in survey_pages(survey).items():
        assert client.get(url).status_code in (403, 404), name


def test_staff_read_but_cannot_edit(client, staff_member):
    survey = make_survey()
    client.force_login(staff_member)
    pages = survey_pages(survey)
    for name in READ_PAGES:
        assert client.get(pages[name]).status_code == 200, name
    for name in EDIT_PAGES:
        assert client.get(pages[name]).status_code == 403, name
    body = client.get(pages["detail"]).content.decode()
    assert "Save settings" not in body and "Close survey" not in body
    assert client.post(pages["detail"], {"title": "Hacked"}).status_code == 403
    assert client.post(reverse("surveys:close", args=[survey.pk])).status_code == 403
    q = survey.questions.first()
    for action in ("delete", "duplicate", "up", "down"):
        url = reverse(f"surveys:question_{action}", args=[survey.pk, q.pk])
        assert client.post(url).status_code == 403, action
    survey.refresh_from_db()
    assert survey.title != "Hacked" and survey.status == "open"
    assert survey.questions.count() == 2


def test_manager_sees_every_page(client, manager):
    survey = make_survey()
    client.force_login(manager)
    for name, url in survey_pages(survey).items():
        assert client.get(url).status_code == 200, name


def test_survey_list_query_count_does_not_grow(client, manager, django_assert_max_num_queries):
    for n in range(5):
        make_survey(title=f"Survey {n}")
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("surveys:list")).status_code == 200


# --- builder ------------------------------------------------------------------------------


def test_manager_builds_a_survey_with_logic_and_opens_it(client, manager):
    client.force_login(manager)
    page = client.post(reverse("surveys:new"), {"title": "Onboarding", "audience": "external"})
    survey = Survey.objects.get()
    assert page["Location"] == reverse("surveys:detail", args=[survey.pk])
    assert survey.created_by == manager
    add = reverse("surveys:question_new", args=[survey.pk])
    assert (
        client.post(
            add, {"kind": "nps", "text": "Recommend?", "required": "on", "key": "nps"}
        ).status_code
        == 302
    )
    page = client.post(
        add,
        {
            "kind": "long_text",
            "text": "Why?",
            "show_if_question": "nps",
            "show_if_op": "lte",
            "show_if_value": "6",
        },
    )
    assert page.status_code == 302
    assert survey.questions.get(kind="long_text").show_if == {
        "question": "nps",
        "op": "lte",
        "value": 6,
    }
    client.post(reverse("surveys:open", args=[survey.pk]))
    survey.refresh_from_db()
    assert survey.status == "open"


def test_logic_with_a_wrong_value_shows_a_form_error(client, manager):
    survey = make_survey(status=Survey.Status.DRAFT)
    client.force_login(manager)
    page = client.post(
        reverse("surveys:question_new", args=[survey.pk]),
        {
            "kind": "short_text",
            "text": "Why?",
            "show_if_question": "nps",
            "show_if_op": "lte",
            "show_if_value": "12",
        },
    )
    assert page.status_code == 400
    assert "from 0 to 10" in page.content.decode()
    assert survey.questions.count() == 2


def test_an_is_one_of_rule_takes_choices_that_hold_a_comma(client, manager):
    survey = make_survey(
        status=Survey.Status.DRAFT,
        questions=[
            {
                "key": "renew",
                "kind": "single",
                "text": "Will you renew?",
                "choices": ["Yes, for sure", "Maybe", "No, never"],
            }
        ],
    )
    client.force_login(manager)
    page = client.post(
        reverse("surveys:question_new", args=[survey.pk]),
        {
            "kind": "short_text",
            "text": "What would change your mind?",
            "show_if_question": "renew",
            "show_if_op": "in",
            "show_if_value": "Maybe, No, never",
        },
    )
    assert page.status_code == 302
    follow_up = survey.questions.get(kind="short_text")
    assert follow_up.show_if["value"] == ["Maybe", "No, never"]

    # The edit form shows the rule as typed, and saving it unchanged keeps it.
    edit = reverse("surveys:question_edit", args=[survey.pk, follow_up.pk])
    form = client.get(edit).context["form"]
    assert form.initial["show_if_value"] == "Maybe, No, never"
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    assert client.post(edit, data).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.show_if["value"] == ["Maybe", "No, never"]


def test_choice_question_without_choices_shows_a_form_error(client, manager):
    survey = make_survey(status=Survey.Status.DRAFT)
    client.force_login(manager)
    page = client.post(
        reverse("surveys:question_new", args=[survey.pk]),
        {"kind": "single", "text": "Pick", "choices": "Only one"},
    )
    assert page.status_code == 400
    assert "at least two choices" in page.content.decode()


def test_opening_an_empty_survey_shows_a_message(client, manager):
    client.force_login(manager)
    client.post(reverse("surveys:new"), {"title": "Empty", "audience": "external"})
    survey = Survey.objects.get()
    page = client.post(reverse("surveys:open", args=[survey.pk]), follow=True)
    assert "Add at least one question" in page.content.decode()
    survey.refresh_from_db()
    assert survey.status == "draft"


def test_move_buttons_reorder_without_javascript(client, manager):
    survey = make_survey(
        questions=[
            {"key": "a", "kind": "csat", "text": "A"},
            {"key": "b", "kind": "ces", "text": "B"},
        ]
    )
    client.force_login(manager)
    b = survey.questions.get(key="b")
    page = client.post(reverse("surveys:question_up", args=[survey.pk, b.pk]))
    assert page.status_code == 302
    assert list(survey.questions.current().values_list("key", flat=True)) == ["b", "a"]


# --- drag-and-drop reordering (the builder's JSON endpoint) ----------------------------------

THREE_QUESTIONS = [
    {"key": "a", "kind": "csat", "text": "A"},
    {"key": "b", "kind": "ces", "text": "B"},
    {
        "key": "c",
        "kind": "short_text",
        "text": "C",
        "show_if": {"question": "a", "op": "lte", "value": 2},
    },
]


def current_keys(survey) -> list[str]:
    return list(survey.questions.current().values_list("key", flat=True))


def reorder(client, survey, keys):
    return client.post(reverse("surveys:question_reorder", args=[survey.pk]), {"order": keys})


def test_manager_reorders_questions_by_drag_and_drop(client, manager):
    survey = make_survey(questions=THREE_QUESTIONS)
    client.force_login(manager)
    page = reorder(client, survey, ["b", "a", "c"])
    assert page.status_code == 200
    assert page.json() == {"order": ["b", "a", "c"], "message": "Question order saved."}
    assert current_keys(survey) == ["b", "a", "c"]


def test_reordering_is_refused_to_anonymous_visitors_staff_and_outsiders(
    client, staff_member, outsider
):
    survey = make_survey(questions=THREE_QUESTIONS)
    page = reorder(client, survey, ["b", "a", "c"])
    assert page.status_code == 302 and page["Location"].startswith("/login/?next=")
    for user in (staff_member, outsider):
        client.force_login(user)
        assert reorder(client, survey, ["b", "a", "c"]).status_code == 403, user.username
    assert current_keys(survey) == ["a", "b", "c"]


def test_reordering_answers_get_with_405(client, manager):
    survey = make_survey(questions=THREE_QUESTIONS)
    client.force_login(manager)
    assert client.get(reverse("surveys:question_reorder", args=[survey.pk])).status_code == 405


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([], "Send the question keys in their new order."),
        (["b", "a", "c", "zzz"], "Not a current question of this survey: zzz."),
        (["b", "a"], "Missing from the new order: c."),
        (["b", "a", "c", "a"], "Listed more than once: a."),
        (["b", "a", "x" * 41], "Each question key has 1 to 40 characters."),
        (["c", "b", "a"], "comes later"),
    ],
)
def test_a_bad_order_is_a_400_with_the_reason_and_changes_nothing(client, manager, keys, expected):
    survey = make_survey(questions=THREE_QUESTIONS)
    client.force_login(manager)
    page = reorder(client, survey, keys)
    assert page.status_code == 400
    assert expected in " ".join(page.json()["errors"]["order"])
    assert current_keys(survey) == ["a", "b", "c"]


def test_an_order_naming_a_question_deleted_since_the_page_loaded_is_refused(client, manager):
    survey = make_survey(questions=THREE_QUESTIONS)
    services.delete_question(question=survey.questions.get(key="b"))
    client.force_login(manager)
    page = reorder(client, survey, ["b", "a", "c"])
    assert page.status_code == 400
    assert "Not a current question of this survey: b." in page.json()["errors"]["order"]


def test_builder_offers_drag_and_drop_to_managers_only(client, manager, staff_member):
    survey = make_survey(questions=THREE_QUESTIONS)
    client.force_login(manager)
    body = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    url = reverse("surveys:question_reorder", args=[survey.pk])
    assert f'data-reorder-url="{url}"' in body
    assert "vendor/sortablejs/Sortable.min.js" in body and "<script>" not in body
    client.force_login(staff_member)
    body = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert "data-reorder-url" not in body and "Sortable.min.js" not in body


def test_the_builder_states_each_rule_as_it_works(client, staff_member):
    survey = make_survey(
        status="draft",
        questions=[
            {"key": "plan", "kind": "single", "text": "Plan?", "choices": ["Free", "Pro", "Team"]},
            {
                "key": "why_not",
                "kind": "short_text",
                "text": "Why no plan?",
                "show_if": {"question": "plan", "op": "answered", "value": False},
                "end_if": {"op": "answered", "value": False},
            },
            {
                "key": "paid",
                "kind": "yes_no",
                "text": "Worth it?",
                "show_if": {"question": "plan", "op": "in", "value": ["Pro", "Team"]},
                "end_if": {"op": "eq", "value": "no"},
            },
            {
                "key": "seen",
                "kind": "csat",
                "text": "Happy?",
                "show_if": {"question": "paid", "op": "answered", "value": True},
                "end_if": {"op": "answered"},
            },
        ],
    )
    client.force_login(staff_member)
    page = client.get(reverse("surveys:detail", args=[survey.pk]))
    logic = {item["q"].key: item["logic"] for item in page.context["questions"]}
    assert logic == {
        "plan": "",
        "why_not": "Shown when plan is not answered. Ends the survey when left unanswered",
        "paid": "Shown when plan is one of Pro, Team. Ends the survey when the answer is no",
        "seen": "Shown when paid is answered. Ends the survey once answered",
    }


def test_editing_answered_question_kind_from_the_page_creates_a_version(client, manager):
    survey = make_survey(questions=[{"key": "sat", "kind": "csat", "text": "Satisfied?"}])
    client.post(respond_url(survey), form_data(sat="4"))
    client.force_login(manager)
    q = survey.questions.get()
    page = client.post(
        reverse("surveys:question_edit", args=[survey.pk, q.pk]),
        {"kind": "stars", "text": "Stars?"},
        follow=True,
    )
    assert "new version" in page.content.decode()
    assert Question.objects.filter(key="sat", archived_at__isnull=False).exists()
    assert survey.questions.current().get().key == "sat_v2"


def test_a_builder_page_older_than_another_managers_edit_gets_a_message_not_a_404(client, manager):
    """The page was loaded; meanwhile someone replaced "sat" with a new version and
    deleted "more". Every button and link of the stale page leads back to the builder,
    saying what happened; nothing changes."""
    survey = make_survey(
        questions=[
            {"key": "sat", "kind": "csat", "text": "Satisfied?"},
            {"key": "more", "kind": "short_text", "text": "More?"},
        ]
    )
    client.post(respond_url(survey), form_data(sat="4"))
    sat, more = survey.questions.get(key="sat"), survey.questions.get(key="more")
    services.update_question(question=sat, kind="stars")
    services.delete_question(question=more)
    client.force_login(manager)
    builder = reverse("surveys:detail", args=[survey.pk])

    for question, said in ((sat, "replaced by a newer version (“sat_v2”)"), (more, "deleted")):
        edit = reverse("surveys:question_edit", args=[survey.pk, question.pk])
        urls = [edit] + [
            reverse(f"surveys:question_{action}", args=[survey.pk, question.pk])
            for action in ("delete", "duplicate", "up", "down")
        ]
        for url in urls:
            page = client.post(url, {"kind": "nps", "text": "Recommend?"}, follow=True)
            assert page.redirect_chain == [(builder, 302)], url
            assert said in page.content.decode(), url
        page = client.get(edit, follow=True)
        assert page.redirect_chain == [(builder, 302)] and said in page.content.decode()

    assert list(survey.questions.current().values_list("key", "kind")) == [("sat_v2", "stars")]
    assert survey.questions.get(key="sat").kind == "csat"


def test_preview_checks_answers_without_storing(client, staff_member):
    survey = make_survey()
    client.force_login(staff_member)
    url = reverse("surveys:preview", args=[survey.pk])
    page = client.post(url, {"q_nps": "2"})
    assert "This question requires an answer." in page.content.decode()
    page = client.post(url, {"q_nps": "9"})
    assert "would be accepted" in page.content.decode()
    assert not Response.objects.exists()


def test_staff_cannot_reach_a_survey_that_does_not_exist(client, staff_member):
    client.force_login(staff_member)
    assert client.get(reverse("surveys:detail", args=[99999])).status_code == 404


def test_survey_not_open_yet_says_so(client):
    import datetime as dt

    from django.utils import timezone

    opens_at = timezone.now() + dt.timedelta(days=2)
    survey = make_survey(opens_at=opens_at)
    page = client.get(respond_url(survey))
    assert page.status_code == 200
    assert "not open yet" in page.content.decode()
    local = timezone.localtime(opens_at)
    assert f'It opens on <time datetime="{local.isoformat()}">' in page.content.decode()
    assert f"{local.day} {local:%B %Y}, {local:%H:%M}" in page.content.decode()
    assert 'id="survey-form"' not in page.content.decode()


def test_question_text_and_answers_are_escaped(client):
    xss = "<script>alert(1)</script>"
    survey = make_survey(
        title=xss,
        questions=[
            {"key": "t", "kind": "short_text", "text": xss, "required": True},
            {"key": "n", "kind": "nps", "text": "Score?", "required": True},
        ],
    )
    page = client.post(respond_url(survey), form_data(t=xss))
    body = page.content.decode()
    assert page.status_code == 400
    assert xss not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_results_page_queries_do_not_grow_with_responses(
    client, staff_member, django_assert_max_num_queries
):
    survey = make_survey()
    for n in range(20):
        client.post(
            respond_url(survey), form_data(nps=str(n % 11), why="late" if n % 11 <= 6 else "")
        )
    client.force_login(staff_member)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("surveys:results", args=[survey.pk])).status_code == 200


@pytest.mark.parametrize("answered", [False, True], ids=["in place", "new version"])
def test_type_change_breaking_a_later_rule_is_shown_on_the_form_naming_that_rule(
    client, manager, answered
):
    """nps comes first (its form has no rule fields) and why is shown when nps ≤ 6:
    making nps a text question breaks why's rule, which the page must say."""
    survey = make_survey()
    if answered:
        client.post(respond_url(survey), form_data(nps="9"))
    client.force_login(manager)
    nps = survey.questions.get(key="nps")
    page = client.post(
        reverse("surveys:question_edit", args=[survey.pk, nps.pk]),
        {"kind": "short_text", "text": "Tell us", "required": "on"},
    )
    assert page.status_code == 400
    errors = page.context["form"].non_field_errors()
    assert len(errors) == 1 and 'the rule of question "why"' in errors[0]
    assert "the rule of question &quot;why&quot;" in page.content.decode()
    assert survey.questions.current().get(key="nps").kind == "nps"


def test_a_huge_response_quota_is_refused_with_a_message(client, manager):
    client.force_login(manager)
    huge = "99999999999999999999"
    page = client.post(
        reverse("surveys:new"), {"title": "Big", "audience": "external", "response_quota": huge}
    )
    assert page.status_code == 400
    assert page.context["form"].errors["response_quota"] == [
        "The quota can be at most 1,000,000 responses."
    ]
    assert not Survey.objects.exists()
    survey = make_survey(status="draft")
    page = client.post(
        reverse("surveys:detail", args=[survey.pk]),
        {"title": survey.title, "audience": "external", "response_quota": huge},
    )
    assert page.status_code == 400
    assert "The quota can be at most 1,000,000 responses." in page.content.decode()
    survey.refresh_from_db()
    assert survey.response_quota is None


def test_saving_the_settings_of_a_survey_about_a_product_no_longer_sold_keeps_it(client, manager):
    from surveys.tests.factories import ProductFactory

    old_app = ProductFactory(name="Old app")
    survey = make_survey(status="draft", product=old_app)
    old_app.active = False
    old_app.save()
    client.force_login(manager)

    page = client.get(reverse("surveys:detail", args=[survey.pk]))
    assert f'<option value="{old_app.pk}" selected>Old app</option>' in page.content.decode()
    page = client.post(
        reverse("surveys:detail", args=[survey.pk]),
        {"title": "Old app: checkout", "audience": "external", "product": old_app.pk},
    )

    assert page.status_code == 302
    survey.refresh_from_db()
    assert (survey.title, survey.product) == ("Old app: checkout", old_app)
    # Other surveys, and new ones, are offered the products still sold only.
    new_page = client.get(reverse("surveys:new")).content.decode()
    assert "Old app" not in new_page


def test_survey_dates_are_read_and_shown_in_the_server_time_zone(
    client, settings, manager, staff_member
):
    import datetime as dt

    settings.TIME_ZONE = "Europe/Paris"
    client.force_login(manager)
    survey = make_survey(status="draft")
    form_page = client.get(reverse("surveys:detail", args=[survey.pk]))
    assert form_page.content.decode().count("Optional. Date and time in Europe/Paris.") == 2
    client.post(
        reverse("surveys:detail", args=[survey.pk]),
        {"title": survey.title, "audience": "external", "opens_at": "2026-12-01T10:00"},
    )
    survey.refresh_from_db()
    assert survey.opens_at == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    client.force_login(staff_member)
    body = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert "<dt>Opens</dt><dd>1 Dec 2026, 10:00 Europe/Paris</dd>" in body


def test_an_altered_client_uuid_says_the_form_is_out_of_date_and_sending_again_works(client):
    survey = make_survey()
    data = {**form_data(nps="9"), "client_uuid": "not-a-uuid"}
    page = client.post(respond_url(survey), data)
    assert page.status_code == 400
    body = page.content.decode()
    assert "This form was out of date, so your answers were not sent." in body
    assert "Please check the answers marked below." not in body
    assert not Response.objects.exists()
    fresh = page.context["client_uuid"]
    assert str(uuid.UUID(fresh)) == fresh
    assert client.post(respond_url(survey), {**data, "client_uuid": fresh}).status_code == 302
    assert Response.objects.get().client_uuid == uuid.UUID(fresh)


def test_rate_limited_answer_says_when_to_retry(client, settings):
    settings.FEEDBACK_FORM_RATE = "1/m"
    survey = make_survey()
    assert client.post(respond_url(survey), form_data(nps="9")).status_code == 302
    page = client.post(respond_url(survey), form_data(nps="8"))
    assert page.status_code == 429
    assert 1 <= int(page["Retry-After"]) <= 60


def test_list_and_builder_show_what_respondents_meet(client, staff_member):
    import datetime as dt

    from django.utils import timezone

    full = make_survey(title="Full survey", response_quota=1)
    services.submit_response(survey=full, answers={"nps": 9}, channel="link")
    make_survey(title="Later survey", opens_at=timezone.now() + dt.timedelta(days=2))
    make_survey(title="Running survey")
    client.force_login(staff_member)
    page = client.get(reverse("surveys:list"))
    states = {s.title: s.get_effective_status_display() for s in page.context["surveys"]}
    assert states == {
        "Full survey": "Quota reached",
        "Later survey": "Scheduled",
        "Running survey": "Open",
    }
    body = page.content.decode()
    assert ">Quota reached</span>" in body and ">Scheduled</span>" in body
    builder = client.get(reverse("surveys:detail", args=[full.pk])).content.decode()
    assert '<span class="status status-open">Quota reached</span></h1>' in builder
