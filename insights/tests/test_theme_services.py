"""Themes on the database: discovery, incremental assignment, rules, curation, rollup."""

import datetime as dt
import json
import random
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from feedback.models import Feedback
from feedback.tests.factories import FeedbackFactory, ProductFactory
from insights import services, theme_services
from insights.models import DailyThemeStat, FeedbackTheme, KeywordRule, Theme, ThemeModel
from insights.tasks import apply_keyword_rules_task

from .theme_corpus import planted_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.SENTIMENT_MODEL_DIR = tmp_path / "models"


def _seed(n_per_topic=30, *, seed=0, analysed=True):
    texts, labels = planted_corpus(n_per_topic, seed=seed)
    now = timezone.now()
    product = ProductFactory()
    rows = []
    for index, text in enumerate(texts):
        rows.append(
            FeedbackFactory(
                text=text,
                received_at=now - dt.timedelta(days=index % 5, hours=1),
                product=product if index % 2 else None,
                analysed_at=now if analysed else None,
                sentiment_label="negative" if index % 3 == 0 else "positive",
                sentiment_score=-0.5 if index % 3 == 0 else 0.5,
            )
        )
    return rows, labels


def _theme_for(word: str) -> Theme:
    return next(t for t in Theme.objects.all() if word in " ".join(t.top_terms))


def test_first_discovery_creates_active_themes_and_assigns_the_sample():
    rows, _ = _seed()

    model = theme_services.discover_themes(k=5)

    assert model.is_active and model.n_themes == 5
    assert Theme.objects.filter(status=Theme.Status.ACTIVE).count() == 5
    assert all(len(theme.quotes) == 3 for theme in Theme.objects.all())
    themed = FeedbackTheme.objects.values("feedback").distinct().count()
    assert themed >= 0.9 * len(rows)
    assert DailyThemeStat.objects.exists()


def test_discovery_with_too_little_feedback_says_so():
    _seed(5)  # 25 texts

    with pytest.raises(theme_services.ThemeDiscoveryError, match="at least 50"):
        theme_services.discover_themes()
    assert not ThemeModel.objects.exists()


def test_new_feedback_is_assigned_by_the_analysis_batch_without_rediscovery():
    _seed()
    theme_services.discover_themes(k=5)
    delivery = (
        _theme_for("parcel") if any("parcel" in t.top_terms for t in Theme.objects.all()) else None
    )
    new = FeedbackFactory(
        text="The courier left my parcel at the wrong address, tracking was useless"
    )

    services.analyse_pending_batch()

    links = FeedbackTheme.objects.filter(feedback=new)
    assert links.exists()
    best = links.order_by("-score").first()
    assert best.source == FeedbackTheme.Source.MODEL
    assert {"courier", "parcel", "tracking", "delivery", "package", "shipping"} & set(
        best.theme.top_terms
    )
    if delivery is not None:
        assert best.theme == delivery
    assert ThemeModel.objects.count() == 1


def test_a_keyword_rule_always_applies_to_new_and_existing_feedback(
    django_capture_on_commit_callbacks,
):
    rows, _ = _seed()
    theme_services.discover_themes(k=5)
    billing = (
        _theme_for("invoice")
        if any("invoice" in t.top_terms for t in Theme.objects.all())
        else Theme.objects.first()
    )
    old = FeedbackFactory(text="Where is the voucher I was promised?", analysed_at=timezone.now())

    with django_capture_on_commit_callbacks() as callbacks:
        theme_services.add_keyword_rule(theme=billing, keywords="voucher, gift card")
    assert len(callbacks) == 1  # the re-application is queued after commit
    apply_keyword_rules_task(billing.pk)  # what the worker runs

    assert (
        FeedbackTheme.objects.get(feedback=old, theme=billing).source == FeedbackTheme.Source.RULE
    )
    new = FeedbackFactory(text="My GIFT CARD was not accepted")
    services.analyse_pending_batch()
    link = FeedbackTheme.objects.get(feedback=new, theme=billing)
    assert (link.source, link.score) == (FeedbackTheme.Source.RULE, 1.0)
    # Whole words only: "vouchers" matches no rule.
    other = FeedbackFactory(text="vouchersss everywhere")
    services.analyse_pending_batch()
    assert not FeedbackTheme.objects.filter(feedback=other, theme=billing).exists()


