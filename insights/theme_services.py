"""Theme writes: discover, assign new feedback incrementally, keep the theme rollup, and
the codebook operations managers use (rename, merge, split, pin, archive, keyword rules)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils.text import slugify

from feedback.models import Feedback
from feedback.privacy import masked_for_processing

from .analysis import themes as analysis
from .models import (
    AnalysisRun,
    DailyThemeSegmentStat,
    DailyThemeStat,
    FeedbackTheme,
    KeywordRule,
    Theme,
    ThemeModel,
)
from .scoring import model_dir
from .selectors import (
    ROLLUP_SUMS,
    SCORE_SUMS,
    answer_counters,
    feedback_counters,
    utc_day_filter,
)

logger = logging.getLogger(__name__)

# Discovery reads the newest analysed feedback, at most this many rows.
DISCOVERY_SAMPLE = 20_000
# Cosine between a discovered cluster and an existing theme from which they are the same.
MATCH_SIMILARITY = 0.6
# Members used to re-express an existing theme in a new space.
MEMBERS_FOR_CENTROID = 300
RULE_SCORE = 1.0
MANUAL_SCORE = 1.0
REAPPLY_BATCH = 2_000
_THEME_STATS_LOCK_ID = 7_304_212
_DISCOVERY_LOCK_ID = 7_304_213


class ThemeDiscoveryError(Exception):
    """Discovery cannot run (too little feedback); the message says why."""


# --- the active space, loaded once per process --------------------------------------------

_lock = threading.Lock()
_loaded: dict[tuple, analysis.ThemeSpace | None] = {}


def space_for(model: ThemeModel) -> analysis.ThemeSpace | None:
    """The fitted space of ``model``, loaded once per process; None (logged once) when its
    file cannot be read — assignment then applies keyword rules only, and never stops."""
    # Keyed by more than the version: a recreated database starts at version 1 again.
    key = (model.pk, model.version, model.artifact, model.trained_at)
    with _lock:
        if key not in _loaded:
            try:
                space = analysis.load(model_dir() / model.artifact)
            except Exception:
                logger.exception("cannot load theme space v%s; keyword rules only", model.version)
                space = None
            _loaded.clear()
            _loaded[key] = space
        return _loaded[key]


# --- discovery -----------------------------------------------------------------------------


def discover_themes(
    *, k: int | None = None, sample_size: int = DISCOVERY_SAMPLE, random_state: int = 0
) -> ThemeModel:
    """Discover themes in the newest analysed feedback and save them as a new theme model.

    Existing themes are matched to the new clusters by centroid similarity: a matched
    theme that no manager curated takes the cluster's terms and quotes; a curated one keeps
    everything a manager set. Unmatched clusters become new themes — *active* on the first
    run, *proposed* afterwards, for a manager to accept or archive. No theme is renamed if
    curated, and none is deleted. The sample is then assigned with the new centroids.

    Raises :class:`ThemeDiscoveryError` when there are fewer than
    :data:`analysis.MIN_TEXTS` texts or another discovery is running,
    ``ValueError`` for an impossible ``k``.
    """
    with _one_discovery_at_a_time():
        return _discover_themes(k=k, sample_size=sample_size, random_state=random_state)


@contextmanager
def _one_discovery_at_a_time():
    """A session advisory lock on PostgreSQL: two discoveries at once (the nightly one and a
    manager's, or two training workers) would take the same version, and the one that
    failed to save it would still have written its space over the artifact of the other."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_DISCOVERY_LOCK_ID])
        (locked,) = cursor.fetchone()
    if not locked:
        raise ThemeDiscoveryError("Another theme discovery is running; this one was skipped.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_DISCOVERY_LOCK_ID])


def _discover_themes(*, k: int | None, sample_size: int, random_state: int) -> ThemeModel:
    rows = list(
        _discovery_rows()
        .order_by("-received_at", "-id")
        .values_list("id", "text", "received_at")[:sample_size]
    )
    if len(rows) < analysis.MIN_TEXTS:
        raise ThemeDiscoveryError(_too_few_texts(len(rows)))
    ids = [row[0] for row in rows]
    texts = [masked_for_processing(row[1]) for row in rows]
    try:
        found = analysis.discover(texts, k=k, random_state=random_state)
    except analysis.TooFewTextsError as exc:
        raise ThemeDiscoveryError(str(exc)) from exc
    version = (ThemeModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    artifact = f"themes-v{version}.joblib"
    analysis.dump(found.space, model_dir() / artifact)

    existing = list(Theme.objects.exclude(status=Theme.Status.MERGED))
    # A cluster like a theme a manager merged away belongs to the theme it was merged into:
    # merged themes take part in matching (by their terms) but resolve to their target.
    merged = list(
        Theme.objects.filter(status=Theme.Status.MERGED, merged_into__isnull=False).select_related(
            "merged_into"
        )
    )
    existing_centroids = _re_express(found.space, [*existing, *merged])
    comparable = [
        theme for theme in [*existing, *merged] if existing_centroids.get(theme.pk) is not None
    ]
    matched = analysis.match_themes(
        np.asarray([existing_centroids[t.pk] for t in comparable], dtype=np.float32).reshape(
            len(comparable), found.space.dimensions
        ),
        np.asarray([t.centroid for t in found.themes], dtype=np.float32),
        min_similarity=MATCH_SIMILARITY,
    )
    first_run = not existing
    with transaction.atomic():
        model = ThemeModel.objects.create(
            version=version,
            pipeline=analysis.pipeline_name(found.space),
            artifact=artifact,
            training_size=len(texts),
            n_themes=found.k,
            metrics={
                "k": found.k,
                "chosen_by": found.chosen_by,
                "silhouette": {str(key): round(value, 4) for key, value in found.scores.items()},
                "seconds": round(found.seconds, 2),
                "matched": len(matched),
                "new": found.k - len(matched),
            },
        )
        ThemeModel.objects.active().exclude(pk=model.pk).update(is_active=False)
        model.is_active = True
        model.save(update_fields=["is_active"])
        # Fitting took a while: a manager may have renamed, curated or merged a theme
        # meanwhile. The themes are read again, locked, so nothing a manager set is lost.
        by_pk = Theme.objects.select_for_update().in_bulk([theme.pk for theme in existing])
        for theme in by_pk.values():
            # Every surviving theme now lives in the new space.
            theme.centroid = existing_centroids.get(theme.pk) or []
            theme.space_model = model
        names = _codebook_names()
        # Matched themes first: one renamed by this run frees its old name.
        for cluster in sorted(range(found.k), key=lambda cluster: cluster not in matched):
            discovered = found.themes[cluster]
            quotes = [ids[i] for i in discovered.quotes]
            if cluster in matched:
                theme = comparable[matched[cluster]]
                theme = by_pk.get(theme.pk, theme)
                if theme.status == Theme.Status.MERGED:
                    final = theme.final_theme()
                    theme = by_pk.get(final.pk, final)
                if not theme.curated:
                    theme.top_terms = discovered.top_terms
                    theme.name = names[theme.pk] = _free_name(discovered.name, names, pk=theme.pk)
                    theme.quotes = quotes
                    theme.centroid = discovered.centroid
            else:
                name = _free_name(discovered.name, names)
                theme = Theme(
                    name=name,
                    slug=_unique_slug(name),
                    top_terms=discovered.top_terms,
                    status=Theme.Status.ACTIVE if first_run else Theme.Status.PROPOSED,
                    created_by_model=model,
                    centroid=discovered.centroid,
                    space_model=model,
                    quotes=quotes,
                )
                theme.save()
                names[theme.pk] = name
        for theme in by_pk.values():
            theme.save(
                update_fields=[
                    "centroid",
                    "space_model",
                    "top_terms",
                    "name",
                    "quotes",
                    "updated_at",
                ]
            )
    # Re-assign the sample in batches: the model's links follow the new centroids.
    for start in range(0, len(ids), REAPPLY_BATCH):
        with transaction.atomic():
            assign_themes(ids[start : start + REAPPLY_BATCH])
    refresh_daily_theme_stats(days={row[2].astimezone(dt.UTC).date() for row in rows})
    return model


def _discovery_rows():
    """The feedback discovery reads: analysed, with a text."""
    return Feedback.objects.filter(analysed_at__isnull=False).exclude(text="")


def _too_few_texts(count: int) -> str:
    return (
        f"Theme discovery needs at least {analysis.MIN_TEXTS} analysed feedback texts; "
        f"there are {count}."
    )


def _re_express(
    space: analysis.ThemeSpace, themes: Sequence[Theme]
) -> dict[int, list[float] | None]:
    """Each theme's centroid in ``space``, from its strongest members (or its terms)."""
    result: dict[int, list[float] | None] = {}
    for theme in themes:
        texts = list(
            Feedback.objects.filter(themes__theme=theme)
            .order_by("-themes__score", "-id")
            .values_list("text", flat=True)[:MEMBERS_FOR_CENTROID]
        )
        if not texts and theme.top_terms:
            texts = [" ".join(theme.top_terms)]
        if not texts:
            texts = [keyword for rule in theme.keyword_rules.all() for keyword in rule.keyword_list]
        result[theme.pk] = analysis.centroid_of(space, [masked_for_processing(t) for t in texts])
    return result


def _codebook_names() -> dict[int, str]:
    """The names a new or renamed theme must not take: of the themes not merged, by pk."""
    return dict(Theme.objects.exclude(status=Theme.Status.MERGED).values_list("pk", "name"))


def _free_name(name: str, names: dict[int, str], *, pk: int | None = None) -> str:
    """``name``, or ``name (2)``, ``name (3)``… when another theme in ``names`` (see
    :func:`_codebook_names`) is called that, case-insensitively: names a manager can tell
    apart, as a rename requires."""
    taken = {other.lower() for key, other in names.items() if key != pk}
    candidate, n = name[:120], 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 120 - len(suffix)] + suffix, n + 1
    return candidate


def _unique_slug(name: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(name)[:120] or "theme"
    slug, n = base, 2
    taken = Theme.objects.exclude(pk=exclude_pk) if exclude_pk else Theme.objects.all()
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


# --- incremental assignment ---------------------------------------------------------------


def keyword_regex(keywords: Iterable[str]) -> str | None:
    """Whole words or phrases, case-insensitive; a trailing ``*`` also matches any word
    ending (``crash*``: crash, crashes, crashed). The syntax reads the same in Python and
    PostgreSQL, so the database can count what a rule matches."""
    words = []
    for keyword in keywords:
        keyword = keyword.strip().lower()
        if keyword.endswith("*"):
            words.append(re.escape(keyword.rstrip("*")) + r"\w*")
        elif keyword:
            words.append(re.escape(keyword))
    if not words:
        return None
    return r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)"


def _keyword_pattern(keywords: Iterable[str]) -> re.Pattern | None:
    regex = keyword_regex(keywords)
    return None if regex is None else re.compile(regex, re.IGNORECASE)


def _rule_patterns() -> list[tuple[int, re.Pattern, int | None]]:
    """Per assignable theme with keyword rules: its id, one pattern of all its keywords and
    the theme it was split off from (None if none): feedback a child's keywords match
    belongs to the child, so the parent's model link to it is dropped."""
    patterns: dict[int, list[str]] = {}
    parents: dict[int, int | None] = {}
    for rule in KeywordRule.objects.filter(
        theme__status__in=[Theme.Status.ACTIVE, Theme.Status.PROPOSED]
    ).select_related("theme"):
        patterns.setdefault(rule.theme_id, []).extend(rule.keyword_list)
        parents[rule.theme_id] = rule.theme.parent_id
    compiled = []
    for theme_id, words in patterns.items():
        pattern = _keyword_pattern(words)
        if pattern is not None:
            compiled.append((theme_id, pattern, parents[theme_id]))
    return compiled


def assign_themes(feedback_ids: Sequence[int], *, texts: Sequence[str] | None = None) -> int:
    """(Re)assign themes to these feedback rows; return how many links were written.

    Model links come from the active theme space (cosine to each assignable theme's
    centroid above the threshold, at most three); keyword rules always apply; manual links
    are never touched. ``texts``, when given, are the rows' texts in the same order (the
    analysis batch has them already). Called inside the analysis batch's transaction, so a
    batch's sentiment and themes are committed together.
    """
    if not feedback_ids:
        return 0
    if texts is None:
        by_id = dict(Feedback.objects.filter(pk__in=feedback_ids).values_list("id", "text"))
        rows = [(pk, masked_for_processing(by_id[pk])) for pk in feedback_ids if pk in by_id]
    else:
        rows = list(zip(feedback_ids, texts, strict=True))
    if not rows:
        return 0
    links: dict[tuple[int, int], tuple[float, str]] = {}
    model = ThemeModel.objects.active().first()
    space = space_for(model) if model else None
    if space is not None:
        themes = _assignment_centroids(model)
        if themes:
            centroids = np.asarray([centroid for _, centroid in themes], dtype=np.float32)
            assigned = analysis.assign(space, centroids, [text for _, text in rows])
            for (feedback_id, _), pairs in zip(rows, assigned, strict=True):
                # Best first: where two centroids stand for one theme, the higher score stays.
                for index, score in pairs:
                    links.setdefault(
                        (feedback_id, themes[index][0]), (score, FeedbackTheme.Source.MODEL)
                    )
    for theme_id, pattern, parent_id in _rule_patterns():
        for feedback_id, text in rows:
            if pattern.search(text or ""):
                links[(feedback_id, theme_id)] = (RULE_SCORE, FeedbackTheme.Source.RULE)
                parent_link = links.get((feedback_id, parent_id))
                if parent_link and parent_link[1] == FeedbackTheme.Source.MODEL:
                    del links[(feedback_id, parent_id)]
    _delete_unmanual_links([row[0] for row in rows])
    _insert_links([(f, t, score, source) for (f, t), (score, source) in links.items()])
    return len(links)


def _assignment_centroids(model: ThemeModel) -> list[tuple[int, list[float]]]:
    """(theme to link, centroid) in ``model``'s space: every assignable theme's own, and
    every merged-away theme's standing for the theme it was merged into (the end of the
    chain, if that one takes feedback), so that its topic keeps landing there — in new
    feedback and when a re-score assigns old feedback again."""
    in_space = Theme.objects.filter(space_model=model)
    pairs = [
        (theme_id, centroid)
        for theme_id, centroid in in_space.assignable().values_list("id", "centroid")
        if centroid
    ]
    assignable = {theme_id for theme_id, _ in pairs}
    for theme in in_space.filter(status=Theme.Status.MERGED).select_related("merged_into"):
        final = theme.final_theme()
        if theme.centroid and final.pk in assignable:
            pairs.append((final.pk, theme.centroid))
    return pairs


def _delete_unmanual_links(feedback_ids: list[int]) -> None:
    # Raw SQL: resolving a 500-id IN lookup through the ORM cost more than the DELETE.
    meta = FeedbackTheme._meta
    table = connection.ops.quote_name(meta.db_table)
    column = connection.ops.quote_name(meta.get_field("feedback").column)
    source = connection.ops.quote_name(meta.get_field("source").column)
    chunk = 5000 if connection.vendor == "postgresql" else 900
    with connection.cursor() as cursor:
        for start in range(0, len(feedback_ids), chunk):
            part = feedback_ids[start : start + chunk]
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(part))}) "
                f"AND {source} <> %s",
                [*part, FeedbackTheme.Source.MANUAL.value],
            )


