"""The lesson file: Markdown with a front matter and one YAML block per step.

A teacher writes a lesson without Python::

    ---
    title: Under- and over-fitting
    description: One sentence shown under the title.
    ---

    ## A straight line

    ```yaml
    settings:
      truth: Original
      data.n_samples: 30
      degree: 1
    show: [degree]
    lock: [truth]
    tab: Validation curve
    ```

    Both errors are far above the noise σ. **Why?**

Each ``## `` heading starts a step; the fenced ``yaml`` block right under it
is optional.  ``settings`` uses the names of the app's links (``truth``,
``data.<input>``, ``degree``, ``penalty``, …).  A step starts from the
settings of the step before it (the first from the app's defaults) and
changes those it names, so each step stands for one whole state: its
:attr:`Step.query`.  ``show`` lists the only controls shown, ``lock`` the
controls shown but disabled, ``tab`` the diagnostics tab on screen; these
three hold for their step only.  Everything is checked when the file is
read, against a fresh model, as a link's values are
(:func:`~polyfit_explorer.links.apply_query`): each error is a
:class:`LessonError` naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import yaml

from ..data import DataGenerator, ground_truths, title
from ..links import MODEL_SETTINGS, apply_query, query_of
from ..model import RegressionModel
from ..parameters import quoted

__all__ = ["TAB_TITLES", "Lesson", "LessonError", "Step", "parse", "read"]

#: The diagnostics tabs a step may show, as ``views.diagnostics.TABS`` names them
#: (a test checks that they agree; this module imports no Panel).
TAB_TITLES = ("Validation curve", "Bias & variance", "Learning curve", "Coefficients",
              "Residuals")
#: The keys of the front matter, and of a step's YAML block.
FRONT_KEYS = ("title", "description")
STEP_KEYS = ("settings", "show", "lock", "tab")
#: A step's YAML block opens with one of these lines.
YAML_FENCES = ("```yaml", "```yml")
_FENCE = re.compile(r"^(```|~~~)")


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the line."""

    def __init__(self, source: str, line: int | None, message: str):
        self.source, self.line = source, line
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Step:
    """One step of a lesson: what it says and the state it sets."""

    #: The ``## `` heading's text.
    title: str
    #: The teacher's Markdown under the YAML block.
    text: str
    #: The settings this step names, as written (name → text).
    settings: dict
    #: Every setting of the step's state, as a link query (``links.query_of``).
    query: str
    #: The only controls shown, by setting name; None shows every control.
    show: tuple[str, ...] | None
    #: Controls shown but disabled, by setting name.
    lock: tuple[str, ...]
    #: The diagnostics tab shown (one of :data:`TAB_TITLES`), or None to leave it.
    tab: str | None
    #: The heading's line in the file.
    line: int

    def model(self) -> RegressionModel:
        """Return a fresh model in this step's state: its data and its settings."""
        state = _Fresh()
        apply_query(state, self.query)
        return state.model


@dataclass(frozen=True)
class Lesson:
    """A lesson: a title, an optional description and its steps, in order."""

    name: str
    title: str
    description: str
    steps: tuple[Step, ...]
    source: str