def test_curation_survives_rediscovery():
    _seed()
    theme_services.discover_themes(k=5)
    renamed = (
        _theme_for("invoice")
        if any("invoice" in t.top_terms for t in Theme.objects.all())
        else Theme.objects.all()[0]
    )
    theme_services.rename_theme(theme=renamed, name="Billing & refunds")
    pinned = Theme.objects.exclude(pk=renamed.pk).first()
    theme_services.set_pinned(theme=pinned, pinned=True)
    source, target = Theme.objects.exclude(pk__in=[renamed.pk, pinned.pk])[:2]
    theme_services.merge_themes(source=source, target=target)
    before = set(Theme.objects.values_list("pk", flat=True))
    # New feedback arrives, with a topic the codebook does not have yet.
    for index in range(40):
        FeedbackFactory(
            text=random.Random(index).choice(
                [
                    "The hotel room was dirty",
                    "Dirty towels in the hotel room",
                    "Hotel room smelled, dirty sheets",
                ]
            )
            + f" number {index}",
            analysed_at=timezone.now(),
        )

    theme_services.discover_themes(k=6, random_state=1)

    renamed.refresh_from_db()
    pinned.refresh_from_db()
    source.refresh_from_db()
    assert renamed.name == "Billing & refunds" and renamed.curated
    assert pinned.pinned
    assert source.status == Theme.Status.MERGED and source.merged_into == target
    assert before <= set(Theme.objects.values_list("pk", flat=True))  # nothing deleted
    proposed = Theme.objects.filter(status=Theme.Status.PROPOSED)
    assert any(
        "hotel" in " ".join(t.top_terms) or "dirty" in " ".join(t.top_terms) for t in proposed
    )
    assert ThemeModel.objects.active().get().version == 2
    # Every surviving theme now lives in the active space.
    assert (
        not Theme.objects.exclude(status=Theme.Status.MERGED)
        .exclude(space_model__version=2)
        .exists()
    )


def test_merge_moves_links_and_keeps_the_higher_score():
    a = Theme.objects.create(name="A", slug="a")
    b = Theme.objects.create(name="B", slug="b")
    shared, only_a = FeedbackFactory(), FeedbackFactory()
    FeedbackTheme.objects.create(feedback=shared, theme=a, score=0.9, source="model")
    FeedbackTheme.objects.create(feedback=shared, theme=b, score=0.4, source="model")
    FeedbackTheme.objects.create(feedback=only_a, theme=a, score=0.5, source="model")
    KeywordRule.objects.create(theme=a, keywords="late")

    theme_services.merge_themes(source=a, target=b)

    assert dict(FeedbackTheme.objects.values_list("feedback_id", "score")) == {
        shared.pk: 0.9,
        only_a.pk: 0.5,
    }
    assert set(FeedbackTheme.objects.values_list("theme_id", flat=True)) == {b.pk}
    assert KeywordRule.objects.get().theme == b
    with pytest.raises(ValidationError):
        theme_services.merge_themes(source=b, target=b)


def test_split_by_keywords_moves_the_matching_members_to_a_new_curated_theme():
    parent = Theme.objects.create(name="Payments", slug="payments")
    refund = FeedbackFactory(text="Still waiting for my refund")
    invoice = FeedbackFactory(text="The invoice total is wrong")
    for row in (refund, invoice):
        FeedbackTheme.objects.create(feedback=row, theme=parent, score=0.5, source="model")

    [child] = theme_services.split_theme(theme=parent, keywords=["refund"], name="Refunds")

    assert child.parent == parent and child.curated
    assert FeedbackTheme.objects.get(feedback=refund).theme == child
    assert FeedbackTheme.objects.get(feedback=invoice).theme == parent
    assert child.keyword_rules.get().keywords == "refund"
    with pytest.raises(ValidationError):
        theme_services.split_theme(theme=parent, keywords=["nothing-matches"], name="X")


def test_split_by_clustering_makes_two_children_and_archives_the_parent():
    _seed()
    theme_services.discover_themes(k=2)
    theme = Theme.objects.annotate(n=Count("feedback_links")).order_by("-n").first()

    children = theme_services.split_theme(theme=theme)

    theme.refresh_from_db()
    assert len(children) == 2 and theme.status == Theme.Status.ARCHIVED
    assert not FeedbackTheme.objects.filter(theme=theme).exists()


def test_rename_refuses_an_empty_or_duplicate_name():
    a = Theme.objects.create(name="Delivery", slug="delivery")
    b = Theme.objects.create(name="Billing", slug="billing")

    with pytest.raises(ValidationError):
        theme_services.rename_theme(theme=a, name="  ")
    with pytest.raises(ValidationError):
        theme_services.rename_theme(theme=a, name="billing")
    theme_services.rename_theme(theme=b, name="Invoices")
    assert Theme.objects.get(pk=b.pk).slug == "invoices"