def _insert_links(values: list[tuple[int, int, float, str]]) -> None:
    """INSERT … ON CONFLICT DO NOTHING in multi-row statements: a manual link on the same
    theme wins. bulk_create() spent most of its time building model instances."""
    if not values:
        return
    meta = FeedbackTheme._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(name).column)
        for name in ("feedback", "theme", "score", "source")
    )
    # SQLite builds may cap a statement at 999 parameters.
    chunk = 2000 if connection.vendor == "postgresql" else 240
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            placeholders = ", ".join(["(%s, %s, %s, %s)"] * len(part))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {placeholders} ON CONFLICT DO NOTHING",
                [value for row in part for value in row],
            )


def apply_keyword_rules(
    *, theme_id: int | None = None, after_id: int = 0, limit: int = REAPPLY_BATCH
) -> int:
    """Apply the keyword rules (of one theme, or all) to existing feedback after
    ``after_id``, at most ``limit`` rows; return the last id done (0 when finished)."""
    rows = list(
        Feedback.objects.filter(pk__gt=after_id).order_by("pk").values_list("id", "text")[:limit]
    )
    if not rows:
        return 0
    patterns = [rule for rule in _rule_patterns() if theme_id is None or rule[0] == theme_id]
    with transaction.atomic():
        for rule_theme, pattern, parent_id in patterns:
            matching = [feedback_id for feedback_id, text in rows if pattern.search(text or "")]
            if not matching:
                continue
            if parent_id is not None:
                FeedbackTheme.objects.filter(
                    theme_id=parent_id, feedback_id__in=matching, source=FeedbackTheme.Source.MODEL
                ).delete()
            # A rule turns the model's link into a rule link; a manual link stays manual.
            FeedbackTheme.objects.filter(
                theme_id=rule_theme, feedback_id__in=matching, source=FeedbackTheme.Source.MODEL
            ).update(source=FeedbackTheme.Source.RULE, score=RULE_SCORE)
            FeedbackTheme.objects.bulk_create(
                [
                    FeedbackTheme(
                        feedback_id=feedback_id,
                        theme_id=rule_theme,
                        score=RULE_SCORE,
                        source=FeedbackTheme.Source.RULE,
                    )
                    for feedback_id in matching
                ],
                batch_size=2000,
                ignore_conflicts=True,
            )
    return rows[-1][0]