def read(path: Path | str, name: str | None = None) -> Lesson:
    """Read and check the lesson file at ``path``; its name is the file's stem by default."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LessonError(str(path), None, f"cannot be read: {error}") from error
    return parse(text, source=str(path), name=name or path.stem)


def parse(text: str, source: str = "<lesson>", name: str = "lesson") -> Lesson:
    r"""Read a lesson from its text; raise :class:`LessonError` naming the line of a fault.

    Examples
    --------
    >>> lesson = parse("---\ntitle: Try\n---\n## One\n```yaml\nsettings: {degree: 5}\n```\n"
    ...                "Look.\n")
    >>> lesson.steps[0].title, lesson.steps[0].settings, lesson.steps[0].text
    ('One', {'degree': '5'}, 'Look.')
    """
    lines = text.splitlines()
    front, body_start = _front_matter(lines, source)
    state = _Fresh()
    steps = []
    for heading, block, block_line, markdown in _sections(lines, body_start, source):
        fields = _step_fields(block, block_line, source)
        settings = _apply(state, fields.get("settings"), source)
        names = _setting_names(state)
        steps.append(Step(
            title=lines[heading - 1][3:].strip(), text=markdown,
            settings={key: value for key, (value, _) in settings.items()},
            query=query_of(state),
            show=_controls(fields["show"], names, source) if "show" in fields else None,
            lock=_controls(fields.get("lock"), names, source),
            tab=_tab(fields.get("tab"), source), line=heading))
    if not steps:
        raise LessonError(source, len(lines) or 1,
                          "a lesson needs at least one step: a line starting with '## '.")
    _no_duplicate_titles(steps, source)
    return Lesson(name=name, title=front["title"], description=front.get("description", ""),
                  steps=tuple(steps), source=source)


# ---- the file's parts -------------------------------------------------------------


def _front_matter(lines: list[str], source: str) -> tuple[dict, int]:
    """Return the front matter's values and the index of the first line after it."""
    if not lines or lines[0].strip() != "---":
        raise LessonError(source, 1, "a lesson starts with a front matter: a line '---', "
                          "'title: …', and '---' again.")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise LessonError(source, 1, "the front matter opened here is not closed by '---'.")
    fields = _mapping("\n".join(lines[1:end]), 2, source, "the front matter", FRONT_KEYS)
    if "title" not in fields:
        raise LessonError(source, 1, "the front matter needs a 'title:'.")
    for key, field in fields.items():
        if not isinstance(field.value, str) or not field.value.strip():
            raise LessonError(source, field.line, f"{key} must be text.")
    return {key: field.value.strip() for key, field in fields.items()}, end + 1


def _sections(lines: list[str], start: int, source: str):
    """Yield each step's heading line, YAML block (text), the block's first line, Markdown.

    Line numbers count from 1; the block's is that of its first YAML line.
    """
    headings, fenced = [], False
    for index in range(start, len(lines)):
        line = lines[index]
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            headings.append(index)
        elif not headings and line.strip():
            raise LessonError(source, index + 1,
                              "text before the first step: start each step with '## Title'.")
    for number, heading in enumerate(headings):
        end = headings[number + 1] if number + 1 < len(headings) else len(lines)
        if not lines[heading][3:].strip():
            raise LessonError(source, heading + 1, "a step's '## ' heading needs a title.")
        yield (heading + 1, *_block(lines, heading + 1, end, source))


def _block(lines: list[str], start: int, end: int, source: str) -> tuple[str, int, str]:
    """Split a step's lines into its YAML block (if first) and its Markdown text."""
    first = next((i for i in range(start, end) if lines[i].strip()), end)
    if first == end or lines[first].strip().lower() not in YAML_FENCES:
        return "", first + 1, "\n".join(lines[start:end]).strip()
    close = next((i for i in range(first + 1, end) if lines[i].strip() == "```"), None)
    if close is None:
        raise LessonError(source, first + 1, "the ```yaml block opened here is not closed "
                          "by a line '```' before the next step.")
    return ("\n".join(lines[first + 1:close]), first + 2,
            "\n".join(lines[close + 1:end]).strip())


@dataclass(frozen=True)
class _Field:
    """A key's value in a YAML block, the key's line, and the value's node."""

    value: object
    line: int
    node: yaml.Node
    #: The file's line of the block's first line: a node's line is ``base + mark.line``.
    base: int

    def line_of(self, node: yaml.Node) -> int:
        return self.base + node.start_mark.line


