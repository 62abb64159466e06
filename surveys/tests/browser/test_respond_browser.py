"""The respondent form, the embed and the manager pages in headless Chromium."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from surveys.models import Response
from surveys.tests.factories import make_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_site(live_server):
    """A page on another site (127.0.0.1 while the app is on localhost) that frames
    ``path`` of the app, as a shop embedding a survey would."""
    app = urlparse(live_server.url)
    app_origin = f"{app.scheme}://localhost:{app.port}"
    frames: dict[str, str] = {}

    class ShopPage(BaseHTTPRequestHandler):
        def do_GET(self):
            framed = frames.get("html") or (
                f'<iframe src="{app_origin}{frames["path"]}" width="600" height="900"></iframe>'
            )
            body = f"<!doctype html><title>Shop</title><h1>Our shop</h1>{framed}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def frame(path: str = "", *, html: str = "") -> str:
        """The shop's address; its page frames ``path``, or holds ``html`` (a snippet)."""
        frames.update(path=path, html=html)
        return f"http://127.0.0.1:{server.server_port}/"

    frame.app_origin = app_origin

    yield frame
    server.shutdown()
    server.server_close()
    thread.join()


def test_embedded_survey_is_answered_from_another_site(page, other_site):
    survey = make_survey()
    page.goto(other_site(f"/s/{survey.slug}/embed/"))
    expect(page.get_by_role("heading", name="Our shop")).to_be_visible()
    embed = page.frame_locator("iframe")
    expect(embed.get_by_role("heading", name=survey.title)).to_be_visible()
    embed.locator("#sq-nps").get_by_text("4", exact=True).click()
    embed.locator("#sq-why textarea").fill("Delivery was late.")
    embed.get_by_role("button", name="Submit").click()
    expect(embed.get_by_role("heading", name="Thank you!")).to_be_visible()
    response = Response.objects.get(survey=survey)
    assert response.channel == Response.Channel.EMBED
    assert response.answers.count() == 2


def test_the_embed_snippet_fits_its_frame_to_the_survey_as_questions_appear(
    page, other_site, settings
):
    from surveys import distribution

    settings.SITE_URL = other_site.app_origin
    survey = make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "Recommend us?", "required": True},
            *[
                {
                    "key": f"why{n}",
                    "kind": "long_text",
                    "text": f"What went wrong ({n})?",
                    "show_if": {"question": "nps", "op": "lte", "value": 6},
                }
                for n in range(4)
            ],
        ]
    )
    page.goto(other_site(html=distribution.embed_snippet(survey)))
    frame = page.locator("iframe[data-focusloop-survey]")
    embed = page.frame_locator("iframe[data-focusloop-survey]")
    expect(embed.get_by_role("heading", name=survey.title)).to_be_visible()

    def frame_height() -> float:
        return frame.bounding_box()["height"]

    def content_height() -> float:
        return embed.locator("html").evaluate("e => e.getBoundingClientRect().height")

    page.wait_for_function(
        "() => document.querySelector('iframe').style.height !== ''", timeout=5000
    )
    short = frame_height()
    assert short < 640 and abs(short - content_height()) <= 2

    embed.locator("#sq-nps").get_by_text("3", exact=True).click()  # four questions appear
    expect(embed.locator("#sq-why3")).to_be_visible()
    page.wait_for_function(
        f"() => document.querySelector('iframe').getBoundingClientRect().height > {short + 200}",
        timeout=5000,
    )
    assert abs(frame_height() - content_height()) <= 2
    assert page.problems.page_errors == []


def test_typing_an_other_answer_ticks_other_and_shows_its_follow_up(page):
    survey = make_survey(
        questions=[
            {
                "key": "plan",
                "kind": "single",
                "text": "Which plan are you on?",
                "choices": ["Free", "Pro"],
                "allow_other": True,
            },
            {
                "key": "plan_why",
                "kind": "short_text",
                "text": "Why that plan?",
                "required": True,
                "show_if": {"question": "plan", "op": "eq", "value": "Other"},
            },
            {
                "key": "tools",
                "kind": "multiple",
                "text": "Which tools do you use?",
                "choices": ["Mail", "Chat"],
                "allow_other": True,
            },
            {
                "key": "tools_why",
                "kind": "short_text",
                "text": "What is missing?",
                "required": True,
                "show_if": {"question": "tools", "op": "contains", "value": "Other"},
            },
        ]
    )
    page.goto(f"/s/{survey.slug}/")
    plan, tools = page.locator("#sq-plan"), page.locator("#sq-tools")
    expect(page.locator("#sq-plan_why")).to_be_hidden()
    plan.locator(".other-text").fill("Team")
    expect(plan.get_by_role("radio", name="Other")).to_be_checked()
    expect(page.locator("#sq-plan_why")).to_be_visible()
    page.locator("#sq-plan_why input").fill("Cheaper")

    tools.get_by_role("checkbox", name="Mail").check()
    expect(page.locator("#sq-tools_why")).to_be_hidden()
    tools.locator(".other-text").fill("Phone")
    expect(tools.get_by_role("checkbox", name="Other")).to_be_checked()
    expect(tools.get_by_role("checkbox", name="Mail")).to_be_checked()
    expect(page.locator("#sq-tools_why")).to_be_visible()
    page.locator("#sq-tools_why input").fill("Video calls")

    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    answers = {a.question.key: a for a in Response.objects.get().answers.select_related("question")}
    assert answers["plan"].choices == ["Other"] and answers["plan"].text == "Team"
    assert answers["tools"].choices == ["Mail", "Other"] and answers["tools"].text == "Phone"
    assert answers["plan_why"].text == "Cheaper" and answers["tools_why"].text == "Video calls"
    page.problems.assert_none()


