import pickle
import random

import pytest
from django.urls import reverse
from django.utils import timezone

from feedback.models import Feedback
from feedback.services import record_feedback
from feedback.tests.factories import FeedbackFactory
from insights import model_training, services
from insights.analysis import model_selection, sentiment, sentiment_model
from insights.models import SentimentCorrection, SentimentModel

pytestmark = pytest.mark.django_db

# Words a general lexicon does not weigh, but this organisation's customers use for pain
# and praise; the rating given with each text says which is which.
PAIN = [
    "the app freezes at checkout",
    "my parcel sat in the depot for days",
    "invoice shows double charge",
    "the update logs me out",
    "tracking page never refreshes",
    "refund still pending after weeks",
]
PRAISE = [
    "checkout took seconds",
    "parcel came a day early",
    "invoice was clear and itemised",
    "the update fixed my login",
    "tracking showed the van live",
    "refund arrived the same day",
]
NEUTRAL = [
    "I ordered on Tuesday",
    "we use the portal for invoices",
    "the parcel is for my office",
    "I updated the app yesterday",
    "tracking number is on the email",
    "asked about a refund",
]


@pytest.fixture
def model_dir(settings, tmp_path):
    settings.SENTIMENT_MODEL_DIR = tmp_path
    return tmp_path


def _rated_feedback(n_per_class=60, seed=1):
    rnd = random.Random(seed)
    for phrases, stars in ((PAIN, (1, 2)), (PRAISE, (4, 5)), (NEUTRAL, (3,))):
        for _ in range(n_per_class):
            text = f"{rnd.choice(phrases)}, {rnd.choice(NEUTRAL)}."
            record_feedback(
                channel="review",
                source="shop",
                text=text,
                rating=rnd.choice(stars),
                rating_min=1,
                rating_max=5,
            )
    services.analyse_all_pending()


def test_training_waits_for_enough_labelled_rows(model_dir, settings):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 200
    _rated_feedback(n_per_class=20)
    assert model_training.train_sentiment_model() is None
    assert not SentimentModel.objects.filter(kind="trained").exists()


def test_a_training_with_too_few_labels_tells_the_models_page_why_no_model_came(
    client, manager, model_dir, settings
):
    from insights.tasks import train_sentiment_model_task

    settings.SENTIMENT_MIN_TRAINING_ROWS = 200
    _rated_feedback(n_per_class=20)

    assert train_sentiment_model_task.apply().get() is None

    client.force_login(manager)
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert (
        "Last training: succeeded, started" in page
        and "no model trained: 60 labelled rows with 3 of the three labels; training needs "
        "200 rows with at least two labels."
        in page
    )


def test_a_better_model_is_activated_and_an_equal_one_is_not(model_dir, settings):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    lexicon = model_training.ensure_lexicon_model()

    first = model_training.train_sentiment_model()
    assert first.is_active
    assert first.metrics["candidate"]["macro_f1"] > first.metrics["incumbent"]["macro_f1"]
    assert first.metrics["incumbent_version"] == lexicon.version
    assert (model_dir / first.artifact).exists()
    lexicon.refresh_from_db()
    assert not lexicon.is_active

    # The same data cannot produce a strictly better model: it is kept, inactive.
    second = model_training.train_sentiment_model()
    assert not second.is_active
    first.refresh_from_db()
    assert first.is_active
    assert SentimentModel.objects.active().count() == 1


def test_new_model_rescores_old_rows_and_rollback_rescores_again(model_dir, settings):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    assert set(Feedback.objects.values_list("sentiment_model", flat=True)) == {sentiment.MODEL_NAME}
    trained = model_training.train_sentiment_model()
    assert trained.is_active

    while model_training.rescore_outdated_batch(batch_size=50):
        pass
    assert set(Feedback.objects.values_list("sentiment_model", flat=True)) == {trained.name}
    # New feedback is scored by the active model straight away.
    fresh = record_feedback(channel="form", text="the app freezes at checkout again")
    services.analyse_all_pending()
    fresh.refresh_from_db()
    assert (fresh.sentiment_model, fresh.sentiment_label) == (trained.name, "negative")

    model_training.activate_sentiment_model(model=SentimentModel.objects.get(kind="lexicon"))
    while model_training.rescore_outdated_batch():
        pass
    assert set(Feedback.objects.values_list("sentiment_model", flat=True)) == {sentiment.MODEL_NAME}