def _mapping(text: str, first_line: int, source: str, what: str,
             keys: tuple[str, ...]) -> dict[str, _Field]:
    """Read a YAML mapping whose keys must be among ``keys``; return key → field."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + (mark.line if mark is not None else 0)
        problem = getattr(error, "problem", None) or str(error)
        raise LessonError(source, line, f"not valid YAML in {what}: {problem}.") from None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise LessonError(source, first_line, f"{what} must be 'name: value' lines.")
    fields = {}
    for key_node, value_node in node.value:
        line = first_line + key_node.start_mark.line
        key = key_node.value
        if key not in keys:
            raise LessonError(source, line, f"unknown key {quoted(key)} in {what}; "
                              f"allowed: {', '.join(keys)}.")
        if key in fields:
            raise LessonError(source, line, f"{key} is given twice in {what}.")
        fields[key] = _Field(values[key], line, value_node, first_line)
    return fields


def _step_fields(block: str, first_line: int, source: str) -> dict[str, _Field]:
    return _mapping(block, first_line, source, "the step's block", STEP_KEYS)


# ---- a step's settings, controls and tab --------------------------------------------


class _Fresh:
    """A model under the app's defaults, with the Explorer's ground-truth switch.

    :func:`~polyfit_explorer.links.apply_query` sets ``truth`` and the model's
    values on it as on the app's Explorer.
    """

    def __init__(self):
        self.model = RegressionModel()

    @property
    def truth(self) -> str:
        return title(type(self.model.data))

    @truth.setter
    def truth(self, name: str):
        if name != self.truth:
            current = self.model.data
            self.model.data = ground_truths()[name](
                n_samples=current.n_samples, random_state=current.random_state)


def _apply(state: _Fresh, field: _Field | None, source: str) -> dict[str, tuple[str, int]]:
    """Apply a step's ``settings`` to ``state``, one at a time; return name → (text, line)."""
    if field is None:
        return {}
    if not isinstance(field.node, yaml.MappingNode):
        raise LessonError(source, field.line, "settings must be 'name: value' lines under it.")
    settings = {}
    for key_node, value_node in field.node.value:
        at = field.line_of(key_node)
        if not isinstance(value_node, yaml.ScalarNode):
            raise LessonError(source, at, f"the value of {key_node.value} must be one value.")
        if key_node.value in settings:
            raise LessonError(source, at, f"the setting {key_node.value} is given twice.")
        settings[key_node.value] = (_scalar_text(key_node.value, value_node, source, at), at)
    # The ground truth first: the data's setting names depend on it.
    for key in sorted(settings, key=lambda key: key != "truth"):
        text, at = settings[key]
        problems = apply_query(state, urlencode([(key, text)]))
        if problems:
            # The same sentences as for a link, which here is the file.
            text = " ".join(problems).replace(" from the link", "").replace(" in the link", "")
            raise LessonError(source, at, text)
    return settings


def _scalar_text(key: str, node: yaml.ScalarNode, source: str, line: int) -> str:
    """Return a value as a link writes it: YAML's true/false as True/False, a truth's class."""
    value = yaml.safe_load(yaml.serialize(node))
    if isinstance(value, bool):
        return str(value)
    if key == "truth":
        return _truth(node.value, source, line)
    return node.value


def _truth(name: str, source: str, line: int) -> str:
    """Return the class name of the ground truth called ``name`` (or its title, or "Original")."""
    names = {}
    for shown, cls in ground_truths().items():
        for alias in (cls.__name__, shown, shown.split(":")[0]):
            names[alias.strip().lower()] = cls.__name__
    if cls_name := names.get(name.strip().lower()):
        return cls_name
    known = ["Original", *(cls.__name__ for cls in ground_truths().values()
                           if cls is not DataGenerator)]
    raise LessonError(source, line, f"unknown ground truth {quoted(name)}; "
                      f"known: {', '.join(known)}.")


def _setting_names(state: _Fresh) -> list[str]:
    generator = state.model.data
    return ["truth", *(f"data.{name}" for name in generator._inputs()), *MODEL_SETTINGS]


def _controls(field: _Field | None, names: list[str], source: str) -> tuple[str, ...]:
    """Check a ``show`` or ``lock`` list of setting names."""
    if field is None:
        return ()
    value, line = field.value, field.line
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LessonError(source, line, "show and lock take a list of setting names, "
                          "e.g. [degree, penalty].")
    unknown = [v for v in value if v not in names]
    if unknown:
        raise LessonError(source, line, f"no control is called {quoted(unknown[0])}; "
                          f"the controls are: {', '.join(names)}.")
    return tuple(dict.fromkeys(value))


def _tab(field: _Field | None, source: str) -> str | None:
    if field is None:
        return None
    value, line = field.value, field.line
    titles = {title.lower(): title for title in TAB_TITLES}
    if not isinstance(value, str) or value.strip().lower() not in titles:
        raise LessonError(source, line, f"no tab is called {quoted(value)}; "
                          f"the tabs are: {', '.join(TAB_TITLES)}.")
    return titles[value.strip().lower()]


def _no_duplicate_titles(steps: list[Step], source: str):
    seen = {}
    for step in steps:
        if step.title in seen:
            raise LessonError(source, step.line, f"the step title {quoted(step.title)} is "
                              f"already that of line {seen[step.title]}; each step needs "
                              "its own title.")
        seen[step.title] = step.line
