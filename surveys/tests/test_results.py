"""Results numbers against hand-computed values (ORM-free)."""

from surveys.results import chart_data, nps, response_rate, summarise, top_two_box


def row(key, number=None, text="", choices=(), sentiment=""):
    return {
        "question__key": key,
        "number": number,
        "text": text,
        "choices": list(choices),
        "feedback__sentiment_label": sentiment,
    }


def test_nps_by_hand():
    # 10 answers: promoters 9,9,10,10 (4); passives 7,8 (2); detractors 0,3,6,6 (4).
    values = [9, 9, 10, 10, 7, 8, 0, 3, 6, 6]
    result = nps(values)
    assert (result["promoters"], result["passives"], result["detractors"]) == (4, 2, 4)
    assert result["score"] == 0.0
    assert result["promoters_pct"] == 40.0 and result["passives_pct"] == 20.0
    # 3 promoters, 1 passive, 0 detractors of 4 → 75 − 0 = 75.
    assert nps([10, 9, 9, 7])["score"] == 75.0
    # 1 promoter, 2 detractors of 3 → 33.3 − 66.7 = −33.3.
    assert nps([10, 2, 5])["score"] == -33.3
    assert nps([])["score"] is None


def test_csat_by_hand():
    # 4,5,5 satisfied of 5 answers → 60 %; mean (1+3+4+5+5)/5 = 3.6.
    questions = [{"key": "c", "kind": "csat", "text": "Happy?", "choices": []}]
    [summary] = summarise(questions, [row("c", v) for v in (1, 3, 4, 5, 5)])
    assert summary["satisfied_pct"] == 60.0
    assert summary["mean"] == 3.6
    assert [d["count"] for d in summary["distribution"]] == [1, 0, 1, 1, 2]
    assert top_two_box([]) is None


def test_ces_mean_and_likert_agreement():
    questions = [
        {"key": "e", "kind": "ces", "text": "Easy?", "choices": []},
        {"key": "l", "kind": "likert", "text": "Agree?", "choices": []},
    ]
    rows = [row("e", v) for v in (7, 6, 2)] + [row("l", v) for v in (5, 4, 2, 1)]
    ces, likert = summarise(questions, rows)
    assert ces["mean"] == 5.0 and len(ces["distribution"]) == 7
    assert likert["agree_pct"] == 50.0 and likert["mean"] == 3.0


def test_choice_distribution_counts_other_and_removed_options():
    questions = [
        {
            "key": "m",
            "kind": "multiple",
            "text": "Which?",
            "choices": ["A", "B"],
            "allow_other": True,
        }
    ]
    rows = [
        row("m", choices=["A", "B"]),
        row("m", choices=["A", "Other"], text="Z"),
        row("m", choices=["Gone"]),
    ]
    [summary] = summarise(questions, rows)
    counts = {d["label"]: (d["count"], d["pct"]) for d in summary["distribution"]}
    assert counts == {"A": (2, 66.7), "B": (1, 33.3), "Other": (1, 33.3), "Gone": (1, 33.3)}
    assert summary["other_texts"] == ["Z"]


def test_a_plain_choice_named_other_is_counted_once():
    questions = [{"key": "f", "kind": "single", "text": "Fruit?", "choices": ["Apple", "Other"]}]
    rows = [row("f", choices=["Other"]), row("f", choices=["Other"]), row("f", choices=["Apple"])]
    [summary] = summarise(questions, rows)
    # 3 people: Apple 1 (33.3 %), Other 2 (66.7 %), 100 % in all.
    assert [(d["label"], d["count"], d["pct"]) for d in summary["distribution"]] == [
        ("Apple", 1, 33.3),
        ("Other", 2, 66.7),
    ]


def test_yes_no_and_text_with_sentiment():
    questions = [
        {"key": "y", "kind": "yes_no", "text": "Again?", "choices": []},
        {"key": "t", "kind": "long_text", "text": "Why?", "choices": []},
    ]
    rows = [row("y", 1), row("y", 1), row("y", 0)] + [
        row("t", text="Great", sentiment="positive"),
        row("t", text="Slow", sentiment="negative"),
        row("t", text="Hm"),
    ]
    yes_no, text = summarise(questions, rows)
    assert [(d["label"], d["count"], d["pct"]) for d in yes_no["distribution"]] == [
        ("Yes", 2, 66.7),
        ("No", 1, 33.3),
    ]
    assert text["sentiments"] == {"positive": 1, "neutral": 0, "negative": 1, "pending": 1}
    assert text["texts"][0] == {"text": "Great", "sentiment": "positive"}
    charts = chart_data([yes_no, text])
    assert [c["key"] for c in charts] == ["y"]


def test_response_rate():
    assert response_rate(8, 2) == 25.0
    assert response_rate(0, 0) is None
