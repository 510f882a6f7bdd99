"""Accuracy at a price: the objective against a cost (FLOPs or parameters), one point per
configuration, with its Pareto front.

Each point is a configuration (seeds aggregated, :mod:`poolnas.evidence`): x the mean of the
cost over its runs (``params`` or ``flops``: multiply-accumulates per image, forward; the same
for every seed), y the mean of the study's (first) objective with its 95% t-interval where it
ran two seeds or more (``mean_interval``). The front drawn is the one of the objective against
that cost (a configuration no other is at least as good at in both and better at in one),
joined by a step line; the baseline is marked. Single-objective studies get the figure too.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from poolnas.evidence import evidence_of, mean_interval
from poolnas.evidence.pareto import metric_mean, pareto_front
from poolnas.studies.reader import StudyData, label

__all__ = ["COSTS", "CostInfo", "CostPoint", "has_cost", "plot_cost"]

# cost metric -> axis label (both drawn on a log axis)
COSTS = {"flops": "FLOPs (multiply-accumulates per image, forward)", "params": "parameters"}


class CostPoint(NamedTuple):
    key: str  # config_key
    config: str  # its parameters, for the hover
    x: float  # the cost, mean over the runs
    y: float  # the objective's mean, as drawn (accuracies in percent)
    low: float | None  # 95% t-interval of the mean, as drawn; None below two seeds
    high: float | None
    n: int
    on_front: bool
    baseline: bool


class CostInfo(NamedTuple):
    cost: str  # "flops" | "params"
    x_label: str
    y_label: str
    points: list[CostPoint]  # by cost, then best first
    missing: int  # configurations whose runs kept no such cost (older studies)

    @property
    def front(self) -> list[CostPoint]:
        return [p for p in self.points if p.on_front]


def has_cost(data: StudyData, cost: str = "flops") -> bool:
    """Whether any configuration of the study kept this cost."""
    return any(metric_mean(c, cost) is not None for c in evidence_of(data).configs)


def _params_text(conf: Any) -> str:
    return ", ".join(f"{k}={label(v)}" for k, v in conf.params.items()) or "(no searched parameter)"


def _get_cost_info(data: StudyData, cost: str = "flops") -> CostInfo:
    if cost not in COSTS:
        raise ValueError(f"cost: {cost!r} is not accepted; expected one of {', '.join(COSTS)}")
    ev = evidence_of(data)
    front = pareto_front(ev.configs, [(data.metric, data.mode), (cost, "min")], objective=data.metric)
    points = []
    for p in front:
        conf = p.config
        iv = mean_interval(conf)
        points.append(CostPoint(conf.key, _params_text(conf), p.values[1], data.display(conf.mean),
                                data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None,
                                conf.n, p.on_front, conf is ev.baseline_config))
    points.sort(key=lambda q: (q.x, -q.y if data.maximize else q.y))
    return CostInfo(cost, COSTS[cost], data.value_label(), points, len(ev.configs) - len(front))


def _trace(go: Any, points: list[CostPoint], name: str, marker: dict[str, Any]) -> Any:
    return go.Scatter(
        x=[p.x for p in points], y=[p.y for p in points], mode="markers", name=name, marker=marker,
        error_y={"type": "data", "symmetric": False,
                 "array": [(p.high - p.y) if p.high is not None else 0 for p in points],
                 "arrayminus": [(p.y - p.low) if p.low is not None else 0 for p in points]},
        customdata=[[p.n, p.config, "on the front" if p.on_front else "dominated"] for p in points],
        hovertemplate="%{x:.4g}: mean %{y:.3f} (n=%{customdata[0]}, %{customdata[2]})"
                      "<br>%{customdata[1]}<extra></extra>")


def plot_cost(data: StudyData, cost: str = "flops") -> Any:
    """The objective against ``cost`` ("flops" or "params"), log x, front highlighted."""
    import plotly.graph_objects as go

    info = _get_cost_info(data, cost)
    fig = go.Figure()
    off = [p for p in info.points if not p.on_front and not p.baseline]
    on = [p for p in info.front if not p.baseline]
    if off:
        fig.add_trace(_trace(go, off, "dominated", {"color": "rgba(150,150,150,0.7)", "size": 9}))
    if info.front:  # a step line through the front, cheapest first
        fig.add_trace(go.Scatter(x=[p.x for p in info.front], y=[p.y for p in info.front], mode="lines",
                                 line={"shape": "hv", "color": "#d62728", "dash": "dot"},
                                 name="Pareto front", hoverinfo="skip"))
    if on:
        fig.add_trace(_trace(go, on, "on the front", {"color": "#d62728", "size": 12, "symbol": "star"}))
    base = [p for p in info.points if p.baseline]
    if base:
        fig.add_trace(_trace(go, base, "baseline" + (" (on the front)" if base[0].on_front else ""),
                             {"color": "#111", "size": 13, "symbol": "square-open", "line": {"width": 2}}))
    missing = f"; {info.missing} configuration(s) kept no {cost}" if info.missing else ""
    fig.update_layout(
        title=f"{info.y_label} against {info.cost}<br><sup>a point per configuration: mean over its seeds, "
              f"95% t-interval where n ≥ 2; stars: the Pareto front of {data.metric} ({data.mode}) against "
              f"{cost} (min){missing}</sup>",
        xaxis_title=info.x_label + " (log scale)", yaxis_title=info.y_label, template="plotly_white",
        legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(type="log")
    return fig
