"""The three packaged lessons, run end to end in Chromium on one page.

Each step is checked against the step's own state computed in process: the
page's link and the scores table's state name every setting of the step
(the Explorer writes them from the model in the server), the test RMSE
shown is the in-process model's, the step's tab is the one selected and the
controls it does not show are hidden.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from polyfit_explorer import lessons
from polyfit_explorer.lessons import Lesson, Step
from polyfit_explorer.testing import serve, server_log_problems

from ._bokeh import RENDERED, SETTLED

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-lesson.png"
#: The step shown in the README's screenshot.
PICTURED = ("overfitting", 3)
#: How long a step may take to be fitted and shown (LASSO at degree 15 takes seconds).
STEP_TIMEOUT = 30_000


def state(lesson: Lesson, number: int) -> str:
    """The link of a lesson's step: every setting, then the lesson and the step."""
    link = urlencode([("lesson", lesson.name), ("step", number)])
    return f"{lesson.steps[number - 1].query}&{link}"


def check_step(page: Page, lesson: Lesson, number: int):
    """The page shows step ``number``: its text, its settings, its tab and its controls."""
    step: Step = lesson.steps[number - 1]
    expect(page.get_by_text(f"Step {number} of {len(lesson.steps)}", exact=True)).to_be_visible(
        timeout=STEP_TIMEOUT)
    expect(page.get_by_text(step.title, exact=True)).to_be_visible()
    expected = state(lesson, number)
    expect(page.locator("table.scores")).to_have_attribute("data-state", expected,
                                                          timeout=STEP_TIMEOUT)
    # The link is written by its own message, which may follow the scores'.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function("q => window.location.search === '?' + q", arg=expected,
                               timeout=STEP_TIMEOUT)
    assert urlsplit(page.url).query == expected
    model = step.model()
    expect(page.locator("td.test-rmse")).to_have_text(f"{model.test_rmse_:.4g}")
    expect(page.locator("td.train-n")).to_have_text(str(model.n_train_))
    if step.tab is not None:
        expect(page.get_by_role("tab", name=step.tab, selected=True)).to_be_visible()
    degree = page.get_by_role("slider", name="Degree", exact=True)
    if step.show is None or "degree" in step.show:
        expect(degree).to_have_attribute("aria-valuenow", str(model.degree))
    if step.show is not None:
        for name, control in [("degree", degree),
                              ("penalty", page.get_by_text("Penalty", exact=True)),
                              ("truth", page.get_by_text("Ground truth", exact=True))]:
            if name in step.show:
                expect(control).to_be_visible()
            else:
                expect(control).to_be_hidden()


def test_three_lessons_run_end_to_end(page: Page, app_url: str):
    page.set_default_timeout(STEP_TIMEOUT)
    # A bad lesson name is text in a message; the link's other settings still apply.
    page.goto(f"{app_url}?lesson=%3Cb%3Enope%3C/b%3E&degree=7")
    page.wait_for_function(RENDERED)
    alert = page.get_by_role("alert").filter(has_text="there is no lesson '<b>nope</b>'")
    expect(alert).to_contain_text("The app opened without a lesson.", timeout=STEP_TIMEOUT)
    expect(page.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
        "aria-valuenow", "7")
    expect(page.get_by_text("Step 1 of", exact=False)).to_have_count(0)

    for name, path in lessons.packaged().items():
        lesson = lessons.read(path)
        # A step beyond the lesson's opens its first, and says so.
        page.goto(f"{app_url}?lesson={name}&step=99")
        page.wait_for_function(RENDERED)
        expect(page.get_by_role("alert")).to_contain_text("Ignored step '99'",
                                                          timeout=STEP_TIMEOUT)
        check_step(page, lesson, 1)
        for number in range(2, len(lesson.steps) + 1):
            page.get_by_role("button").filter(has_text="Next").click()
            check_step(page, lesson, number)
            if (name, number) == PICTURED:
                page.wait_for_function(SETTLED, timeout=STEP_TIMEOUT)
                page.screenshot(path=SCREENSHOT, full_page=True)
        expect(page.get_by_role("button").filter(has_text="Next")).to_be_disabled()
        page.get_by_role("button").filter(has_text="Back").click()
        check_step(page, lesson, len(lesson.steps) - 1)

    # The link holds the step: a reload opens the same step, in the same state.
    page.wait_for_function(SETTLED, timeout=STEP_TIMEOUT)
    page.reload()
    page.wait_for_function(RENDERED)
    check_step(page, lesson, len(lesson.steps) - 1)
    assert re.search(rf"lesson={lesson.name}&step={len(lesson.steps) - 1}$", page.url)
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_lesson_file_given_to_the_serve_command_opens_by_its_name(page: Page,
                                                                      tmp_path: Path):
    mine = tmp_path / "my_lesson.md"
    mine.write_text("---\ntitle: Mine\n---\n\n## The only step\n\n```yaml\n"
                    "settings: {degree: 6}\nshow: [degree]\n```\n\nServed from a file.\n")
    log = tmp_path / "server.log"
    with serve(["-m", "polyfit_explorer", "--lesson", str(mine)], log, cwd=ROOT) as served:
        page.goto(served.url("explorer?lesson=my_lesson"), timeout=STEP_TIMEOUT)
        page.wait_for_function(RENDERED, timeout=STEP_TIMEOUT)
        check_step(page, lessons.read(mine), 1)
        expect(page.get_by_text("Served from a file.")).to_be_visible()
        page.wait_for_function(SETTLED, timeout=STEP_TIMEOUT)
        page.goto("about:blank")  # before the server stops, or the page would retry
    assert server_log_problems(log.read_text()) == []