def test_theme_rollup_equals_a_direct_count_of_links():
    _seed()
    theme_services.discover_themes(k=5)

    theme_services.refresh_daily_theme_stats(days=None)

    for theme in Theme.objects.all():
        direct = FeedbackTheme.objects.filter(theme=theme)
        stats = DailyThemeStat.objects.filter(theme=theme)
        assert sum(s.feedback_count for s in stats) == direct.count()
        assert (
            sum(s.negative_count for s in stats)
            == direct.filter(feedback__sentiment_label="negative").count()
        )
    # NULL products do not duplicate rows: one row per key.
    keys = list(
        DailyThemeStat.objects.values_list("day", "theme", "channel", "product", "customer_kind")
    )
    assert len(keys) == len(set(keys))


def test_dirty_days_recount_the_theme_rollup():
    _seed()
    theme_services.discover_themes(k=5)
    DailyThemeStat.objects.all().delete()
    FeedbackFactory(text="The courier lost my parcel")

    services.analyse_all_pending()

    assert DailyThemeStat.objects.exists()


def test_theme_benchmark_prints_one_json_line(tmp_path):
    texts, labels = planted_corpus(20)
    path = tmp_path / "labelled.csv"
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    out = StringIO()

    call_command("theme_benchmark", "--input", str(path), "--k", "5", stdout=out)

    result = json.loads(out.getvalue().strip())
    assert list(result)[:4] == ["n_themes", "nmi", "ari", "seconds"]
    assert result["n_themes"] == 5 and result["nmi"] >= 0.7


