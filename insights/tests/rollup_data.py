"""Raw rows for rollup tests: feedback and survey answers, created directly."""

import datetime as dt
import itertools

from feedback.models import Customer, Feedback
from surveys.models import Answer, Question, Response, Survey

_slugs = itertools.count()


def make_survey(*, product=None, audience=Survey.Audience.EXTERNAL) -> Survey:
    n = next(_slugs)
    survey = Survey.objects.create(
        title=f"Survey {n}", slug=f"rollup-survey-{n}", product=product, audience=audience,
        status=Survey.Status.OPEN,
    )  # fmt: skip
    for position, kind in enumerate(("nps", "csat", "ces")):
        Question.objects.create(
            survey=survey, key=kind, position=position, kind=kind, text=f"{kind}?"
        )
    Question.objects.create(survey=survey, key="why", position=3, kind="long_text", text="Why?")
    return survey


def answer_survey(
    survey: Survey,
    *,
    submitted_at: dt.datetime,
    nps=None,
    csat=None,
    ces=None,
    customer: Customer | None = None,
    comment: str = "",
    feedback: Feedback | None = None,
) -> Response:
    response = Response.objects.create(survey=survey, submitted_at=submitted_at, customer=customer)
    questions = {q.key: q for q in survey.questions.all()}
    for key, value in (("nps", nps), ("csat", csat), ("ces", ces)):
        if value is not None:
            Answer.objects.create(response=response, question=questions[key], number=value)
    if comment:
        Answer.objects.create(
            response=response, question=questions["why"], text=comment, feedback=feedback
        )
    return response