def apply_keyword_rules_everywhere(*, theme_id: int | None = None) -> int:
    """Walk all feedback in batches; return how many batches were applied."""
    after, scanned = 0, 0
    while True:
        last = apply_keyword_rules(theme_id=theme_id, after_id=after)
        if not last:
            break
        scanned += 1
        after = last
    days = _days_with_theme(theme_id) if theme_id else None
    refresh_daily_theme_stats(days=days)
    return scanned


def _days_with_theme(theme_id: int, *, source: str | None = None) -> list[dt.date]:
    """The UTC days of the feedback linked to the theme (by ``source`` only, if given)."""
    links = {"themes__theme_id": theme_id}
    if source is not None:
        links["themes__source"] = source
    return list(
        Feedback.objects.filter(**links)
        .annotate(day=TruncDate("received_at", tzinfo=dt.UTC))
        .values_list("day", flat=True)
        .distinct()
    )


# --- the theme rollup ----------------------------------------------------------------------


def _theme_link_counts(days, *, segment_ids=None, by_segment: bool = False):
    """The feedback counters of the theme links (merged themes left out) per UTC day,
    theme, channel, product and customer kind, and the customer's segment when
    ``by_segment`` (only ``segment_ids`` if given)."""
    links = FeedbackTheme.objects.exclude(theme__status=Theme.Status.MERGED)
    if days is not None:
        links = links.filter(utc_day_filter("feedback__received_at", days, None))
    groups = ["day", "theme_id", "channel", "product_id_", "kind"]
    if segment_ids is not None:
        links = links.filter(feedback__customer__segments__in=segment_ids)
    if by_segment:
        links = links.annotate(segment_id=F("feedback__customer__segments")).filter(
            segment_id__isnull=False
        )
        groups.append("segment_id")
    return (
        links.annotate(
            day=TruncDate("feedback__received_at", tzinfo=dt.UTC),
            channel=F("feedback__channel"),
            product_id_=F("feedback__product_id"),
            kind=Coalesce(F("feedback__customer__kind"), Value("external")),
        )
        .values(*groups)
        .annotate(**feedback_counters(via="feedback__"))
        .order_by()
    )


