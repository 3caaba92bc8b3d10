"""Number controls read on the server by the parameter's own rules.

A browser's number field parses what is typed before the server sees it:
Panel's editable sliders turned ``3,5`` into 35, ``1e308`` into 1308 and
``0x10`` into 10, and kept ``nan`` or ``abc`` in the field while the model
kept its old value, saying nothing.  These controls send the typed text as
it is; :func:`~polyfit_explorer.parameters.parse_number` reads it, and a
refusal is reported (naming the field and the allowed range) while the field
shows the model's value again.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn
import panel_material_ui as pmui
import param

from ..parameters import InvalidValue, parse_number
from ..workarounds import immediate

__all__ = ["TYPED", "WIDGETS", "NumberField", "NumberSlider", "controls", "param_widgets",
           "shown_number"]

#: Width of a number field beside its slider: room for "-1000000" or "0.0001".
FIELD_WIDTH = 96


def shown_number(value: float) -> str:
    """Return ``value`` as a field shows it: what parse_number reads back to it.

    Examples
    --------
    >>> shown_number(3.0), shown_number(0.1), shown_number(1e6), shown_number(4294967295)
    ('3', '0.1', '1000000', '4294967295')
    """
    return str(value) if isinstance(value, int) else format(value, ".12g")


class NumberField(pn.viewable.Viewer):
    """A text field for one numeric parameter of ``owner``, read by the parameter's rules.

    Parameters
    ----------
    owner : param.Parameterized
        The object whose parameter ``name`` the field shows and sets.
    name : str
        The parameter.
    on_error : callable, optional
        Called with the :class:`InvalidValue` of a refused text or value;
        without one it is raised.
    label : bool
        Whether the field shows the parameter's label (a field beside a
        slider goes without: the slider shows it).
    """

    def __init__(self, owner: param.Parameterized, name: str,
                 on_error: Callable[[InvalidValue], None], label: bool = True, **params):
        super().__init__(**params)
        self._owner, self._name, self._on_error = owner, name, on_error or _raise
        parameter = owner.param[name]
        # Beside a slider the field goes without label and tooltip: the slider has both.
        self.input = pmui.TextInput(
            value=shown_number(getattr(owner, name)),
            **(dict(label=parameter.label, description=parameter.doc,
                    sizing_mode="stretch_width") if label else
               dict(placeholder=parameter.label, width=FIELD_WIDTH, size="small")))
        self.input.param.watch(self._typed, "value")
        owner.param.watch(self._show, name)

    def _typed(self, event):
        current = getattr(self._owner, self._name)
        if event.new == shown_number(current):
            return
        try:
            value = parse_number(self._owner.param[self._name], event.new)
        except InvalidValue as error:
            self.input.value = shown_number(current)
            self._on_error(InvalidValue(f"{error} Kept {shown_number(current)}."))
            return
        set_or_report(self._owner, self._name, value, self._on_error)
        self.input.value = shown_number(getattr(self._owner, self._name))

    def _show(self, event):
        self.input.value = shown_number(event.new)

    def __panel__(self):
        """Return the field."""
        return self.input


class NumberSlider(pn.viewable.Viewer):
    """A slider over a numeric parameter's soft bounds, with a field for any allowed value.

    The slider applies its value on release, and at once for arrow keys; the
    field takes values beyond the slider's range, up to the parameter's
    bounds, and the slider then stretches to show them.
    """

    def __init__(self, owner: param.Parameterized, name: str,
                 on_error: Callable[[InvalidValue], None], **params):
        super().__init__(**params)
        self._owner, self._name, self._on_error = owner, name, on_error or _raise
        parameter = owner.param[name]
        kind = pmui.IntSlider if isinstance(parameter, param.Integer) else pmui.FloatSlider
        self._range = parameter.get_soft_bounds()
        self.slider = kind(label=parameter.label, step=parameter.step or 1,
                           description=parameter.doc, show_value=False,
                           sizing_mode="stretch_width", **self._placed(getattr(owner, name)))
        self.field = NumberField(owner, name, on_error, label=False)
        self.slider.param.watch(self._slid, "value_throttled")
        owner.param.watch(self._show, name)
        self._view = immediate(pn.Row(self.slider, self.field, sizing_mode="stretch_width"))

    def _placed(self, value) -> dict:
        """Return the slider's value and a range that holds it."""
        low, high = self._range
        return dict(start=min(low, value), end=max(high, value), value=value)

    def _slid(self, event):
        try:
            setattr(self._owner, self._name, event.new)
        except InvalidValue as error:
            # The slider goes back first, so it shows the kept value when the message does.
            self.slider.param.update(self._placed(getattr(self._owner, self._name)))
            self._on_error(error)

    def _show(self, event):
        self.slider.param.update(self._placed(event.new))

    def __panel__(self):
        """Return the slider with its field beside it."""
        return self._view


def set_or_report(owner: param.Parameterized, name: str, value,
                  on_error: Callable[[InvalidValue], None]) -> bool:
    """Set ``owner.name = value``; report a refusal to ``on_error`` and return False.

    The models roll back a refused change themselves and say what they kept.
    """
    try:
        setattr(owner, name, value)
    except InvalidValue as error:
        on_error(error)
        return False
    return True


#: Radio groups are the material widget itself: Panel's classic one, translated
#: at render time, loses its label.
WIDGETS = {
    "penalty": pmui.RadioBoxGroup,  # radio buttons, as the original's model_type
    "loss": pmui.RadioBoxGroup,
    "alpha_mode": pmui.RadioBoxGroup,
}
#: Numbers a person types: a slider over the soft bounds with a field for any
#: value within the bounds, or a field alone for seeds.
TYPED = {"n_samples": NumberSlider, "x_min": NumberSlider, "x_max": NumberSlider,
         "noise_sd": NumberSlider, "noise_mean": NumberSlider, "random_state": NumberField,
         "seed": NumberField}


def controls(owner: param.Parameterized, names: list[str],
             on_error: Callable[[InvalidValue], None] | None = None,
             typed: dict | None = None) -> list[pn.viewable.Viewable]:
    """Widgets generated from ``owner``'s declarations of ``names``, in that order.

    Names in ``typed`` get that number control, which reports refused text to
    ``on_error``; runs of the others share one ``pn.Param``
    (:func:`param_widgets`).
    """
    typed = typed or {}
    parts, plain = [], []
    for name in [*names, None]:
        if name is not None and name not in typed:
            plain.append(name)
            continue
        if plain:
            parts.append(param_widgets(owner, plain))
            plain = []
        if name is not None:
            parts.append(typed[name](owner, name, on_error))
    return parts


def param_widgets(owner: param.Parameterized, names: list[str]) -> pn.Param:
    """Panel's widgets for ``names``; sliders apply their value on release.

    On release (and at once for arrow keys), as the original's
    ``continuous_update=False`` did: a drag then costs one refit.
    """
    widgets = {}
    for name in names:
        spec = {"type": WIDGETS[name]} if name in WIDGETS else {}
        if isinstance(owner.param[name], param.Number):
            spec["throttled"] = True
        widgets[name] = spec
    return pn.Param(owner, parameters=names, widgets=widgets, show_name=False,
                    sizing_mode="stretch_width")


def _raise(error: Exception):
    raise error
