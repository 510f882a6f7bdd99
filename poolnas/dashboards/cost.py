"""Accuracy at a price: the objective against a cost (FLOPs or parameters), one point per
configuration, with its Pareto front.

Each point is a configuration (seeds aggregated, :mod:`poolnas.evidence`): x the mean of the
cost over its runs (``params`` or ``flops``: multiply-accumulates plus the poolings' and
attention's element-wise ops per image, forward, at inference, :mod:`poolnas.models.cost`;
the same for every seed), y the mean of the study's (first) objective with its 95%
t-interval where it ran two seeds or more (``mean_interval``). The baseline is marked.

Two fronts, both of the objective against that cost:

- on the front (filled stars, joined by a step line): no configuration is at least as good
  in both means and better in one;
- within noise of the front (open stars): dominated on the means, but by none beyond noise:
  every configuration as cheap and more accurate is so only within the verdict's 95%
  interval of the difference (``poolnas.evidence.difference``: paired over shared seeds,
  else Welch), so the seeds cannot say it is worse.

The x axis is logarithmic only when the costs span a factor of :data:`LOG_SPAN` or more;
otherwise linear and at least ±:data:`MIN_HALF_SPAN` of the middle wide, so that mix's 18
extra parameters (0.01%) do not spread the points across the figure. Ticks and hovers read
``30.96 M``, never ``3.096e+07``. Single-objective studies get the figure too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from poolnas.dashboards._theme import white
from poolnas.evidence import Configuration, difference, evidence_of, mean_interval
from poolnas.evidence._tdist import t_quantile
from poolnas.evidence.pareto import ParetoPoint, metric_mean, pareto_front
from poolnas.studies.reader import StudyData, label
from poolnas.studies.units import si_text

if TYPE_CHECKING:
    from types import ModuleType

    from plotly.graph_objects import Figure, Scatter

__all__ = ["COSTS", "LOG_SPAN", "MIN_HALF_SPAN", "CostInfo", "CostPoint", "has_cost", "plot_cost"]

# cost metric -> axis label
COSTS = {"flops": "FLOPs per image at inference (MACs + pooling/attention ops)", "params": "parameters"}
LOG_SPAN = 4.0  # a log axis from max/min >= 4
MIN_HALF_SPAN = 0.05  # a linear axis spans at least ±5% of its middle


class CostPoint(NamedTuple):
    key: str  # config_key
    config: str  # its parameters, for the hover
    x: float  # the cost, mean over the runs
    y: float  # the objective's mean, as drawn (accuracies in percent)
    low: float | None  # 95% t-interval of the mean, as drawn; None below two seeds
    high: float | None
    n: int
    on_front: bool  # on the front of the means
    baseline: bool
    noise_front: bool = False  # dominated by none beyond noise (True for every point on_front)


class CostInfo(NamedTuple):
    cost: str  # "flops" | "params"
    x_label: str
    y_label: str
    points: list[CostPoint]  # by cost, then best first
    missing: int  # configurations whose runs kept no such cost (older studies)
    axis_type: str = "log"  # "log" | "linear"
    x_range: tuple[float, float] | None = None  # linear axes: the range drawn

    @property
    def front(self) -> list[CostPoint]:
        return [p for p in self.points if p.on_front]


def has_cost(data: StudyData, cost: str = "flops") -> bool:
    """Whether any configuration of the study kept this cost."""
    return any(metric_mean(c, cost) is not None for c in evidence_of(data).configs)


def _params_text(conf: Configuration) -> str:
    return ", ".join(f"{k}={label(v)}" for k, v in conf.params.items()) or "(no searched parameter)"


def _beyond_noise(better: Configuration, worse: Configuration, maximize: bool) -> bool:
    """Whether ``better``'s objective is better than ``worse``'s beyond the verdict's 95%
    interval of their difference (no interval: the seeds cannot tell, so not beyond noise)."""
    iv = difference(better, worse)
    if iv.low is None or iv.high is None or iv.high - iv.low <= 1e-9 * max(1.0, abs(iv.delta)):
        return False  # no interval, or a zero-width one (the same difference on every seed)
    return iv.low > 0 if maximize else iv.high < 0


_NORMAL_975 = 1.95  # just under the normal's 0.975 quantile (1.95996), below every t's


def _dominated_beyond_noise(front: list[ParetoPoint], maximize: bool) -> list[bool]:
    """For each point of ``front``: whether some other point at most as costly (``values[1]``)
    is better beyond noise (:func:`_beyond_noise`), the same decisions for a whole front at once.

    numpy settles most of the ~n²/2 pairs from bounds: every 0.975 t-quantile lies between the
    normal's and the t-quantile at the smallest degrees of freedom the pair can have (paired:
    its shared seeds - 1; Welch: min(n_a, n_b) - 1, the Welch-Satterthwaite lower bound), so a
    difference below ~1.95 of its standard error is not beyond noise and one above the upper
    bound (with a margin for rounding) is; the pairs in between go to :func:`_beyond_noise`.
    """
    import numpy as np  # lazy: as plotly, loaded by the report only

    confs = [p.config for p in front]
    m = len(confs)
    if m < 2:
        return [False] * m
    column: dict[object, int] = {}
    by_seed = [c.by_seed() for c in confs]
    for seeds in by_seed:
        for s in seeds:
            column.setdefault(s, len(column))
    vals = np.full((m, max(len(column), 1)), np.nan)
    for i, seeds in enumerate(by_seed):
        for s, v in seeds.items():
            vals[i, column[s]] = v
    cost = np.array([p.values[1] for p in front], dtype=float)
    n = np.array([c.n for c in confs])
    mean = np.array([c.mean for c in confs])
    var_n = np.array([np.var(c.values, ddof=1) / c.n if c.n >= 2 else np.nan for c in confs])
    present = ~np.isnan(vals)
    sign = 1.0 if maximize else -1.0
    dominated = np.zeros(m, dtype=bool)
    rows = max(1, 2_000_000 // (m * vals.shape[1]))  # bounded memory: a block of worse points
    for start in range(0, m, rows):
        j = np.arange(start, min(m, start + rows))  # the worse point of each pair; i: the better
        shared = present[j][:, None, :] & present[None, :, :]
        ns = shared.sum(-1)
        d = np.where(shared, vals[None, :, :] - vals[j][:, None, :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d_mean = d.sum(-1) / ns
            d_var = (np.where(shared, d - d_mean[..., None], 0.0) ** 2).sum(-1) / (ns - 1)
            paired = ns >= 2
            welch = ~paired & (n[None, :] >= 2) & (n[j][:, None] >= 2)
            delta = np.where(paired, d_mean, mean[None, :] - mean[j][:, None])
            se = np.where(paired, np.sqrt(d_var / ns), np.sqrt(var_n[None, :] + var_n[j][:, None]))
            df_low = np.maximum(np.where(paired, ns - 1, np.minimum(n[None, :], n[j][:, None]) - 1), 0)
            cheaper = (cost[None, :] <= cost[j][:, None]) & (np.arange(m)[None, :] != j[:, None])
            pair = (paired | welch) & cheaper
            t_high = np.full(int(df_low.max()) + 1, np.inf)  # by degrees of freedom; 0: no pair
            for k in np.unique(df_low[pair]):
                t_high[k] = t_quantile(float(k), 0.975)
            s = sign * delta
            surely_not = ~pair | (s <= _NORMAL_975 * se)
            surely = pair & (s > t_high[df_low] * se * 1.001) & (se > 1e-8 * np.maximum(1.0, np.abs(delta)))
        dominated[j] = surely.any(-1)
        for a, b in zip(*np.nonzero(~surely_not & ~surely), strict=True):
            if not dominated[j[a]] and _beyond_noise(confs[b], confs[j[a]], maximize):
                dominated[j[a]] = True
    return dominated.tolist()


def _axis(xs: list[float]) -> tuple[str, tuple[float, float] | None]:
    """Log when the costs span a factor of LOG_SPAN, else linear at least ±MIN_HALF_SPAN wide."""
    lo, hi = min(xs), max(xs)
    if lo > 0 and hi / lo >= LOG_SPAN:
        return "log", None
    mid = (lo + hi) / 2
    half = max((hi - lo) / 2 * 1.15, abs(mid) * MIN_HALF_SPAN, 1.0)
    return "linear", (mid - half, mid + half)


def _get_cost_info(data: StudyData, cost: str = "flops") -> CostInfo:
    if cost not in COSTS:
        raise ValueError(f"cost: {cost!r} is not accepted; expected one of {', '.join(COSTS)}")
    ev = evidence_of(data)
    front = pareto_front(ev.configs, [(data.metric, data.mode), (cost, "min")], objective=data.metric)
    points = []
    for p, dominated in zip(front, _dominated_beyond_noise(front, data.maximize), strict=True):
        conf = p.config
        iv = mean_interval(conf)
        points.append(CostPoint(conf.key, _params_text(conf), p.values[1], data.display(conf.mean),
                                data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None,
                                conf.n, p.on_front, conf is ev.baseline_config, p.on_front or not dominated))
    points.sort(key=lambda q: (q.x, -q.y if data.maximize else q.y))
    axis_type, x_range = _axis([q.x for q in points]) if points else ("log", None)
    return CostInfo(cost, COSTS[cost], data.value_label(), points, len(ev.configs) - len(front),
                    axis_type, x_range)


def _trace(go: ModuleType, points: list[CostPoint], name: str, marker: dict[str, Any]) -> Scatter:
    return go.Scatter(
        x=[p.x for p in points], y=[p.y for p in points], mode="markers", name=name, marker=marker,
        error_y={"type": "data", "symmetric": False,
                 "array": [(p.high - p.y) if p.high is not None else 0 for p in points],
                 "arrayminus": [(p.y - p.low) if p.low is not None else 0 for p in points]},
        customdata=[[p.n, p.config, "on the front" if p.on_front else
                     "within noise of the front" if p.noise_front else "dominated beyond noise",
                     si_text(p.x)] for p in points],
        hovertemplate="%{customdata[3]}: mean %{y:.2f} (n=%{customdata[0]}, %{customdata[2]})"
                      "<br>%{customdata[1]}<extra></extra>")


def plot_cost(data: StudyData, cost: str = "flops") -> Figure:
    """The objective against ``cost`` ("flops" or "params"), the fronts highlighted."""
    import plotly.graph_objects as go  # lazy: plotly loads with the first figure drawn

    info = _get_cost_info(data, cost)
    fig = go.Figure()
    off = [p for p in info.points if not p.noise_front and not p.baseline]
    near = [p for p in info.points if p.noise_front and not p.on_front and not p.baseline]
    on = [p for p in info.front if not p.baseline]
    if off:
        fig.add_trace(_trace(go, off, "dominated", {"color": "rgba(150,150,150,0.7)", "size": 9}))
    if near:
        fig.add_trace(_trace(go, near, "within noise of the front",
                             {"color": "#d62728", "size": 12, "symbol": "star-open", "line": {"width": 2}}))
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
              f"error bars: 95% t-interval of the mean where n ≥ 2; stars: the Pareto front of "
              f"{data.metric} "
              f"({data.mode}) against {cost} (min); open stars: dominated only within noise{missing}</sup>",
        xaxis_title=info.x_label + (" (log scale)" if info.axis_type == "log" else ""),
        yaxis_title=info.y_label, legend={"orientation": "h", "y": -0.2})
    white(fig)
    fig.update_xaxes(type=info.axis_type, tickformat="~s", exponentformat="SI",
                     **({"range": list(info.x_range)} if info.x_range else {}))
    return fig
