"""Lessons: the file format's checks, and the claim of every packaged lesson's every step.

Each step's text states numbers ("the test RMSE is more than 100 times σ");
the claims below compute them with the app's own model and diagnostics at
the step's settings, with scikit-learn and NumPy where that is natural.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.polynomial import Polynomial as NumpyPolynomial
from sklearn.metrics import mean_squared_error

from polyfit_explorer import lessons
from polyfit_explorer.diagnostics import Diagnostics, Snapshot, alpha_path, validation_curve
from polyfit_explorer.estimators import chosen_alpha
from polyfit_explorer.lessons import Lesson, LessonError, parse
from polyfit_explorer.links import query_of

LESSONS: dict[str, Lesson] = {name: lessons.read(path)
                              for name, path in lessons.packaged().items()}
STEPS = [(name, step.title) for name, lesson in LESSONS.items() for step in lesson.steps]


def lesson_text(steps: str, front: str = "title: A lesson") -> str:
    return f"---\n{front}\n---\n\n" + textwrap.dedent(steps).lstrip("\n")


# ---- the format -------------------------------------------------------------------


def test_a_lesson_reads_its_front_matter_steps_and_text():
    lesson = parse(lesson_text("""
        ## First

        ```yaml
        settings:
          truth: Sine
          data.amplitude: 2
          alpha: 1e-3
          degree: 7
        show: [degree, data.amplitude]
        lock: truth
        tab: bias & variance
        ```

        What do you **see**?

        ## Second

        Text alone keeps the settings.
        """, front="title: Sines\ndescription: Short."), name="sines")
    assert (lesson.name, lesson.title, lesson.description) == ("sines", "Sines", "Short.")
    first, second = lesson.steps
    assert first.settings == {"truth": "Sine", "data.amplitude": "2", "alpha": "1e-3",
                              "degree": "7"}
    assert (first.show, first.lock, first.tab) == (("degree", "data.amplitude"), ("truth",),
                                                   "Bias & variance")
    assert first.text == "What do you **see**?"
    assert first.line == 6
    model = first.model()
    assert type(model.data).__name__ == "Sine"
    assert (model.data.amplitude, model.alpha, model.degree) == (2.0, 1e-3, 7)
    # A step starts from the one before: the second has the first's state.
    assert second.query == first.query
    assert (second.show, second.lock, second.tab) == (None, (), None)


def test_truth_by_class_name_title_or_original():
    steps = """
        ## One
        ```yaml
        settings: {truth: Original}
        ```
        ## Two
        ```yaml
        settings: {truth: "Runge 1/(1 + 25x²)"}
        ```
        ## Three
        ```yaml
        settings: {truth: absolutevalue}
        ```
        """
    truths = [type(step.model().data).__name__ for step in parse(lesson_text(steps)).steps]
    assert truths == ["DataGenerator", "Runge", "AbsoluteValue"]


BAD = [
    # (the lesson's text, the line named, words of the message)
    ("## One\n", 1, "front matter"),
    ("---\ndescription: x\n---\n## One\n", 1, "needs a 'title:'"),
    ("---\ntitle: T\nauthor: me\n---\n## One\n", 3, "unknown key 'author'"),
    ("---\ntitle: T\n---\n\nHello.\n## One\n", 5, "text before the first step"),
    ("---\ntitle: T\n---\n\n", 4, "at least one step"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: 3\nshows: [degree]\n```\n",
     8, "unknown key 'shows'"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: 3\n  wiggle: 2\n```\n",
     8, "unknown setting 'wiggle'"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: 3\n  data.c0: 2\n```\n",
     8, "unknown setting 'data.c0'"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n\n  degree: 99\n```\n",
     8, "out of range. Allowed: a whole number in [0, 50]. Kept 3."),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  penalty: l3\n```\n",
     7, "must be one of"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  truth: Cosine\n```\n",
     7, "unknown ground truth 'Cosine'"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings: {degree: 2}\nshow: [degre]\n```\n",
     7, "no control is called 'degre'"),
    ("---\ntitle: T\n---\n## One\n```yaml\ntab: Scores\n```\n", 6, "no tab is called 'Scores'"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings: [degree]\n```\n", 6, "name: value"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: [1, 2]\n```\n",
     7, "must be one value"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: 2\n  degree: 3\n```\n",
     8, "given twice"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: 2\n\n## Two\n", 5,
     "not closed"),
    ("---\ntitle: T\n---\n## One\n```yaml\nsettings:\n  degree: [2\n```\n", 7,
     "not valid YAML"),
    ("---\ntitle: T\n---\n## One\nA.\n## Two\nB.\n## One\nC.\n", 8, "already that of line 4"),
    ("---\ntitle: T\n---\n##   \n", 4, "needs a title"),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD,
                         ids=[words for _, _, words in BAD])
def test_each_fault_names_the_file_and_its_line(text, line, words):
    with pytest.raises(LessonError) as caught:
        parse(text, source="my_lesson.md")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"my_lesson.md, line {line}: ")
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_value_is_checked_against_the_state_of_the_steps_before():
    # x min above the x max set in the step before: refused as a link would refuse it.
    text = lesson_text("""
        ## One
        ```yaml
        settings: {data.x_max: 2}
        ```
        ## Two
        ```yaml
        settings:
          data.x_min: 3
        ```
        """)
    with pytest.raises(LessonError, match=r"line 12: Ignored data.x_min: x_min must be less"):
        parse(text)


def test_find_names_the_lessons_there_are():
    assert {"overfitting", "regularization", "bias-variance"} <= set(lessons.available())
    assert lessons.find("overfitting").title == "Under- and over-fitting"
    with pytest.raises(LessonError, match=r"no lesson '\.\./etc/passwd'; the lessons are: "):
        lessons.find("../etc/passwd")


def test_served_lessons_are_found_by_their_file_name(tmp_path, monkeypatch):
    monkeypatch.delenv(lessons.SERVED, raising=False)
    mine = tmp_path / "my_lesson.md"
    mine.write_text(lesson_text("## Only\nHello.\n"))
    lessons.serve([mine])
    assert lessons.find("my_lesson").steps[0].text == "Hello."
    # The environment carries them to the processes a server forks.
    assert os.environ[lessons.SERVED] == str(mine.resolve())
    clash = tmp_path / "other" / "my_lesson.md"
    clash.parent.mkdir()
    clash.write_text(mine.read_text())
    with pytest.raises(LessonError, match="lessons are opened by file name"):
        lessons.serve([mine, clash])
    bad = tmp_path / "bad.md"
    bad.write_text(lesson_text("## One\n```yaml\nsettings: {degree: -1}\n```\n"))
    with pytest.raises(LessonError, match=rf"{bad}, line 7: "):
        lessons.serve([bad])


def test_the_serve_command_refuses_a_bad_lesson_naming_its_line(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text(lesson_text("## One\n```yaml\nsettings: {degree: 99}\n```\n"))
    run = subprocess.run([sys.executable, "-m", "polyfit_explorer", "--lesson", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert f"{bad}, line 7: Ignored degree: degree (Degree): '99' is out of range" in run.stderr


def test_tab_titles_are_the_apps():
    from polyfit_explorer.views.diagnostics import TABS

    assert tuple(tab.title for tab in TABS) == lessons.TAB_TITLES


def test_packaged_lessons_ship_in_the_wheel():
    # hatchling packages every file under src/polyfit_explorer: the lessons are there.
    assert set(lessons.packaged()) == {"overfitting", "regularization", "bias-variance"}
    assert all(path.parent.name == "lessons" for path in lessons.packaged().values())


# ---- the packaged lessons' claims ---------------------------------------------------


def step_of(lesson: str, title: str):
    return next(step for step in LESSONS[lesson].steps if step.title == title)


def model_of(lesson: str, title: str):
    return step_of(lesson, title).model()


def rmse(model, split: str) -> float:
    """The split's RMSE by scikit-learn, checked against the model's own."""
    rows = (model.samples_["split"] == split).to_numpy()
    value = np.sqrt(mean_squared_error(model.samples_["y"][rows], model.y_pred_[rows]))
    assert value == pytest.approx(getattr(model, f"{split}_rmse_"), rel=1e-9)
    return value


CLAIMS = {}


def claim(lesson: str, title: str):
    def register(check):
        CLAIMS[lesson, title] = check
        return check

    return register


@claim("overfitting", "A straight line")
def _():
    m = model_of("overfitting", "A straight line")
    sigma = m.data.noise_sd
    assert (m.degree, sigma, m.n_train_ + m.n_test_) == (1, 3.0, 30)
    assert rmse(m, "train") > 3 * sigma
    assert rmse(m, "test") > 3 * sigma


@claim("overfitting", "Degree 5")
def _():
    m = model_of("overfitting", "Degree 5")
    line = model_of("overfitting", "A straight line")
    assert 0.8 * 3 < rmse(m, "train") < 1.2 * 3
    assert rmse(m, "test") < 5
    assert rmse(m, "test") < rmse(line, "test") / 2.5  # "a third"
    # Least squares of degree 5 is NumPy's polynomial fit on the training split.
    train = m.samples_[m.samples_["split"] == "train"]
    fit = NumpyPolynomial.fit(train["x"], train["y"], 5)
    assert np.sqrt(np.mean((fit(train["x"]) - train["y"]) ** 2)) == pytest.approx(
        m.train_rmse_, rel=1e-6)


@claim("overfitting", "Degree 12")
def _():
    m = model_of("overfitting", "Degree 12")
    assert rmse(m, "train") < 3
    assert rmse(m, "test") > 100 * 3


@claim("overfitting", "The validation curve")
def _():
    m = model_of("overfitting", "The validation curve")
    curve = validation_curve(Snapshot.of(m), Diagnostics().max_degree)
    assert (np.diff(curve["train_rmse"]) <= 1e-9).all()
    lowest = curve["cv_rmse"].min()
    assert int(curve["degree"][curve["cv_rmse"].idxmin()]) == 5
    assert (curve["cv_rmse"][curve["degree"] >= 9] > 2 * lowest).all()
    assert curve["train_rmse"][5] == pytest.approx(m.train_rmse_, rel=1e-9)


@claim("overfitting", "More data")
def _():
    m = model_of("overfitting", "More data")
    assert (m.degree, m.n_train_ + m.n_test_) == (12, 200)
    assert rmse(m, "test") < 1.5 * 3
    assert model_of("overfitting", "Degree 12").test_rmse_ > 1000


def standardized_coef(model) -> np.ndarray:
    return model.estimator_[-1].coef_


@claim("regularization", "Fifteen powers, no penalty")
def _():
    m = model_of("regularization", "Fifteen powers, no penalty")
    assert (m.degree, m.penalty) == (15, "none")
    assert rmse(m, "train") < 3
    assert m.true_rmse_ > 20 * 3


@claim("regularization", "Ridge with a huge alpha")
def _():
    m = model_of("regularization", "Ridge with a huge alpha")
    assert (m.penalty, m.alpha_) == ("l2", 1e4)
    assert np.abs(standardized_coef(m)).max() < 1
    assert rmse(m, "train") > 4 * 3


@claim("regularization", "Let cross-validation choose")
def _():
    m = model_of("regularization", "Let cross-validation choose")
    assert 1e-3 < m.alpha_ < 1e-2
    assert m.true_rmse_ < 3
    assert model_of("regularization", "Fifteen powers, no penalty").true_rmse_ > 40 * m.true_rmse_
    # The same choice as scikit-learn's grid search over the folds.
    assert alpha_path(Snapshot.of(m)).best_alpha == pytest.approx(m.alpha_)


def one_se_claims(lesson: str, cv_title: str, title: str):
    """The step chooses alpha by the 1-SE rule; check it and the rule's claims.

    Return the step's model, the CV step's (the minimum) and its alpha path.
    """
    m, best = model_of(lesson, title), model_of(lesson, cv_title)
    assert (m.penalty, m.alpha_mode) == (best.penalty, "cv_1se")
    search = m.estimator_[-1]
    # The fitted alpha is the 1-SE rule on the search's own fold errors.
    assert m.alpha_ == chosen_alpha(search.alphas_, search.mse_path_, "one_se")
    # The same as the Validation curve tab's "1-SE choice", and larger than the minimum.
    path = alpha_path(Snapshot.of(best))
    assert m.alpha_ == pytest.approx(path.one_se_alpha, rel=1e-9)
    assert m.alpha_ > best.alpha_
    at = {alpha: int(np.argmin(np.abs(np.log(path.alphas / alpha))))
          for alpha in (path.best_alpha, path.one_se_alpha)}
    lowest, one_se = at[path.best_alpha], at[path.one_se_alpha]
    # Within one standard error of the lowest mean fold MSE, as the rule says.
    assert path.cv_rmse[one_se] <= path.cv_rmse[lowest] + 2 * path.cv_se[lowest]
    assert np.sum(path.coef[one_se] ** 2) < np.sum(path.coef[lowest] ** 2)
    return m, best, path


@claim("regularization", "The one-standard-error rule")
def _():
    m, best, path = one_se_claims("regularization", "Let cross-validation choose",
                                  "The one-standard-error rule")
    assert path.one_se_alpha > 10 * path.best_alpha
    assert f"{m.alpha_:.2g}" == "0.056"  # "alpha ≈ 0.056"
    assert np.sum(standardized_coef(m) ** 2) < np.sum(standardized_coef(best) ** 2)
    assert rmse(m, "test") < 1.1 * rmse(best, "test")


@claim("regularization", "LASSO sets coefficients to zero")
def _():
    m = model_of("regularization", "LASSO sets coefficients to zero")
    assert (m.penalty, m.alpha_mode) == ("l1", "cv")
    assert (len(standardized_coef(m)), np.count_nonzero(standardized_coef(m))) == (15, 11)


@claim("regularization", "LASSO with the one-standard-error rule")
def _():
    m, _, _ = one_se_claims("regularization", "LASSO sets coefficients to zero",
                            "LASSO with the one-standard-error rule")
    assert f"{m.alpha_:.2g}" == "0.045"  # "alpha ≈ 0.045"
    assert np.count_nonzero(standardized_coef(m)) == 6
    assert abs(rmse(m, "train") - 3) < 0.15 * 3


def decomposition(lesson: str, title: str):
    """The Bias & variance tab's numbers: the app's diagnostics at their defaults."""
    return Diagnostics(model=model_of(lesson, title)).bias_variance()


@claim("bias-variance", "A rigid line")
def _():
    result = decomposition("bias-variance", "A rigid line")
    assert result.replicates == 200
    assert result.bias2 > 100 * result.variance
    # The closed form, and the 200 refits agree with it.
    assert result.refit_variance == pytest.approx(result.variance, rel=0.2)


@claim("bias-variance", "A wiggly curve")
def _():
    result = decomposition("bias-variance", "A wiggly curve")
    assert result.bias2 < 0.01
    assert result.variance > 100 * result.bias2
    assert result.noise == pytest.approx(9)
    assert result.total > 20 * 9
    assert result.expected_mse > 20 * 9


@claim("bias-variance", "The U-curve")
def _():
    d = Diagnostics(model=model_of("bias-variance", "The U-curve"))
    curve = d.bias_variance_by_degree()
    assert int(curve["degree"][curve["total"].idxmin()]) == 7
    assert (curve["total"] >= 9).all()
    assert curve["bias2"].iloc[0] > curve["bias2"].iloc[-1]
    assert curve["variance"].is_monotonic_increasing


@claim("bias-variance", "More data")
def _():
    more = decomposition("bias-variance", "More data")
    fewer = decomposition("bias-variance", "A wiggly curve")
    assert more.variance * 100 < fewer.variance
    assert more.total == pytest.approx(9, rel=0.05)
    assert more.expected_mse == pytest.approx(9, rel=0.05)


@claim("bias-variance", "A higher noise floor")
def _():
    m = model_of("bias-variance", "A higher noise floor")
    assert (m.degree, m.n_train_ + m.n_test_, m.data.noise_sd) == (7, 400, 6.0)
    result = Diagnostics(model=m).bias_variance()
    assert result.noise == pytest.approx(36)
    assert result.total == pytest.approx(36, rel=0.05)
    assert result.expected_mse == pytest.approx(36, rel=0.05)


@pytest.mark.parametrize(("lesson", "title"), STEPS, ids=[f"{n}: {t}" for n, t in STEPS])
def test_each_step_shows_what_its_text_says(lesson, title):
    assert (lesson, title) in CLAIMS, "every step's claim is checked"
    CLAIMS[lesson, title]()


def test_every_claim_is_of_a_step():
    assert set(CLAIMS) == set(STEPS)


def test_each_step_sets_what_it_names_and_its_seeds():
    for lesson in LESSONS.values():
        first = lesson.steps[0].settings
        # Every seed fixed in the first step, so the numbers are reproducible.
        assert {"truth", "data.random_state", "random_state"} <= set(first)
        for step in lesson.steps:
            model = step.model()
            state = type("State", (), {"model": model})()
            assert query_of(state) == step.query


# ---- the lesson panel, in process ---------------------------------------------------


def test_lesson_markdown_cannot_put_markup_or_script_into_the_page():
    from polyfit_explorer.views.lesson import markdown_html

    html = markdown_html("*Why?* <img src=x onerror=alert(1)> [go](javascript:alert(1))\n\n"
                         "<script>alert(2)</script>")
    assert "<em>Why?</em>" in html
    assert "<img" not in html
    assert "<script" not in html
    assert "href" not in html


def test_a_step_sets_its_state_link_tab_and_controls():
    from polyfit_explorer import Explorer
    from polyfit_explorer.views.lesson import setting_widgets

    lesson = parse(lesson_text("""
        ## Shown
        ```yaml
        settings: {degree: 2, data.noise_sd: 1}
        show: [degree, data.noise_sd]
        lock: [degree]
        tab: Residuals
        ```
        ## All
        ```yaml
        settings: {degree: 4}
        ```
        """), name="mine")
    explorer = Explorer()
    explorer.__panel__()
    sections = [control.__panel__() for control in explorer.controls[:2]]
    explorer.open_lesson(lesson)
    assert (explorer.model.degree, explorer.model.data.noise_sd) == (2, 1.0)
    assert explorer.state == f"{lesson.steps[0].query}&lesson=mine&step=1"
    assert explorer.diagnostics.active == lessons.TAB_TITLES.index("Residuals")
    widgets = setting_widgets(sections, explorer.model)
    visible = {name for name, group in widgets.items() if all(w.visible for w in group)}
    assert visible == {"degree", "data.noise_sd"}
    assert all(w.disabled for w in widgets["degree"])
    assert not any(w.disabled for w in widgets["data.noise_sd"])
    assert explorer.lesson.back.disabled
    explorer.lesson.next.clicks += 1
    assert explorer.lesson.step == 2
    assert explorer.model.degree == 4
    assert explorer.state.endswith("&lesson=mine&step=2")
    # The alpha slider is disabled without a penalty, as before the lesson.
    assert all(w.visible and not w.disabled for name, group in widgets.items() for w in group
               if name != "alpha")
    assert all(section.visible for section in sections)
    # Back restores the whole state of step 1, the noise too.
    explorer.model.data.noise_sd = 5
    explorer.lesson.back.clicks += 1
    assert (explorer.model.degree, explorer.model.data.noise_sd) == (2, 1.0)


def test_without_a_lesson_the_link_is_the_settings_alone():
    from polyfit_explorer import Explorer

    explorer = Explorer()
    assert explorer.state == query_of(explorer)
    assert "lesson" not in explorer.state