# From a theme link on survey feedback: the response the feedback answers, and that
# response's answers.
_RESPONSE = "feedback__survey_answer__response__"
_RESPONSE_ANSWERS = f"{_RESPONSE}answers__"


def _theme_score_counts(days, *, segment_ids=None, by_segment: bool = False):
    """The survey-score counters per theme, keyed as the daily rollup keys scores (UTC
    day of submission, survey product, respondent kind; the respondent's segment when
    ``by_segment``, only ``segment_ids`` if given).

    A response's NPS / CSAT / CES answers count once for each theme that any of its text
    answers' feedback (channel survey) carries: of the links of one response to one
    theme only the one on the lowest feedback id is kept, then its response's scored
    answers are counted. Merged themes are left out, as for the feedback counters."""
    from surveys.models import Question

    earlier_link_of_the_response = FeedbackTheme.objects.filter(
        theme_id=OuterRef("theme_id"),
        feedback__channel=Feedback.Channel.SURVEY,
        feedback__survey_answer__response_id=OuterRef(f"{_RESPONSE}id"),
        feedback_id__lt=OuterRef("feedback_id"),
    )
    links = FeedbackTheme.objects.exclude(theme__status=Theme.Status.MERGED).filter(
        feedback__channel=Feedback.Channel.SURVEY,
        feedback__survey_answer__isnull=False,
    )
    links = links.filter(~Exists(earlier_link_of_the_response))
    if days is not None:
        links = links.filter(utc_day_filter(f"{_RESPONSE}submitted_at", days, None))
    groups = ["day", "theme_id", "product_id_", "kind"]
    if segment_ids is not None:
        links = links.filter(**{f"{_RESPONSE}customer__segments__in": segment_ids})
    if by_segment:
        links = links.annotate(segment_id=F(f"{_RESPONSE}customer__segments")).filter(
            segment_id__isnull=False
        )
        groups.append("segment_id")
    # Filtered before the counters are annotated, so they count these answers only.
    links = links.filter(
        **{
            f"{_RESPONSE_ANSWERS}question__kind__in": [
                Question.Kind.NPS,
                Question.Kind.CSAT,
                Question.Kind.CES,
            ],
            f"{_RESPONSE_ANSWERS}number__isnull": False,
        }
    )
    return (
        links.annotate(
            day=TruncDate(f"{_RESPONSE}submitted_at", tzinfo=dt.UTC),
            product_id_=F(f"{_RESPONSE}survey__product_id"),
            kind=Coalesce(F(f"{_RESPONSE}customer__kind"), F(f"{_RESPONSE}survey__audience")),
        )
        .values(*groups)
        .annotate(**answer_counters(via=_RESPONSE_ANSWERS))
        .order_by()
    )


