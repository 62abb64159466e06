"""Full-text search of feedback: PostgreSQL text search, ranked; LIKE on other databases."""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet

from .models import Customer

SEARCH_CONFIG = "english"
# The same expression as the GIN index of migration 0005, so the planner can use it.
TEXT_VECTOR = SearchVector("text", "submitter_name", config=SEARCH_CONFIG)
# Customers whose name matches are looked up first, so the feedback query stays an
# OR of two indexed conditions (GIN on the text, btree on customer_id).
MAX_MATCHING_CUSTOMERS = 200
_WORD = re.compile(r"[^\W_]+")
_WEBSEARCH_OPERATORS = re.compile(r'"|(^|\s)-\w|\bor\b', re.IGNORECASE)


def uses_full_text() -> bool:
    return connection.vendor == "postgresql"


def text_query(value: str) -> SearchQuery:
    """websearch syntax ("quoted phrase", or, -word), stemmed, so "crashing" finds
    "crashes". A plain list of words also matches as prefixes ("paym" finds "payment"),
    which is what someone typing into a search box expects."""
    query = SearchQuery(value, search_type="websearch", config=SEARCH_CONFIG)
    if _WEBSEARCH_OPERATORS.search(value):
        return query
    words = _WORD.findall(value)[:16]
    if words:
        prefix = " & ".join(f"{word}:*" for word in words)
        query = query | SearchQuery(prefix, search_type="raw", config=SEARCH_CONFIG)
    return query


def has_search_words(value: str) -> bool:
    """Whether full-text search keeps a word of ``value``: to PostgreSQL "can't", "it's"
    or "not" are stop words only, a query of nothing, which matches no text at all."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numnode(websearch_to_tsquery(%s::regconfig, %s))", [SEARCH_CONFIG, value]
        )
        return cursor.fetchone()[0] > 0


def search_feedback(queryset: QuerySet, value: str, *, rank: bool = True) -> QuerySet:
    """Feedback whose text or submitter name matches ``value``, or whose customer's name
    contains it.

    On PostgreSQL the text is matched by full-text search (English stemming), best
    matches first when ``rank``; elsewhere, and for a query of stop words only
    ("can't"), by a case-insensitive substring.
    """
    value = value.strip()
    if not value:
        return queryset
    if not uses_full_text() or not has_search_words(value):
        return queryset.filter(
            Q(text__icontains=value)
            | Q(source__icontains=value)
            | Q(submitter_name__icontains=value)
            | Q(customer__name__icontains=value)
        )
    query = text_query(value)
    customer_ids = list(
        Customer.objects.filter(name__icontains=value).values_list("id", flat=True)[
            :MAX_MATCHING_CUSTOMERS
        ]
    )
    matches = Q(search_vector=query)
    if customer_ids:
        matches |= Q(customer_id__in=customer_ids)
    queryset = queryset.annotate(search_vector=TEXT_VECTOR).filter(matches)
    if rank:
        queryset = queryset.annotate(search_rank=SearchRank(TEXT_VECTOR, query)).order_by(
            "-search_rank", "-received_at", "-id"
        )
    return queryset
