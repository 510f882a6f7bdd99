"""The figures' template, plotly's ``plotly_white``, set without validating it again per figure.

``fig.update_layout(template="plotly_white")`` deep-copies the registered template and
validates every property of the copy: 25-40 ms a figure on a 2-core machine, ~20 figures a
report (issue 20 item 3). :func:`white` sets the same template from one copy validated once
per process, as plotly sets a figure's default template (``BaseFigure``'s
``_initialize_layout_template``: validation off while the already valid template is
assigned). The figure's JSON is the same, key order included (tests/dashboards/test_theme.py),
and each figure still holds its own copy of the template (a deep copy per assignment).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["TEMPLATE", "white"]

TEMPLATE = "plotly_white"


@functools.lru_cache(maxsize=1)
def _validated() -> Any:
    """``plotly_white`` as ``template="plotly_white"`` makes it: a validated copy (its keys in
    plotly's property order, not the registry's)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    return go.layout.Template(pio.templates[TEMPLATE])


def white(fig: Any) -> Any:
    """``fig`` with the ``plotly_white`` template, as ``fig.update_layout(template="plotly_white")``
    sets it (same JSON), without validating the template again; returns ``fig``."""
    layout = fig.layout
    validate = getattr(layout, "_validate", None)
    if validate is None:  # a plotly without the switch: the validating way
        fig.update_layout(template=TEMPLATE)
        return fig
    layout._validate = False
    try:
        layout.template = _validated()  # stored as a deep copy of the validated template's JSON
    finally:
        layout._validate = validate
    return fig