def test_staff_correction_overrides_the_label_survives_rescoring_and_trains(
    model_dir, settings, staff_member
):
    feedback = FeedbackFactory(text="Well, that was something.")
    services.analyse_all_pending()
    model_training.correct_sentiment(feedback=feedback, label="negative", by=staff_member)
    feedback.refresh_from_db()
    assert (feedback.sentiment_label, feedback.sentiment_model) == ("negative", "staff")
    assert model_training.rescore_outdated_batch() == 0
    texts, labels = model_training.labelled_feedback()
    assert ("Well, that was something.", "negative") in list(zip(texts, labels, strict=True))


def test_correcting_feedback_before_its_analysis_still_gives_it_its_themes(staff_member):
    from insights.models import KeywordRule, Theme

    invoices = Theme.objects.create(name="Invoices", slug="invoices")
    KeywordRule.objects.create(theme=invoices, keywords="invoice")
    feedback = FeedbackFactory(text="The invoice is wrong again")
    assert feedback.analysed_at is None  # the worker has not got to it yet

    model_training.correct_sentiment(feedback=feedback, label="neutral", by=staff_member)

    feedback.refresh_from_db()
    assert (feedback.sentiment_label, feedback.sentiment_model) == ("neutral", "staff")
    assert list(feedback.themes.values_list("theme__name", flat=True)) == ["Invoices"]


def test_a_correction_is_counted_in_the_theme_rollup_of_its_day(staff_member):
    from insights.models import DailyThemeStat, Theme
    from insights.theme_services import set_manual_theme

    feedback = FeedbackFactory(text="Lovely checkout, thank you")
    services.analyse_all_pending()
    theme = Theme.objects.create(name="Checkout", slug="checkout")
    set_manual_theme(feedback=feedback, theme=theme)
    before = DailyThemeStat.objects.get(theme=theme)
    assert before.negative_count == 0 and before.sentiment_sum > 0

    model_training.correct_sentiment(feedback=feedback, label="negative", by=staff_member)

    after = DailyThemeStat.objects.get(theme=theme)
    assert (after.analysed_count, after.negative_count, after.sentiment_sum) == (1, 1, -1.0)


def test_missing_artifact_cannot_be_activated_and_analysis_falls_back_to_lexicon(
    model_dir, settings
):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    trained = model_training.train_sentiment_model()
    model_training.activate_sentiment_model(model=SentimentModel.objects.get(kind="lexicon"))
    (model_dir / trained.artifact).unlink()
    with pytest.raises(Exception, match="missing"):
        model_training.activate_sentiment_model(model=trained)
    # Even if the active model's file disappears, feedback is still analysed.
    SentimentModel.objects.update(is_active=False)
    SentimentModel.objects.filter(pk=trained.pk).update(is_active=True)
    record_feedback(channel="form", text="Lovely service")
    assert services.analyse_all_pending() == 1