def _theme_rollup_rows(days, *, segment_ids=None, by_segment: bool = False) -> list[dict]:
    """The theme rollup's rows (model fields, ``segment_id`` when ``by_segment``): the
    feedback counters of the theme links merged with the survey scores per theme."""
    dimensions = ["day", "theme_id", "channel", "product_id", "customer_kind"]
    if by_segment:
        dimensions.append("segment_id")
    merged: dict[tuple, dict] = {}
    for row in _theme_link_counts(days, segment_ids=segment_ids, by_segment=by_segment):
        fields = {
            "day": row["day"],
            "theme_id": row["theme_id"],
            "channel": row["channel"],
            "product_id": row["product_id_"],
            "customer_kind": row["kind"],
            **{name: row[name] for name in ROLLUP_SUMS if name in row},
        }
        if by_segment:
            fields["segment_id"] = row["segment_id"]
        merged[tuple(fields[name] for name in dimensions)] = fields
    scores = _theme_score_counts(days, segment_ids=segment_ids, by_segment=by_segment)
    for row in scores:
        fields = {
            "day": row["day"],
            "theme_id": row["theme_id"],
            "channel": Feedback.Channel.SURVEY,
            "product_id": row["product_id_"],
            "customer_kind": row["kind"],
        }
        if by_segment:
            fields["segment_id"] = row["segment_id"]
        target = merged.setdefault(tuple(fields[name] for name in dimensions), fields)
        for name in SCORE_SUMS:
            target[name] = row[name]
    return [
        {**fields, **{name: fields.get(name) or 0 for name in ROLLUP_SUMS}}
        for fields in merged.values()
    ]


def _lock_theme_stats() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_THEME_STATS_LOCK_ID])


def refresh_daily_theme_stats(*, days: Iterable[dt.date] | None = None) -> int:
    """Recount :class:`DailyThemeStat` and :class:`DailyThemeSegmentStat` for the given
    UTC days (all when None) in one transaction; return the theme rows written."""
    from .services import bump_rollup_version, replace_rollup_rows

    if days is not None:
        days = sorted(set(days))
        if not days:
            return 0
    with transaction.atomic():
        _lock_theme_stats()
        stats = [DailyThemeStat(**fields) for fields in _theme_rollup_rows(days)]
        replace_rollup_rows(DailyThemeStat, stats, days=days)
        refresh_daily_theme_segment_stats(days=days)
        bump_rollup_version()
    return len(stats)


def refresh_daily_theme_segment_stats(
    *, days: Iterable[dt.date] | None = None, segment_ids: Iterable[int] | None = None
) -> int:
    """Recount :class:`DailyThemeSegmentStat` for the given UTC days and segments (all
    when None); return the rows written. The caller bumps the rollup version."""
    from .services import replace_rollup_rows

    if days is not None:
        days = sorted(set(days))
    if segment_ids is not None:
        segment_ids = sorted(set(segment_ids))
    if days == [] or segment_ids == []:
        return 0
    with transaction.atomic():
        _lock_theme_stats()
        stats = [
            DailyThemeSegmentStat(**fields)
            for fields in _theme_rollup_rows(days, segment_ids=segment_ids, by_segment=True)
        ]
        replace_rollup_rows(DailyThemeSegmentStat, stats, days=days, segment_ids=segment_ids)
    return len(stats)


# --- codebook --------------------------------------------------------------------------------


