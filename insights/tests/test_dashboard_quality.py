import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from feedback.services import record_feedback
from feedback.tests.factories import ProductFactory
from insights import services

pytestmark = pytest.mark.django_db


def _control_data(html: str) -> dict:
    return json.loads(re.search(r'id="control-data"[^>]*>(.*?)</script>', html, re.S).group(1))


def test_control_charts_follow_the_product_filter(client, manager):
    app, web = ProductFactory(slug="app", name="App"), ProductFactory(slug="web", name="Web")
    now = timezone.now()
    last_monday = (now - dt.timedelta(days=now.weekday() + 7)).replace(hour=12)
    for week in range(1, 9):
        record_feedback(
            channel="form",
            text="Good, very good" if week > 1 else "Bad, very bad, awful",
            product=app,
            received_at=last_monday - dt.timedelta(weeks=week - 1),
        )
    record_feedback(channel="form", text="Bad, very bad", product=web, received_at=last_monday)
    services.analyse_all_pending()
    client.force_login(manager)

    everything = _control_data(client.get("/insights/trends/").content.decode())
    assert sum(point["n"] for point in everything["p"]["points"]) == 9
    page = client.get("/insights/trends/", {"product": "app"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "(p-chart), App" in html and 'id="p-chart"' in html
    only_app = _control_data(html)
    assert sum(point["n"] for point in only_app["p"]["points"]) == 8
    assert only_app["p"]["points"][-1]["value"] == 1.0
    assert client.get("/insights/trends/", {"product": "nope"}).status_code == 400


def test_trends_page_is_for_managers(client, staff_member):
    assert client.get("/insights/trends/").status_code == 302
    client.force_login(staff_member)
    assert client.get("/insights/trends/").status_code == 403