def _rewrite_artifact(path, *, versions=None, keep_bytes=None):
    with open(path, "rb") as handle:
        header = pickle.load(handle)
        rest = handle.read()
    if versions:
        header["versions"] = {**header["versions"], **versions}
    with open(path, "wb") as handle:
        pickle.dump(header, handle)
        handle.write(rest if keep_bytes is None else rest[:keep_bytes])


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ({"versions": {"scikit-learn": "0.24.2"}}, "saved with scikit-learn 0.24.2"),
        ({"keep_bytes": 200}, "damaged"),
    ],
    ids=["other-scikit-learn", "truncated"],
)
def test_rolling_back_to_a_model_this_installation_cannot_load_is_refused_with_the_reason(
    client, manager, model_dir, settings, damage, reason
):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    trained = model_training.train_sentiment_model()
    lexicon = SentimentModel.objects.get(kind="lexicon")
    model_training.activate_sentiment_model(model=lexicon)
    _rewrite_artifact(model_dir / trained.artifact, **damage)
    client.force_login(manager)

    response = client.post(
        reverse("insights:activate_sentiment_model", args=[trained.version]), follow=True
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Model v{trained.version} cannot be activated: " in page and reason in page
    lexicon.refresh_from_db()
    trained.refresh_from_db()
    assert lexicon.is_active and not trained.is_active


def test_models_page_and_rollback_are_for_managers(client, staff_member, manager, model_dir):
    lexicon = model_training.ensure_lexicon_model()
    client.force_login(staff_member)
    assert client.get(reverse("insights:sentiment_models")).status_code == 403
    assert (
        client.post(
            reverse("insights:activate_sentiment_model", args=[lexicon.version])
        ).status_code
        == 403
    )
    client.force_login(manager)
    response = client.get(reverse("insights:sentiment_models"))
    assert response.status_code == 200
    assert f"v{lexicon.version}" in response.content.decode()


def test_after_a_roll_back_the_models_page_says_which_model_is_active(
    client, manager, model_dir, settings
):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    lexicon = model_training.ensure_lexicon_model()
    SentimentModel.objects.filter(pk=lexicon.pk).update(activated_at=None)  # as migrated
    client.force_login(manager)
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert "<strong>Active</strong></td>" in page
    trained = model_training.train_sentiment_model()
    assert trained.is_active and trained.note == "Activated: better than the active model"
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert "Replaced by v2" in page

    client.post(reverse("insights:activate_sentiment_model", args=[lexicon.version]))

    trained.refresh_from_db()
    assert (trained.is_active, trained.note) == (False, "Replaced by v1")
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert "Activated: better than the active model" not in page
    assert f"Active</strong> since {timezone.localtime():%Y-%m-%d}" in page


def test_the_models_page_says_what_a_score_means_and_which_model_it_was_compared_with(
    client, manager
):
    model_training.ensure_lexicon_model()
    SentimentModel.objects.create(
        version=2, kind="trained", training_size=540, artifact="sentiment-v2.joblib",
        note="Kept inactive: not better",
        metrics={
            "candidate": {"accuracy": 0.8333, "macro_f1": 0.8123},
            "incumbent": {"accuracy": 0.6, "macro_f1": 0.5512},
            "incumbent_version": 1, "holdout_size": 60,
        },
    )  # fmt: skip
    client.force_login(manager)

    page = client.get(reverse("insights:sentiment_models")).content.decode()

    row = page[page.index("<td>v2</td>") :]
    row = row[: row.index("</tr>")]
    assert "0.812 <span" in row and "accuracy 0.833" in row
    assert "v1: 0.551" in row and "<td>60</td>" in row
    # Compared with the model active at training time, which need not be the active one.
    assert "Model it was compared with" in page and "Active model's" not in page
    assert "higher is better" in page


def test_staff_correct_sentiment_from_the_detail_page(client, staff_member, outsider):
    feedback = FeedbackFactory(text="Meh")
    url = reverse("insights:correct_sentiment", args=[feedback.pk])
    client.force_login(outsider)
    assert client.post(url, {"label": "negative"}).status_code == 403
    client.force_login(staff_member)
    response = client.post(url, {"label": "negative"})
    assert response.status_code == 302
    assert SentimentCorrection.objects.get(feedback=feedback).label == "negative"
    response = client.post(url, {"label": "furious"}, follow=True)
    assert SentimentCorrection.objects.get(feedback=feedback).label == "negative"
    assert "not a sentiment label" in response.content.decode()


def _labelled_texts(n_per_class, seed):
    rnd = random.Random(seed)
    texts, labels = [], []
    for phrases, label in ((PAIN, "negative"), (PRAISE, "positive"), (NEUTRAL, "neutral")):
        for i in range(n_per_class):
            texts.append(f"{rnd.choice(phrases)}, {rnd.choice(NEUTRAL)} #{seed}-{i}.")
            labels.append(label)
    return texts, labels


def test_rows_held_out_once_stay_held_out_and_no_model_is_trained_on_them():
    texts, labels = _labelled_texts(40, seed=1)
    first = model_selection.train_and_compare(texts, labels, incumbent=sentiment.score_texts)
    assert first.holdout_size > 0
    assert first.model.n_train == first.training_size == len(texts) - first.holdout_size

    # The next run has more rows: what the first run held out is still held out, and what
    # the first model was trained on is never used to grade it.
    more_texts, more_labels = _labelled_texts(40, seed=2)
    second = model_selection.train_and_compare(
        texts + more_texts, labels + more_labels, incumbent=first.model.predict
    )
    first_training_rows = set(texts) - first.holdout_texts
    assert first.holdout_texts <= second.holdout_texts
    assert not second.holdout_texts & first_training_rows
    assert second.model.n_train == second.training_size


def test_the_activated_model_is_not_trained_on_the_rows_it_was_judged_on(model_dir, settings):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    texts, _ = model_training.labelled_feedback()
    trained = model_training.train_sentiment_model()
    assert trained.is_active
    holdout = trained.metrics["holdout_size"]
    assert holdout > 0
    assert trained.training_size + holdout == len(texts)
    assert sentiment_model.load(model_dir / trained.artifact).n_train == trained.training_size


def test_switching_the_live_model_needs_the_managers_change_permission(
    client, staff_member, manager, model_dir
):
    from django.contrib.auth.models import Permission

    from feedback.tests.factories import UserFactory

    lexicon = model_training.ensure_lexicon_model()
    SentimentModel.objects.update(is_active=False)
    url = reverse("insights:activate_sentiment_model", args=[lexicon.version])
    # Someone who may read the insights pages, and nothing more.
    reader = UserFactory(username="rita_reader")
    reader.user_permissions.add(Permission.objects.get(codename="view_insights"))

    for user in (staff_member, reader):
        client.force_login(user)
        assert client.post(url).status_code == 403
    client.force_login(reader)
    page = client.get(reverse("insights:sentiment_models"))
    assert page.status_code == 200 and "Activate" not in page.content.decode()
    lexicon.refresh_from_db()
    assert not lexicon.is_active

    client.force_login(manager)
    assert "Activate</button>" in client.get(reverse("insights:sentiment_models")).content.decode()
    assert client.post(url).status_code == 302
    lexicon.refresh_from_db()
    assert lexicon.is_active


@pytest.mark.django_db(transaction=True)
def test_two_model_switches_at_once_take_turns_and_leave_one_model_active(model_dir):
    import threading

    from django.db import connection, transaction

    lexicon = model_training.ensure_lexicon_model()
    first = SentimentModel.objects.create(version=2, kind="lexicon")
    second = SentimentModel.objects.create(version=3, kind="lexicon")
    failures = []

    def switch_to_second():
        try:
            model_training.activate_sentiment_model(model=second)
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    with transaction.atomic():
        model_training.activate_sentiment_model(model=first)
        other = threading.Thread(target=switch_to_second)
        other.start()
        other.join(timeout=1)  # it waits for this transaction's locks
        assert other.is_alive()
    other.join(timeout=10)

    assert failures == []
    assert list(SentimentModel.objects.active()) == [second]
    lexicon.refresh_from_db()
    first.refresh_from_db()
    assert (lexicon.note, first.note) == ("Replaced by v2", "Replaced by v3")


def test_a_model_switched_by_a_manager_during_training_is_not_overridden(
    model_dir, settings, monkeypatch
):
    settings.SENTIMENT_MIN_TRAINING_ROWS = 100
    _rated_feedback()
    lexicon = model_training.ensure_lexicon_model()
    first = model_training.train_sentiment_model()
    model_training.activate_sentiment_model(model=lexicon)  # rolled back
    compare = model_selection.train_and_compare

    def a_manager_rolls_forward_meanwhile(*args, **kwargs):
        outcome = compare(*args, **kwargs)
        model_training.activate_sentiment_model(model=first)
        return outcome

    monkeypatch.setattr(model_selection, "train_and_compare", a_manager_rolls_forward_meanwhile)
    candidate = model_training.train_sentiment_model()

    # It beat the lexicon it was compared with, not the manager's choice: that stands.
    assert candidate.metrics["incumbent_version"] == lexicon.version
    assert not candidate.is_active
    assert f"v{first.version} was activated while it trained" in candidate.note
    assert list(SentimentModel.objects.active()) == [first]


def test_a_correction_of_feedback_without_text_is_no_training_row():
    silent = FeedbackFactory(text="", rating=1, rating_min=1, rating_max=5)
    spoken = FeedbackFactory(text="Never again", rating=None)
    for feedback in (silent, spoken):
        SentimentCorrection.objects.create(feedback=feedback, label="negative")

    texts, labels = model_training.labelled_feedback()

    assert (texts, labels) == (["Never again"], ["negative"])


def test_the_models_page_counts_only_ratings_and_corrections_with_a_comment(client, manager):
    FeedbackFactory(text="Great service", rating=5, rating_min=1, rating_max=5, rating_normalised=1)
    FeedbackFactory(text="", rating=1, rating_min=1, rating_max=5, rating_normalised=0)
    SentimentCorrection.objects.create(feedback=FeedbackFactory(text=""), label="negative")
    client.force_login(manager)
    page = client.get(reverse("insights:sentiment_models")).content.decode()
    assert "comments that came with a rating (1)" in page
    assert "corrections of a comment's sentiment (0)" in page