def _validated_name(name: str, *, exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": ["Give the theme a name."]})
    if len(name) > 120:
        raise ValidationError({"name": ["At most 120 characters."]})
    clash = Theme.objects.filter(name__iexact=name).exclude(status=Theme.Status.MERGED)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": [f'A theme named "{name}" already exists.']})
    return name


def rename_theme(*, theme: Theme, name: str) -> Theme:
    """Rename ``theme``; it becomes curated, so re-discovery keeps the name. Raises
    ``ValidationError`` for a merged theme (its feedback lives in another theme)."""
    if theme.status == Theme.Status.MERGED:
        raise ValidationError({"name": ["A merged theme cannot be renamed."]})
    theme.name = _validated_name(name, exclude_pk=theme.pk)
    theme.slug = _unique_slug(theme.name, exclude_pk=theme.pk)
    theme.curated = True
    theme.save(update_fields=["name", "slug", "curated", "updated_at"])
    return theme


def set_pinned(*, theme: Theme, pinned: bool) -> Theme:
    """Pin or unpin ``theme``; it becomes curated. Raises ``ValidationError`` for a merged
    theme."""
    if theme.status == Theme.Status.MERGED:
        raise ValidationError({"pinned": ["A merged theme cannot be pinned."]})
    theme.pinned = pinned
    theme.curated = True
    theme.save(update_fields=["pinned", "curated", "updated_at"])
    return theme


def set_status(*, theme: Theme, status: str) -> Theme:
    """Accept a proposed theme (active), archive one, or restore an archived one. A
    restored theme's keyword rules are applied again in the background: feedback that
    came while it was archived did not get it."""
    if status not in (Theme.Status.ACTIVE, Theme.Status.ARCHIVED):
        raise ValidationError({"status": ["Choose active or archived."]})
    if theme.status == Theme.Status.MERGED:
        raise ValidationError({"status": ["A merged theme cannot change status."]})
    restored = theme.status == Theme.Status.ARCHIVED and status == Theme.Status.ACTIVE
    with transaction.atomic():
        theme.status = status
        theme.curated = True
        theme.save(update_fields=["status", "curated", "updated_at"])
        if restored and theme.keyword_rules.exists():
            transaction.on_commit(lambda: _enqueue_rules(theme.pk))
    return theme


def merge_themes(*, source: Theme, target: Theme) -> Theme:
    """Move every link of ``source`` to ``target`` (keeping the higher score per feedback),
    move its keyword rules, mark ``source`` merged, and re-point themes merged into
    ``source`` before to ``target``. Returns ``target``.

    Both rows are locked and their status read again first, so two managers merging A
    into B and B into A at once cannot make a cycle. Raises ``ValidationError`` when
    either theme is merged already or ``target`` is archived (its rules would not apply).
    """
    if source.pk == target.pk:
        raise ValidationError({"target": ["Choose another theme to merge into."]})
    with transaction.atomic():
        current_status = dict(
            Theme.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
            .values_list("pk", "status")
        )
        if len(current_status) < 2:
            raise ValidationError({"target": ["That theme no longer exists."]})
        source.status, target.status = current_status[source.pk], current_status[target.pk]
        if source.status == Theme.Status.MERGED:
            raise ValidationError({"target": [f"“{source.name}” is merged already."]})
        if target.status == Theme.Status.MERGED:
            raise ValidationError(
                {"target": [f"“{target.name}” has been merged into another theme meanwhile."]}
            )
        if target.status == Theme.Status.ARCHIVED:
            raise ValidationError(
                {"target": [f"“{target.name}” is archived: restore it before merging into it."]}
            )
        links = list(FeedbackTheme.objects.filter(theme=source))
        current = {
            link.feedback_id: link
            for link in FeedbackTheme.objects.filter(
                theme=target, feedback_id__in=[link.feedback_id for link in links]
            )
        }
        to_update = []
        for link in links:
            kept = current.get(link.feedback_id)
            if kept is None:
                continue
            if link.score > kept.score:
                kept.score = link.score
                to_update.append(kept)
        FeedbackTheme.objects.bulk_update(to_update, ["score"], batch_size=1000)
        FeedbackTheme.objects.filter(theme=source, feedback_id__in=list(current)).delete()
        FeedbackTheme.objects.filter(theme=source).update(theme=target)
        KeywordRule.objects.filter(theme=source).update(theme=target)
        # Themes merged into the source earlier now point at where their feedback is.
        Theme.objects.filter(merged_into=source).update(merged_into=target)
        source.status = Theme.Status.MERGED
        source.merged_into = target
        source.curated = True
        source.save(update_fields=["status", "merged_into", "curated", "updated_at"])
        target.curated = True
        target.save(update_fields=["curated", "updated_at"])
        days = _days_with_theme(target.pk)
        DailyThemeStat.objects.filter(theme=source).delete()
    refresh_daily_theme_stats(days=days)
    return target


def split_theme(*, theme: Theme, keywords: Sequence[str] = (), name: str = "") -> list[Theme]:
    """Split ``theme``: members mentioning ``keywords`` move to a new theme named ``name``
    (with a keyword rule), or, without keywords, its members are re-clustered into two.

    Returns the new theme(s). Raises ``ValidationError`` when nothing would move,
    ``theme`` is merged (its feedback lives in another theme), or a ``name`` comes
    without keywords (the clustering split names its two parts itself).
    """
    if theme.status == Theme.Status.MERGED:
        raise ValidationError({"keywords": ["A merged theme cannot be split."]})
    if any(keyword.strip() for keyword in keywords):
        # The keywords become the new theme's rule: the same checks as any rule's.
        keywords = _validated_keywords(keywords)
    elif name.strip():
        # Most likely the keywords were forgotten: clustering would archive this theme.
        raise ValidationError(
            {"keywords": [f"Give the keywords of the feedback to move to “{name.strip()}”."]}
        )
    else:
        keywords = []
    members = list(
        FeedbackTheme.objects.filter(theme=theme).values_list(
            "feedback_id", "feedback__text", "score"
        )
    )
    if keywords:
        name = _validated_name(name or ", ".join(keywords))
        pattern = _keyword_pattern(keywords)
        moving = [fid for fid, text, _ in members if pattern.search(text or "")]
        if not moving:
            raise ValidationError(
                {"keywords": ["No feedback of this theme mentions these keywords."]}
            )
        with transaction.atomic():
            child = Theme.objects.create(
                name=name,
                slug=_unique_slug(name),
                top_terms=keywords,
                parent=theme,
                status=Theme.Status.ACTIVE,
                curated=True,
                space_model=theme.space_model,
                centroid=[],
            )
            KeywordRule.objects.create(theme=child, keywords=", ".join(keywords))
            FeedbackTheme.objects.filter(theme=theme, feedback_id__in=moving).update(theme=child)
            # The moved links are the new rule's now (score 1, as rules give); a link a
            # manager made by hand stays manual, so removing the rule keeps it.
            FeedbackTheme.objects.filter(theme=child).exclude(
                source=FeedbackTheme.Source.MANUAL
            ).update(source=FeedbackTheme.Source.RULE, score=RULE_SCORE)
            theme.curated = True
            theme.save(update_fields=["curated", "updated_at"])
            _refresh_quotes(child)
        refresh_daily_theme_stats(days=_days_with_theme(child.pk))
        return [child]
    if len(members) < 4:
        raise ValidationError(
            {"keywords": ["Give keywords: this theme has too few members to split by clustering."]}
        )
    model = theme.space_model
    space = space_for(model) if model else None
    if space is None:
        raise ValidationError(
            {
                "keywords": [
                    "Give keywords: the theme model this theme was found with cannot be read "
                    "any more, so its members cannot be clustered (a discovery makes a new one)."
                ]
            }
        )
    texts = [text for _, text, _ in members]
    vectors = space.transform(texts)
    labels = analysis.split_vectors(vectors)
    if len(set(labels.tolist())) < 2:
        raise ValidationError(
            {"keywords": ["Give keywords: this theme's members are too alike to split in two."]}
        )
    children = []
    with transaction.atomic():
        names = _codebook_names()
        for part in (0, 1):
            indices = np.flatnonzero(labels == part)
            part_texts = [texts[i] for i in indices]
            terms = _terms_of(space, part_texts)
            child_name = _free_name(
                f"{theme.name} — {analysis.theme_name(terms, words=2)}"
                if terms
                else f"{theme.name} ({part + 1})",
                names,
            )
            centroid = analysis.centroid_of(space, part_texts) or []
            child = Theme.objects.create(
                name=child_name,
                slug=_unique_slug(child_name),
                top_terms=terms,
                parent=theme,
                status=Theme.Status.ACTIVE,
                curated=True,
                space_model=model,
                centroid=centroid,
            )
            names[child.pk] = child_name
            FeedbackTheme.objects.filter(
                theme=theme, feedback_id__in=[members[i][0] for i in indices]
            ).update(theme=child)
            _refresh_quotes(child)
            children.append(child)
        theme.status = Theme.Status.ARCHIVED
        theme.curated = True
        theme.save(update_fields=["status", "curated", "updated_at"])
        DailyThemeStat.objects.filter(theme=theme).delete()
    for child in children:
        refresh_daily_theme_stats(days=_days_with_theme(child.pk))
    return children


def _terms_of(space: analysis.ThemeSpace, texts: Sequence[str]) -> list[str]:
    matrix = space.words.transform([analysis.clean(text) for text in texts])
    weights = np.asarray(matrix.mean(axis=0)).ravel()
    vocabulary = space.words.get_feature_names_out()
    return [
        str(vocabulary[i]) for i in np.argsort(-weights)[: analysis.TOP_TERMS] if weights[i] > 0
    ]


def _refresh_quotes(theme: Theme) -> None:
    theme.quotes = list(
        FeedbackTheme.objects.filter(theme=theme)
        .order_by("-score", "-feedback_id")
        .values_list("feedback_id", flat=True)[: analysis.QUOTES_PER_THEME]
    )
    theme.save(update_fields=["quotes", "updated_at"])


def _validated_keywords(keywords: Iterable[str]) -> list[str]:
    """The words or phrases of a keyword rule, stripped. Raises ``ValidationError`` for
    none, one under two characters (``a*`` would match nearly every text), a ``*`` that
    is not one trailing star, or more than 500 characters in all."""
    words = [word.strip() for word in keywords if word.strip()]
    if not words:
        raise ValidationError({"keywords": ["Give at least one keyword or phrase."]})
    if any(len(word.rstrip("*")) < 2 for word in words):
        raise ValidationError({"keywords": ["Keywords need at least two characters."]})
    if any("*" in word.rstrip("*") or word.endswith("**") for word in words):
        raise ValidationError({"keywords": ["Use * only once, at the end of a keyword."]})
    if len(", ".join(words)) > 500:
        raise ValidationError({"keywords": ["At most 500 characters."]})
    return words


def add_keyword_rule(*, theme: Theme, keywords: str, by=None) -> KeywordRule:
    """Add a rule and re-apply the theme's rules to existing feedback in the background.
    A keyword ending in ``*`` matches any word it begins (``crash*``)."""
    words = _validated_keywords((keywords or "").split(","))
    if theme.status == Theme.Status.MERGED:
        raise ValidationError({"keywords": ["Add rules to the theme this one was merged into."]})
    with transaction.atomic():
        # Locked, so the same form sent twice at once cannot add the rule twice.
        list(Theme.objects.select_for_update().filter(pk=theme.pk).values_list("pk"))
        wanted = {word.lower() for word in words}
        for existing in KeywordRule.objects.filter(theme=theme):
            if {word.lower() for word in existing.keyword_list} == wanted:
                raise ValidationError(
                    {"keywords": [f"This theme already has the rule “{existing.keywords}”."]}
                )
        rule = KeywordRule.objects.create(theme=theme, keywords=", ".join(words), created_by=by)
        theme.curated = True
        theme.save(update_fields=["curated", "updated_at"])
        transaction.on_commit(lambda: _enqueue_rules(theme.pk))
    return rule


def delete_keyword_rule(*, rule: KeywordRule) -> None:
    """Remove a rule and the links only rules made for its theme; the next assignment or
    re-application restores links other rules still justify."""
    theme = rule.theme
    with transaction.atomic():
        rule.delete()
        # Their days are recounted now: the re-application recounts only the days the
        # theme still has links on, and a day left without any would keep its old count.
        days = _days_with_theme(theme.pk, source=FeedbackTheme.Source.RULE)
        FeedbackTheme.objects.filter(theme=theme, source=FeedbackTheme.Source.RULE).delete()
        transaction.on_commit(lambda: _enqueue_rules(theme.pk))
    refresh_daily_theme_stats(days=days)


def _enqueue_rules(theme_id: int) -> None:
    from .tasks import apply_keyword_rules_task

    try:
        apply_keyword_rules_task.apply_async(args=[theme_id], retry=False)
    except Exception:
        # The broker is down: apply now, in this process, rather than lose the rule.
        logger.warning("apply_keyword_rules_task not delivered; applying in process")
        apply_keyword_rules_everywhere(theme_id=theme_id)


def set_manual_theme(*, feedback: Feedback, theme: Theme) -> FeedbackTheme:
    """Link ``feedback`` to ``theme`` by hand (a link the model or a rule made becomes a
    manual one, kept through re-assignment) and recount the theme rollup of its day.
    Raises ``ValidationError`` for a theme that takes no feedback (archived or merged)."""
    with transaction.atomic():
        status = (
            Theme.objects.select_for_update().filter(pk=theme.pk).values_list("status", flat=True)
        ).first()
        if status is None:
            raise ValidationError({"theme": ["That theme no longer exists."]})
        if status == Theme.Status.MERGED:
            target = theme.merged_into.name if theme.merged_into_id else "another theme"
            raise ValidationError(
                {"theme": [f"“{theme.name}” has been merged into “{target}”: choose that one."]}
            )
        if status == Theme.Status.ARCHIVED:
            raise ValidationError(
                {"theme": [f"“{theme.name}” is archived: restore it before adding feedback."]}
            )
        link, _ = FeedbackTheme.objects.update_or_create(
            feedback=feedback,
            theme=theme,
            defaults={"score": MANUAL_SCORE, "source": FeedbackTheme.Source.MANUAL},
        )
        refresh_daily_theme_stats(days=[feedback.received_at.astimezone(dt.UTC).date()])
    return link


def remove_manual_theme(*, feedback: Feedback, theme: Theme) -> None:
    """Take a theme added by hand off ``feedback`` and recount the theme rollup of its
    day. Links the model or a keyword rule made are theirs: the next assignment would make
    them again, so they are refused (``ValidationError``) rather than removed for a while."""
    with transaction.atomic():
        link = (
            FeedbackTheme.objects.select_for_update().filter(feedback=feedback, theme=theme).first()
        )
        if link is None:
            raise ValidationError({"theme": [f"This feedback does not carry “{theme.name}”."]})
        if link.source != FeedbackTheme.Source.MANUAL:
            made_by = (
                "a keyword rule" if link.source == FeedbackTheme.Source.RULE else "the theme model"
            )
            raise ValidationError(
                {
                    "theme": [
                        f"“{theme.name}” was given by {made_by}, not by hand: change the "
                        "theme's keyword rules or split the theme instead."
                    ]
                }
            )
        link.delete()
        refresh_daily_theme_stats(days=[feedback.received_at.astimezone(dt.UTC).date()])


def request_discovery() -> None:
    """Queue a discovery run on the training queue (a manager's "discover now"), after
    commit. Raises ``ValidationError`` when discovery would only refuse (too few analysed
    texts) or a discovery is already running."""
    from .runs import request_run

    analysed = _discovery_rows()[: analysis.MIN_TEXTS].count()
    if analysed < analysis.MIN_TEXTS:
        raise ValidationError(_too_few_texts(analysed))
    request_run(kind=AnalysisRun.Kind.THEMES)
