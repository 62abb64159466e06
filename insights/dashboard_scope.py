"""What a dashboard number covers: a range of UTC days and the filters on it. The same
scope gives the rollup query, the dashboard's own URL and the inbox URL that lists the
feedback behind the number."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.urls import reverse


def channel_label(value: str) -> str:
    """A feedback channel as people read it ("Focus group" for ``focus_group``)."""
    from feedback.models import Feedback

    return Feedback.Channel(value).label if value in Feedback.Channel.values else value


@dataclass(frozen=True)
class Scope:
    start: dt.date  # first UTC day
    end: dt.date  # the day after the last one
    product: object | None = None  # feedback.Product
    channel: str = ""
    segment: object | None = None  # customization.Segment
    customer_kind: str = ""
    theme: object | None = None  # insights.Theme
    interval: str = "week"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def previous(self) -> Scope:
        """The same filters over the equally long range just before."""
        return replace(self, start=self.start - dt.timedelta(days=self.days), end=self.start)

    def narrowed(self, **changes) -> Scope:
        return replace(self, **changes)

    def full_days(self, today: dt.date) -> Scope:
        """The same length ending yesterday when the range takes in ``today``: a count
        over a day still in progress reads low (alert rules count volume the same way)."""
        if self.end <= today:
            return self
        shift = self.end - today
        return replace(self, start=self.start - shift, end=today)

    @property
    def channel_label(self) -> str:
        return channel_label(self.channel)

    @property
    def narrows_customers(self) -> bool:
        """Filtered to a group of customers (a segment or one kind), where a small group
        could point at a person."""
        return bool(self.segment or self.customer_kind)

    @property
    def filter_kwargs(self) -> dict:
        """Keyword arguments for the dashboard selectors."""
        return {
            "start": self.start,
            "end": self.end,
            "product_id": self.product.pk if self.product else None,
            "channel": self.channel,
            "customer_kind": self.customer_kind,
            "segment_id": self.segment.pk if self.segment else None,
            "theme_id": self.theme.pk if self.theme else None,
        }

    def query(self) -> dict:
        """The dashboard's own query string for this scope (bookmarkable)."""
        params = {"date_from": self.start.isoformat(), "date_to": self.last_day.isoformat()}
        params.update(self._dimension_params())
        if self.interval != "week":
            params["interval"] = self.interval
        return params

    def _dimension_params(self) -> dict:
        params = {}
        if self.product:
            params["product"] = self.product.slug
        if self.channel:
            params["channel"] = self.channel
        if self.segment:
            params["segment"] = self.segment.pk
        if self.customer_kind:
            params["customer_kind"] = self.customer_kind
        if self.theme:
            params["theme"] = self.theme.pk
        return params

    def inbox_url(self, **extra) -> str:
        """The inbox listing exactly the feedback this scope counts (``extra`` adds inbox
        filters such as ``sentiment=negative``)."""
        params = {
            "received_from": self.start.isoformat(),
            "received_to": self.end.isoformat(),
            **self._dimension_params(),
            **extra,
        }
        return f"{reverse('feedback:inbox')}?{urlencode(params)}"

    def dashboard_url(self, name: str = "insights:dashboard") -> str:
        return f"{reverse(name)}?{urlencode(self.query())}"
