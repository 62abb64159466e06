from insights.analysis.sentiment import label_for, score_texts


def test_lexicon_model_separates_clear_praise_from_complaints():
    results = score_texts(
        ["Fantastic support, thank you!", "Worst purchase ever, broken.", "It is Tuesday."]
    )
    assert [r.label for r in results] == ["positive", "negative", "neutral"]
    assert all(-1 <= r.score <= 1 for r in results)


def test_label_thresholds():
    assert label_for(0.05) == "positive"
    assert label_for(0.0) == "neutral"
    assert label_for(-0.05) == "negative"
