"""Shareable links: an Explorer's settings as a URL query, and back.

The query holds the ground truth's class name (``truth``), every input of its generator
(``data.<name>``) and the model's settings (plain names).  Reading a query
applies each value on its own; a value that is malformed or out of range is
skipped with a sentence saying why, so a bad link never breaks the page.
Numbers are read by :func:`~polyfit_explorer.parameters.parse_number`, the
rules of a typed field.  A link is text from outside: the sentences quote its
keys and values cut to 60 characters, and the app shows them as text only.
Points edited by hand and uploaded data are not part of a link.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import param

from .data import ground_truths
from .model import SETTINGS
from .parameters import parse_number, quoted

__all__ = ["MODEL_SETTINGS", "apply_query", "query_of"]

#: The model's settings a link carries, applied in this order.
MODEL_SETTINGS = SETTINGS


def query_of(explorer) -> str:
    """Return the Explorer's settings as a URL query string (without the ``?``)."""
    model, generator = explorer.model, explorer.model.data
    pairs = [("truth", type(generator).__name__)]
    pairs += [(f"data.{name}", _text(generator, name)) for name in generator._inputs()]
    pairs += [(name, _text(model, name)) for name in MODEL_SETTINGS]
    return urlencode(pairs)


def apply_query(explorer, query: str) -> list[str]:
    """Apply a URL query to the Explorer; return a sentence for each value not applied.

    The model's settings are applied together, so the model refits once, not
    once per setting.  If the model refuses them together (a combination that
    no single setting breaks, such as one a subclass's estimator cannot fit),
    it is back where it was, and they are applied again one at a time: each
    refusal then names its own setting, as a single change would.
    """
    values = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True))
    problems = []
    truth = values.pop("truth", None)
    if truth is not None:
        titles = {cls.__name__: name for name, cls in ground_truths().items()}
        titles.update({name: name for name in titles.values()})
        if truth in titles:
            explorer.truth = titles[truth]
        else:
            problems.append(f"Unknown ground truth {quoted(truth)}: kept {explorer.truth!r}.")
    try:
        with param.parameterized.batch_call_watchers(explorer.model):
            return problems + _apply_settings(explorer, values)
    except (ValueError, TypeError):
        return problems + _apply_settings(explorer, values)


def _apply_settings(explorer, values: dict[str, str]) -> list[str]:
    """Set each ``data.<name>`` and model setting of a link; return why any was not set."""
    generator = explorer.model.data
    problems = []
    for key, text in values.items():
        prefix, _, name = key.rpartition(".")
        target = generator if prefix == "data" else explorer.model if not prefix else None
        known = target is not None and (
            name in generator._inputs() if target is generator else name in MODEL_SETTINGS)
        if not known:
            problems.append(f"Ignored the unknown setting {quoted(key)} in the link.")
            continue
        kept = f"Kept {getattr(target, name)!r}."
        try:
            value = _value(target.param[name], text)
        except ValueError as error:
            problems.append(f"Ignored {key} from the link: {error} {kept}")
            continue
        try:
            setattr(target, name, value)
        except (ValueError, TypeError) as error:
            reason = str(error).rstrip(".") + "."
            if "Kept" not in reason:  # the models' refusals say what they kept
                reason += f" {kept}"
            problems.append(f"Ignored {key} from the link: {reason}")
    return problems


def _text(obj: param.Parameterized, name: str) -> str:
    value = getattr(obj, name)
    return repr(value) if isinstance(value, float) else str(value)


def _value(parameter: param.Parameter, text: str):
    """Convert a query value to the parameter's type; the parameter checks the range."""
    if isinstance(parameter, param.Boolean):
        if text not in ("True", "False"):
            raise ValueError(f"{parameter.name} must be True or False.")
        return text == "True"
    if isinstance(parameter, param.Number):  # param.Integer too
        return parse_number(parameter, text)
    if isinstance(parameter, param.Selector):
        choices = list(parameter.objects)
        if text not in choices:
            raise ValueError(f"{parameter.name} must be one of {choices}; got {quoted(text)}.")
    return text
