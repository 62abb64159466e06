"""Surveys for tests, built through the services so they obey the same rules as the builder."""

from __future__ import annotations

import factory

from feedback.tests.factories import CustomerFactory, ProductFactory, UserFactory  # noqa: F401
from surveys import services
from surveys.models import Invitation, Survey


def make_survey(
    *,
    title: str = "Checkout experience",
    questions: list[dict] | None = None,
    status: str = Survey.Status.OPEN,
    **settings,
) -> Survey:
    """A survey with ``questions`` (dicts of ``add_question`` arguments), opened by default.

    Default questions: ``nps`` (required), ``why`` (long text, shown when nps ≤ 6).
    """
    survey = services.create_survey(title=title, **settings)
    if questions is None:
        questions = [
            {
                "key": "nps",
                "kind": "nps",
                "text": "How likely are you to recommend us?",
                "required": True,
            },
            {
                "key": "why",
                "kind": "long_text",
                "text": "What went wrong?",
                "required": True,
                "show_if": {"question": "nps", "op": "lte", "value": 6},
            },
        ]
    for spec in questions:
        services.add_question(survey=survey, **spec)
    if status in (Survey.Status.OPEN, Survey.Status.CLOSED):
        services.open_survey(survey=survey)
    if status == Survey.Status.CLOSED:
        services.close_survey(survey=survey)
    survey.refresh_from_db()
    return survey


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda i: i.customer.email)
    token_digest = factory.Sequence(lambda n: f"{n:064x}")
    status = Invitation.Status.SENT
