import pytest
from django.urls import reverse

from surveys import services
from surveys.tests.factories import InvitationFactory, make_survey

pytestmark = pytest.mark.django_db


def test_admin_pages_render_for_an_admin(client, admin_user):
    survey = make_survey()
    response, _ = services.submit_response(
        survey=survey, answers={"nps": 3, "why": "Slow"}, channel="link"
    )
    invitation = InvitationFactory(survey=survey)
    client.force_login(admin_user)
    admin_user.is_superuser = True
    admin_user.save()
    for url in (
        reverse("admin:surveys_survey_changelist"),
        reverse("admin:surveys_survey_change", args=[survey.pk]),
        reverse("admin:surveys_response_changelist"),
        reverse("admin:surveys_response_change", args=[response.pk]),
        reverse("admin:surveys_invitation_changelist"),
        reverse("admin:surveys_invitation_change", args=[invitation.pk]),
        reverse("admin:surveys_idempotencyrecord_changelist"),
    ):
        assert client.get(url).status_code == 200, url


def test_admin_close_action_goes_through_the_service(client, admin_user):
    survey = make_survey()
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    client.post(
        reverse("admin:surveys_survey_changelist"),
        {"action": "close_surveys", "_selected_action": [survey.pk]},
    )
    survey.refresh_from_db()
    assert survey.status == "closed" and survey.closed_at
