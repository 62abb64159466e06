"""Survey results from plain rows: ORM-free, so every number is testable by hand.

``summarise(questions, rows)`` takes the questions as plain dicts (``key``, ``kind``,
``text``, ``choices``, ``allow_other``, ``archived``) and the answers as plain dicts
(``question__key``, ``number``, ``text``, ``choices``, ``feedback__sentiment_label``) and
returns one summary per question.

Definitions (the usual ones):

- NPS: promoters answer 9–10, passives 7–8, detractors 0–6; score = % promoters − %
  detractors, from −100 to 100.
- CSAT: share of 4–5 answers on the 1–5 scale (“top two boxes”), and the mean.
- CES: mean on 1–7 (higher = easier).
- Likert: share agreeing (4–5) and the mean; stars: the mean.
- Percentages of choices are of the people who answered the question (multiple choice can
  add up to more than 100 %).
"""

from __future__ import annotations

from collections import Counter

from .question_types import OTHER, question_type


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def nps(values: list[float]) -> dict:
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    passives = len(values) - promoters - detractors
    n = len(values)
    return {
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "promoters_pct": _pct(promoters, n),
        "passives_pct": _pct(passives, n),
        "detractors_pct": _pct(detractors, n),
        "score": round(100.0 * (promoters - detractors) / n, 1) if n else None,
    }


def top_two_box(values: list[float]) -> float | None:
    return _pct(sum(1 for v in values if v >= 4), len(values))


def summarise_question(question: dict, rows: list[dict]) -> dict:
    qtype = question_type(question["kind"])
    summary = {
        "key": question["key"],
        "kind": question["kind"],
        "kind_label": qtype.label,
        "text": question["text"],
        "archived": bool(question.get("archived")),
        "answered": len(rows),
    }
    if qtype.is_scale:
        values = [r["number"] for r in rows if r["number"] is not None]
        counts = Counter(int(v) for v in values)
        summary["mean"] = _mean(values)
        summary["distribution"] = [
            {"label": str(p), "count": counts.get(p, 0), "pct": _pct(counts.get(p, 0), len(values))}
            for p in qtype.points
        ]
        if question["kind"] == "nps":
            summary["nps"] = nps(values)
        elif question["kind"] == "csat":
            summary["satisfied_pct"] = top_two_box(values)
        elif question["kind"] == "likert":
            summary["agree_pct"] = top_two_box(values)
    elif qtype.family == "yes_no":
        yes = sum(1 for r in rows if r["number"] == 1)
        no = len(rows) - yes
        summary["distribution"] = [
            {"label": "Yes", "count": yes, "pct": _pct(yes, len(rows))},
            {"label": "No", "count": no, "pct": _pct(no, len(rows))},
        ]
    elif qtype.has_choices:
        counts = Counter(c for r in rows for c in (r["choices"] or []))
        options = list(question.get("choices") or [])
        if (question.get("allow_other") or counts.get(OTHER)) and OTHER not in options:
            options.append(OTHER)
        # Options removed by an edit still show when old answers hold them.
        options += [c for c in counts if c not in options]
        summary["distribution"] = [
            {"label": o, "count": counts.get(o, 0), "pct": _pct(counts.get(o, 0), len(rows))}
            for o in options
        ]
        summary["other_texts"] = [r["text"] for r in rows if r["text"]]
    else:
        summary["texts"] = [
            {"text": r["text"], "sentiment": r.get("feedback__sentiment_label") or ""}
            for r in rows
            if r["text"]
        ]
        sentiments = Counter(t["sentiment"] or "pending" for t in summary["texts"])
        summary["sentiments"] = {
            label: sentiments.get(label, 0)
            for label in ("positive", "neutral", "negative", "pending")
        }
    return summary


def summarise(questions: list[dict], rows: list[dict]) -> list[dict]:
    by_key: dict[str, list[dict]] = {q["key"]: [] for q in questions}
    for row in rows:
        by_key.setdefault(row["question__key"], []).append(row)
    return [summarise_question(q, by_key[q["key"]]) for q in questions]


def chart_data(summaries: list[dict]) -> list[dict]:
    """What ``static/js/survey_results.js`` draws: one bar chart per question with counts."""
    return [
        {
            "key": s["key"],
            "labels": [d["label"] for d in s["distribution"]],
            "counts": [d["count"] for d in s["distribution"]],
            "horizontal": s["kind"] in ("single", "multiple"),
            "colors": _nps_colors() if s["kind"] == "nps" else None,
        }
        for s in summaries
        if s.get("distribution") and s["answered"]
    ]


NPS_COLORS = {"detractor": "#a4262c", "passive": "#8a939e", "promoter": "#1e6b3a"}


def _nps_colors() -> list[str]:
    return [
        NPS_COLORS["detractor"]
        if p <= 6
        else NPS_COLORS["passive"]
        if p <= 8
        else NPS_COLORS["promoter"]
        for p in range(11)
    ]


def response_rate(invited: int, answered: int) -> float | None:
    return _pct(answered, invited)