def test_theme_benchmark_explains_unusable_input(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("body\nhello\n")

    with pytest.raises(CommandError, match="missing column"):
        call_command("theme_benchmark", "--input", str(path))
    small = tmp_path / "small.csv"
    small.write_text("text,label\nhello,a\nworld,b\n")
    with pytest.raises(CommandError, match="at least 50"):
        call_command("theme_benchmark", "--input", str(small))


def test_discover_themes_command_reports_the_new_model_and_refuses_too_little_data():
    out = StringIO()
    with pytest.raises(CommandError, match="at least 50"):
        call_command("discover_themes", stdout=out)
    _seed()

    call_command("discover_themes", "--k", "5", stdout=out)

    assert "Theme model v1: 5 themes over 150 feedback" in out.getvalue()


def test_keyword_rules_never_override_a_manual_link():
    theme = Theme.objects.create(name="Refunds", slug="refunds")
    KeywordRule.objects.create(theme=theme, keywords="refund")
    feedback = FeedbackFactory(text="Where is my refund?")
    theme_services.set_manual_theme(feedback=feedback, theme=theme)

    theme_services.apply_keyword_rules_everywhere(theme_id=theme.pk)
    theme_services.assign_themes([feedback.pk])

    link = FeedbackTheme.objects.get(feedback=feedback, theme=theme)
    assert link.source == FeedbackTheme.Source.MANUAL


def test_assignment_without_a_readable_space_still_applies_keyword_rules(settings, tmp_path):
    _seed()
    model = theme_services.discover_themes(k=5)
    (tmp_path / "models" / model.artifact).unlink()
    theme_services._loaded.clear()
    theme = Theme.objects.first()
    KeywordRule.objects.create(theme=theme, keywords="xylophone")
    feedback = FeedbackFactory(text="A xylophone arrived instead of my order")

    services.analyse_pending_batch()

    assert FeedbackTheme.objects.get(feedback=feedback).source == FeedbackTheme.Source.RULE


def test_rediscovery_attaches_a_merged_away_topic_to_the_theme_it_was_merged_into():
    _seed()
    theme_services.discover_themes(k=5)
    source, target, further = _theme_for("refund"), _theme_for("courier"), _theme_for("agent")
    theme_services.merge_themes(source=source, target=target)
    theme_services.merge_themes(source=target, target=further)
    before = Theme.objects.count()

    theme_services.discover_themes(k=5)

    # No duplicate of the merged topics is proposed; their feedback ends in the last target.
    assert Theme.objects.count() == before
    assert not Theme.objects.filter(status=Theme.Status.PROPOSED).exists()
    billing = FeedbackTheme.objects.filter(theme__status=Theme.Status.ACTIVE).filter(
        feedback__text__iregex=r"\m(refund|overcharged|billing)\M"
    )
    assert set(billing.values_list("theme_id", flat=True)) == {further.pk}


def test_merge_chains_point_at_the_last_target_and_merged_themes_keep_their_name(client, manager):
    a, b, c = (Theme.objects.create(name=n, slug=n.lower()) for n in ("A", "B", "C"))
    FeedbackTheme.objects.create(feedback=FeedbackFactory(), theme=a, score=1, source="manual")

    theme_services.merge_themes(source=a, target=b)
    theme_services.merge_themes(source=b, target=c)

    a.refresh_from_db()
    assert a.merged_into == c and a.final_theme() == c
    assert set(FeedbackTheme.objects.values_list("theme_id", flat=True)) == {c.pk}
    with pytest.raises(ValidationError, match="merged theme cannot be renamed"):
        theme_services.rename_theme(theme=a, name="Revived")
    client.force_login(manager)
    page = client.get(f"/insights/themes/{a.pk}/").content.decode()
    assert f'Merged into <a href="/insights/themes/{c.pk}/">C</a>' in page
    response = client.post(f"/insights/themes/{a.pk}/rename/", {"name": "Revived"})
    assert response.status_code == 302 and response["Location"] == f"/insights/themes/{c.pk}/"
    a.refresh_from_db()
    assert a.name == "A"


def test_a_merge_from_a_stale_page_cannot_make_a_cycle():
    a = Theme.objects.create(name="A", slug="a")
    b = Theme.objects.create(name="B", slug="b")
    FeedbackTheme.objects.create(feedback=FeedbackFactory(), theme=a, score=1, source="manual")
    # A second manager loaded both themes before the first merged A into B.
    stale_a, stale_b = Theme.objects.get(pk=a.pk), Theme.objects.get(pk=b.pk)
    theme_services.merge_themes(source=a, target=b)

    with pytest.raises(ValidationError, match="“A” has been merged into another theme"):
        theme_services.merge_themes(source=stale_b, target=stale_a)

    b.refresh_from_db()
    assert b.status == Theme.Status.ACTIVE and b.merged_into is None
    assert set(FeedbackTheme.objects.values_list("theme_id", flat=True)) == {b.pk}


def test_merging_into_an_archived_theme_is_refused():
    a = Theme.objects.create(name="A", slug="a")
    b = Theme.objects.create(name="B", slug="b")
    KeywordRule.objects.create(theme=a, keywords="late")
    theme_services.set_status(theme=b, status=Theme.Status.ARCHIVED)

    with pytest.raises(ValidationError, match="“B” is archived: restore it"):
        theme_services.merge_themes(source=a, target=b)

    a.refresh_from_db()
    assert a.status == Theme.Status.ACTIVE and KeywordRule.objects.get().theme == a


def test_a_merged_theme_cannot_be_pinned_or_split():
    a = Theme.objects.create(name="A", slug="a")
    b = Theme.objects.create(name="B", slug="b")
    FeedbackTheme.objects.create(
        feedback=FeedbackFactory(text="Refund please"), theme=a, score=1, source="model"
    )
    theme_services.merge_themes(source=a, target=b)

    with pytest.raises(ValidationError, match="cannot be pinned"):
        theme_services.set_pinned(theme=a, pinned=True)
    with pytest.raises(ValidationError, match="cannot be split"):
        theme_services.split_theme(theme=a, keywords=["refund"], name="Refunds")
    a.refresh_from_db()
    assert not a.pinned and Theme.objects.count() == 2


@pytest.mark.parametrize(
    ("keywords", "error"),
    [(["*"], "at least two characters"), (["a*"], "at least two"), (["re*und"], "only once")],
)
def test_split_keywords_are_checked_like_any_keyword_rule(keywords, error):
    parent = Theme.objects.create(name="Payments", slug="payments")
    for text in ("Still waiting for my refund", "The invoice total is wrong"):
        FeedbackTheme.objects.create(
            feedback=FeedbackFactory(text=text), theme=parent, score=0.5, source="model"
        )

    with pytest.raises(ValidationError, match=error):
        theme_services.split_theme(theme=parent, keywords=keywords, name="Refunds")

    # No rule that matches every text, no member moved.
    assert Theme.objects.count() == 1 and not KeywordRule.objects.exists()
    assert set(FeedbackTheme.objects.values_list("theme_id", flat=True)) == {parent.pk}


def test_split_by_keywords_keeps_a_manual_link_manual(django_capture_on_commit_callbacks):
    parent = Theme.objects.create(name="Payments", slug="payments")
    by_hand = FeedbackFactory(text="Refund me now")
    by_model = FeedbackFactory(text="Where is my refund?")
    theme_services.set_manual_theme(feedback=by_hand, theme=parent)
    FeedbackTheme.objects.create(feedback=by_model, theme=parent, score=0.42, source="model")

    [child] = theme_services.split_theme(theme=parent, keywords=["refund"], name="Refunds")

    links = {link.feedback_id: link for link in FeedbackTheme.objects.filter(theme=child)}
    assert (links[by_hand.pk].source, links[by_hand.pk].score) == ("manual", 1.0)
    assert (links[by_model.pk].source, links[by_model.pk].score) == ("rule", 1.0)
    with django_capture_on_commit_callbacks():
        theme_services.delete_keyword_rule(rule=child.keyword_rules.get())
    # Without the rule its links go; the one made by hand stays.
    assert list(
        FeedbackTheme.objects.filter(theme=child).values_list("feedback_id", flat=True)
    ) == [by_hand.pk]


def test_removing_a_rule_recounts_the_theme_rollup_of_the_days_it_emptied(
    django_capture_on_commit_callbacks,
):
    from insights.theme_selectors import codebook

    theme = Theme.objects.create(name="Vouchers", slug="vouchers")
    FeedbackFactory(
        text="My voucher is missing", received_at=timezone.now() - dt.timedelta(days=30)
    )
    with django_capture_on_commit_callbacks():
        rule = theme_services.add_keyword_rule(theme=theme, keywords="voucher")
    apply_keyword_rules_task(theme.pk)  # what the worker runs
    assert [row["volume"] for row in codebook() if row["theme"] == theme] == [1]

    with django_capture_on_commit_callbacks():
        theme_services.delete_keyword_rule(rule=rule)

    assert not DailyThemeStat.objects.filter(theme=theme).exists()
    assert [row["volume"] for row in codebook() if row["theme"] == theme] == [0]


def test_rediscovery_keeps_a_rename_made_while_it_ran():
    from django.db import connection

    _seed()
    theme_services.discover_themes(k=5)
    theme = Theme.objects.filter(curated=False).first()
    renamed = []

    def manager_renames_meanwhile(execute, sql, params, many, context):
        # Once the fitting is done and the new model is being saved, a manager renames.
        if not renamed and 'INSERT INTO "insights_thememodel"' in sql:
            renamed.append(theme.pk)
            theme_services.rename_theme(
                theme=Theme.objects.get(pk=theme.pk), name="Renamed while discovery ran"
            )
        return execute(sql, params, many, context)

    with connection.execute_wrapper(manager_renames_meanwhile):
        theme_services.discover_themes(k=5)

    theme.refresh_from_db()
    assert renamed == [theme.pk]
    assert (theme.name, theme.curated) == ("Renamed while discovery ran", True)


def test_discovery_never_gives_a_new_theme_a_name_the_codebook_has():
    _seed()
    theme_services.discover_themes(k=5)
    name = Theme.objects.order_by("pk").first().name
    Theme.objects.all().delete()
    ThemeModel.objects.all().delete()
    # A manager's theme, without feedback or terms yet, already has that name.
    Theme.objects.create(name=name.upper(), slug="kept", curated=True)

    theme_services.discover_themes(k=5)

    names = [n.lower() for n in Theme.objects.values_list("name", flat=True)]
    assert len(names) == len(set(names)) == 6
    assert Theme.objects.filter(name=f"{name} (2)", status=Theme.Status.PROPOSED).exists()


def test_a_second_split_by_clustering_names_its_themes_apart():
    _seed()
    theme_services.discover_themes(k=2)
    theme = Theme.objects.annotate(n=Count("feedback_links")).order_by("-n").first()
    first = theme_services.split_theme(theme=theme)
    # The manager restores the theme, archives the two parts and moves their feedback back.
    theme_services.set_status(theme=theme, status=Theme.Status.ACTIVE)
    for child in first:
        theme_services.set_status(theme=child, status=Theme.Status.ARCHIVED)
    FeedbackTheme.objects.filter(theme__in=first).update(theme=theme)

    second = theme_services.split_theme(theme=theme)

    assert sorted(child.name for child in second) == sorted(f"{c.name} (2)" for c in first)


def test_restoring_a_theme_applies_its_rules_to_feedback_that_came_while_archived(
    django_capture_on_commit_callbacks,
):
    theme = Theme.objects.create(name="Vouchers", slug="vouchers")
    KeywordRule.objects.create(theme=theme, keywords="voucher")
    theme_services.set_status(theme=theme, status=Theme.Status.ARCHIVED)
    meanwhile = FeedbackFactory(text="The voucher did not work")
    services.analyse_pending_batch()
    assert not FeedbackTheme.objects.filter(feedback=meanwhile).exists()

    with django_capture_on_commit_callbacks() as callbacks:
        theme_services.set_status(theme=theme, status=Theme.Status.ACTIVE)

    assert len(callbacks) == 1  # the re-application is queued after commit
    apply_keyword_rules_task(theme.pk)  # what the worker runs
    assert FeedbackTheme.objects.get(feedback=meanwhile, theme=theme).source == "rule"


def test_after_a_merge_the_merged_topic_keeps_landing_in_the_target():
    _seed()
    theme_services.discover_themes(k=5)
    source, target = _theme_for("refund"), _theme_for("courier")
    members = list(
        FeedbackTheme.objects.filter(theme=source, source="model").values_list(
            "feedback_id", flat=True
        )
    )
    theme_services.merge_themes(source=source, target=target)
    new = FeedbackFactory(text="I was overcharged again, the refund for my card never came")

    services.analyse_pending_batch()
    # A re-score (a new sentiment model) assigns the old feedback again.
    theme_services.assign_themes(members)

    assert FeedbackTheme.objects.filter(feedback=new, theme=target).exists()
    assert FeedbackTheme.objects.filter(theme=target, feedback_id__in=members).count() == len(
        members
    )


def test_feedback_split_off_by_keywords_stays_out_of_the_parent_when_assigned_again(
    django_capture_on_commit_callbacks,
):
    _seed()
    theme_services.discover_themes(k=5)
    parent = _theme_for("refund")
    [child] = theme_services.split_theme(theme=parent, keywords=["refund*"], name="Refunds")
    moved = list(FeedbackTheme.objects.filter(theme=child).values_list("feedback_id", flat=True))
    new = FeedbackFactory(text="I was overcharged again, the refund for my card never came")
    other = FeedbackFactory(text="I was overcharged again, the invoice for my card was wrong")

    services.analyse_pending_batch()
    # A re-score (a new sentiment model) assigns the old feedback again.
    theme_services.assign_themes(moved)

    assert set(FeedbackTheme.objects.filter(feedback=new).values_list("theme", flat=True)) >= {
        child.pk
    }
    assert not FeedbackTheme.objects.filter(feedback=new, theme=parent).exists()
    assert not FeedbackTheme.objects.filter(feedback_id__in=moved, theme=parent).exists()
    assert FeedbackTheme.objects.filter(feedback=other, theme=parent).exists()
    # A keyword added to the child later moves what it matches out of the parent too.
    with django_capture_on_commit_callbacks():
        theme_services.add_keyword_rule(theme=child, keywords="invoice")
    apply_keyword_rules_task(child.pk)  # what the worker runs
    assert FeedbackTheme.objects.get(feedback=other, theme=child).source == "rule"
    assert not FeedbackTheme.objects.filter(feedback=other, theme=parent).exists()


def test_a_discovery_is_skipped_while_another_one_runs(postgres_required):
    from django.db import connections

    _seed()
    # The other discovery: a second database session holding the discovery lock.
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [theme_services._DISCOVERY_LOCK_ID])

        with pytest.raises(theme_services.ThemeDiscoveryError, match="Another theme discovery"):
            theme_services.discover_themes(k=5)
    finally:
        other.close()

    assert not ThemeModel.objects.exists()
    theme_services.discover_themes(k=5)  # the lock went with the other session
    assert ThemeModel.objects.get().version == 1


def test_split_by_clustering_says_why_it_cannot_split(settings):
    _seed()
    theme_services.discover_themes(k=2)
    theme = Theme.objects.annotate(n=Count("feedback_links")).order_by("-n").first()
    # Members all saying the same: k-means finds one group, not two.
    Feedback.objects.filter(themes__theme=theme).update(text="The parcel never arrived")
    with pytest.raises(ValidationError, match="too alike to split in two"):
        theme_services.split_theme(theme=theme)
    assert Theme.objects.get(pk=theme.pk).status != Theme.Status.ARCHIVED

    # The model's file gone (a clean-up, a restore from an older backup).
    (settings.SENTIMENT_MODEL_DIR / theme.space_model.artifact).unlink()
    theme_services._loaded.clear()
    with pytest.raises(ValidationError, match="cannot be read any more"):
        theme_services.split_theme(theme=theme)
