"""``white(fig)`` sets plotly_white as ``update_layout(template="plotly_white")`` does: the same
JSON, key order included, and every figure its own copy of the template."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from poolnas.dashboards._theme import white


def _figures() -> list[go.Figure]:
    scatter = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.7, 0.6], mode="markers", name="a"))
    scatter.update_layout(title="t", xaxis_title="x", legend={"orientation": "h", "y": -0.2})
    heat = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    for col in (1, 2):
        heat.add_trace(go.Heatmap(z=[[1, 2], [3, 4]], colorscale="RdBu"), row=1, col=col)
    box = go.Figure([go.Box(y=[1, 2, 3]), go.Bar(x=["a", "b"], y=[1, 2])])
    return [scatter, heat, box]


def test_same_json_as_the_validating_way() -> None:
    for validated, fast in zip(_figures(), _figures(), strict=True):
        validated.update_layout(template="plotly_white")
        assert white(fast) is fast
        assert fast.to_json() == validated.to_json()
        assert fast.to_html(include_plotlyjs=False, div_id="d") == validated.to_html(include_plotlyjs=False,
                                                                                       div_id="d")


def test_each_figure_has_its_own_template() -> None:
    a, b = white(go.Figure()), white(go.Figure())
    a.layout.template.layout.plot_bgcolor = "red"
    a.update_layout(template_layout_paper_bgcolor="blue")
    assert b.layout.template.layout.plot_bgcolor == "white"
    assert b.layout.template.layout.paper_bgcolor == "white"
    assert white(go.Figure()).layout.template.layout.plot_bgcolor == "white"
    assert pio.templates["plotly_white"].layout.plot_bgcolor == "white"


def test_the_figure_still_validates_afterwards() -> None:
    fig = white(go.Figure())
    with pytest.raises(ValueError, match="not_a_property"):
        fig.update_layout(not_a_property=1)
