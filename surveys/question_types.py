"""Every question kind in one table: its scale, its labels and what logic may ask of it.

ORM-free: the builder, the answer validation, the logic checks, the results and the
respondent form all read this table, so a scale is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHORT_TEXT_MAX_LENGTH = 500
LONG_TEXT_MAX_LENGTH = 5000
# The label of the free-text option of choice questions with ``allow_other``.
OTHER = "Other"
MAX_CHOICES = 50
CHOICE_MAX_LENGTH = 200

NUMERIC_OPS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "answered")
CHOICE_OPS = ("eq", "neq", "in", "answered")
MULTIPLE_OPS = ("contains", "answered")
TEXT_OPS = ("contains", "answered")
ALL_OPS = ("eq", "neq", "lt", "lte", "gt", "gte", "in", "contains", "answered")


@dataclass(frozen=True)
class QuestionType:
    kind: str
    label: str
    family: str  # "scale", "choice", "multiple", "yes_no", "text"
    ops: tuple[str, ...]
    scale_min: int | None = None
    scale_max: int | None = None
    # Labels of the ends (or of every point) of the scale, shown to respondents.
    scale_labels: dict[int, str] = field(default_factory=dict)
    max_length: int | None = None

    @property
    def is_scale(self) -> bool:
        return self.family == "scale"

    @property
    def is_text(self) -> bool:
        return self.family == "text"

    @property
    def has_choices(self) -> bool:
        return self.family in ("choice", "multiple")

    @property
    def points(self) -> list[int]:
        if not self.is_scale:
            return []
        return list(range(self.scale_min, self.scale_max + 1))

    def point_label(self, point: int) -> str:
        return self.scale_labels.get(point, "")


QUESTION_TYPES: dict[str, QuestionType] = {
    t.kind: t
    for t in [
        QuestionType(
            "nps",
            "Net Promoter Score (0–10)",
            "scale",
            NUMERIC_OPS,
            0,
            10,
            {0: "Not at all likely", 10: "Extremely likely"},
        ),
        QuestionType(
            "csat",
            "Customer satisfaction (1–5)",
            "scale",
            NUMERIC_OPS,
            1,
            5,
            {1: "Very unsatisfied", 3: "Neutral", 5: "Very satisfied"},
        ),
        QuestionType(
            "ces",
            "Customer effort (1–7)",
            "scale",
            NUMERIC_OPS,
            1,
            7,
            {1: "Very difficult", 7: "Very easy"},
        ),
        QuestionType(
            "likert",
            "Agreement (Likert, 1–5)",
            "scale",
            NUMERIC_OPS,
            1,
            5,
            {
                1: "Strongly disagree",
                2: "Disagree",
                3: "Neither agree nor disagree",
                4: "Agree",
                5: "Strongly agree",
            },
        ),
        QuestionType(
            "stars", "Star rating (1–5)", "scale", NUMERIC_OPS, 1, 5, {1: "1 ★", 5: "5 ★"}
        ),
        QuestionType("single", "Single choice", "choice", CHOICE_OPS),
        QuestionType("multiple", "Multiple choice", "multiple", MULTIPLE_OPS),
        QuestionType("yes_no", "Yes / no", "yes_no", CHOICE_OPS),
        QuestionType(
            "short_text", "Short text", "text", TEXT_OPS, max_length=SHORT_TEXT_MAX_LENGTH
        ),
        QuestionType("long_text", "Long text", "text", TEXT_OPS, max_length=LONG_TEXT_MAX_LENGTH),
    ]
}

# Scores that feed a feedback's rating (and so sentiment training), in order of preference.
RATING_KINDS = ("nps", "csat", "stars")


def question_type(kind: str) -> QuestionType:
    return QUESTION_TYPES[kind]