def test_going_back_and_submitting_again_stores_one_response(page):
    survey = make_survey()
    page.goto(f"/s/{survey.slug}/")
    page.locator("#sq-nps").get_by_text("9", exact=True).click()
    first_uuid = page.locator("input[name=client_uuid]").input_value()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    page.go_back()
    expect(page.get_by_role("heading", name=survey.title)).to_be_visible()
    assert page.locator("input[name=client_uuid]").input_value() == first_uuid
    page.locator("#sq-nps").get_by_text("9", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert Response.objects.filter(survey=survey).count() == 1
    page.problems.assert_none()


def test_after_a_refused_submission_focus_is_on_the_first_question_to_fix(page):
    survey = make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "How likely are you to recommend us?"},
            {"key": "csat", "kind": "csat", "text": "How satisfied are you?"},
            {"key": "ces", "kind": "ces", "text": "How easy was it?"},
            {"key": "stars", "kind": "stars", "text": "Rate the delivery", "required": True},
            {"key": "why", "kind": "long_text", "text": "Anything else?", "required": True},
        ]
    )
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(f"/s/{survey.slug}/")
    page.locator("#sq-nps").get_by_text("9", exact=True).click()
    page.locator("#sq-why textarea").fill("Fine")
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()

    stars = page.locator("#sq-stars")
    expect(stars).to_be_focused()
    expect(stars).to_be_in_viewport()
    expect(stars.locator(".error")).to_have_text("This question requires an answer.")
    assert Response.objects.count() == 0


def test_star_ratings_are_named_in_words_and_drawn_as_stars(page):
    survey = make_survey(questions=[{"key": "stars", "kind": "stars", "text": "Rate the delivery"}])
    page.goto(f"/s/{survey.slug}/")

    stars = page.locator("#sq-stars")
    expect(stars.get_by_role("radio", name="1 star", exact=True)).to_be_visible()
    expect(stars.get_by_role("radio", name="4 stars", exact=True)).to_be_visible()
    expect(stars.locator(".point-value").nth(3)).to_contain_text("4 ★")
    stars.get_by_role("radio", name="4 stars", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert Response.objects.get().answers.get().number == 4
    page.problems.assert_none()


@pytest.mark.parametrize(("width", "height"), [(320, 568), (375, 667), (1280, 900)])
def test_scales_keep_every_point_on_one_row_on_a_phone_and_a_desktop(page, width, height):
    survey = make_survey(
        questions=[
            {"key": "nps", "kind": "nps", "text": "How likely are you to recommend us?"},
            {"key": "ces", "kind": "ces", "text": "How easy was it?"},
            {"key": "csat", "kind": "csat", "text": "How satisfied are you?"},
            {"key": "likert", "kind": "likert", "text": "The app is fast."},
        ]
    )
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/s/{survey.slug}/")

    for key in ("nps", "ces", "csat", "likert"):
        rows = page.locator(f"#sq-{key} .point").evaluate_all(
            "points => new Set(points.map(p => Math.round(p.getBoundingClientRect().top))).size"
        )
        assert rows == 1, f"{key} at {width}px is spread over {rows} rows"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Even on a 320 px phone the eleven points stay at least 24 px apart (WCAG 2.2's
    # minimum target spacing), so a thumb hits the number it means.
    lefts = page.locator("#sq-nps .point").evaluate_all(
        "points => points.map(p => p.getBoundingClientRect().left)"
    )
    assert min(b - a for a, b in pairwise(lefts)) >= 24
    # Every point keeps its label as its name, wherever the label is drawn.
    nps = page.locator("#sq-nps")
    expect(nps.get_by_role("radio", name="0 Not at all likely")).to_be_visible()
    expect(nps.get_by_role("radio", name="10 Extremely likely")).to_be_visible()
    page.problems.assert_none()


@pytest.mark.parametrize("width", [1280, 1440])
def test_survey_list_does_not_scroll_sideways_for_a_manager(page, width):
    from feedback.tests.factories import UserFactory
    from tests.browser.test_pages_browser import log_in

    UserFactory(username="maria_manager", role="manager")
    make_survey()
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, "maria_manager")
    page.goto("/surveys/")
    expect(page.get_by_role("link", name="New survey")).to_be_visible()
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width
