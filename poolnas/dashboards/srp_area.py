"""SRP Fig. 7 (appendix): the area ratio of the region SRP pools, per attention block depth.

Area ratio = |region| / (H·W) (Luo et al., "Stochastic Region Pooling", Eq. 2 and 4-5).
SS-SRP draws one H'×W' square, so its ratio is (H'/H)·(W'/W) exactly; MS-SRP pools the
union of M squares, whose area varies: the figure shows its mean, exactly
(``union_area_mean``: mean over the pixels of 1 - (1 - q)^M, q the chance that one square
covers the pixel), and the central 95% of draws of the sampler's law. No training and no
torch involved (``poolnas.attention.srp_geometry``): the report does not import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from poolnas.attention.srp_geometry import region_side, scheduled_lambda, union_area_draws, union_area_mean
from poolnas.config import config_from_dict
from poolnas.dashboards._theme import white
from poolnas.evidence import Configuration, evidence_of
from poolnas.models.placement import check_model_config, plan_sites
from poolnas.studies.reader import StudyData

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_srp_area"]


class _SrpAreaInfo(NamedTuple):
    arch: str
    depth: list[int]  # 1-based index of the attention block
    stage: list[int]
    spatial: list[int]  # H (= W) of the feature map at that block
    ss_lam: list[float]  # λ at the block after the depth schedule
    ss_ratio: list[float]  # (H'/H)², exact
    ms_lam: list[float]
    M: int
    ms_mean: list[float]  # mean of |union| / (H·W), exact (union_area_mean)
    ms_low: list[float]  # 2.5th percentile
    ms_high: list[float]  # 97.5th percentile
    samples: int


def _sites(config: dict[str, Any]) -> list[tuple[int, int]]:
    """(stage, H) of every attention site of the config's network, in depth order."""
    cfg = config_from_dict(config)
    check_model_config(cfg)  # as attention_sites does, without its λ column (it imports torch)
    return [(int(site.stage), int(site.spatial[0])) for site in plan_sites(cfg)
            if site.kind == "attention"]


def _union_ratios(size: int, lam: float, M: int, samples: int, seed: int) -> np.ndarray:
    """|union of M squares| / size² for ``samples`` draws of SRP's region sampler's law."""
    return union_area_draws(size, lam, M, samples, seed)


def _get_srp_area_info(config: dict[str, Any], *, ss_lam: float = 0.8, ms_lam: float = 0.6,
                       M: int = 5, samples: int = 2000, seed: int = 0) -> _SrpAreaInfo:
    """Area ratio per attention block for SS-SRP (λ = ss_lam) and MS-SRP (ms_lam, M).

    Args:
        config: a trial config (dict): its arch, dataset, placement and λ schedule are used
            (sites from ``poolnas.models.attention_sites``, λ per site from
            ``poolnas.attention.scheduled_lambda``).
        ss_lam, ms_lam, M: SRP settings (defaults: the paper's SS λ=0.8, MS λ=0.6, M=5).
        samples: draws per block for MS-SRP's 95% band (its mean is exact).
        seed: seeds the draws, so the figure is reproducible.
    """
    schedule = config.get("attention", {}).get("schedule", "fixed")
    sites = _sites(config)
    rows: dict[str, list[Any]] = {k: [] for k in ("spatial", "stage", "ss_lam", "ss_ratio", "ms_lam",
                                                  "ms_mean", "ms_low", "ms_high")}
    cache: dict[tuple[int, float], tuple[float, float, float]] = {}
    for i, (stage, size) in enumerate(sites):
        lam_ss = scheduled_lambda(ss_lam, i, len(sites), schedule)
        lam_ms = scheduled_lambda(ms_lam, i, len(sites), schedule)
        key = (size, lam_ms)
        if key not in cache:
            r = _union_ratios(size, lam_ms, M, samples, seed + i)
            cache[key] = (union_area_mean(size, lam_ms, M), float(np.quantile(r, 0.025)),
                          float(np.quantile(r, 0.975)))
        mean, low, high = cache[key]
        rows["spatial"].append(size)
        rows["stage"].append(stage)
        rows["ss_lam"].append(lam_ss)
        rows["ss_ratio"].append((region_side(lam_ss, size) / size) ** 2)
        rows["ms_lam"].append(lam_ms)
        rows["ms_mean"].append(mean)
        rows["ms_low"].append(low)
        rows["ms_high"].append(high)
    return _SrpAreaInfo(arch=config.get("model", {}).get("arch", "resnet20"),
                        depth=list(range(1, len(sites) + 1)), M=M, samples=samples, **rows)


def _best(data: StudyData, pooling: str) -> Configuration | None:
    """The best configuration (mean over seeds, :mod:`poolnas.evidence`) with this pooling."""
    return next((c for c in evidence_of(data).configs
                 if c.config and c.flat.get("attention.pooling") == pooling), None)


def applies(data: StudyData) -> bool:
    return _best(data, "srp-ss") is not None or _best(data, "srp-ms") is not None


def _get_study_area_info(data: StudyData, *, samples: int = 2000) -> _SrpAreaInfo:
    """Fig. 7 for the study's best SRP configuration: its arch and schedule, the best SS-SRP λ
    and the best MS-SRP (λ, M) where the study ran them, else the paper's settings."""
    ss, ms = _best(data, "srp-ss"), _best(data, "srp-ms")
    base = (ms or ss).config
    kwargs: dict[str, Any] = {}
    if ss is not None:
        kwargs["ss_lam"] = ss.config["attention"]["lam"]
    if ms is not None:
        kwargs["ms_lam"] = ms.config["attention"]["lam"]
        kwargs["M"] = ms.config["attention"]["M"]
    return _get_srp_area_info(base, samples=samples, **kwargs)


class _RanLine(NamedTuple):
    kind: str  # "SS" | "MS"
    lam: float  # λ as the space file sets it (at the last block under a schedule)
    ratio: list[float]  # per block: exact (SS: the square; MS: the union's mean)


def _get_ran_lines(data: StudyData, info: _SrpAreaInfo) -> list[_RanLine]:
    """One line per λ the study ran (besides the best's, drawn in full): SS and MS (its mean
    area at the best configuration's M) exactly."""
    ss, ms = _best(data, "srp-ss"), _best(data, "srp-ms")
    base = (ms or ss).config
    schedule = base.get("attention", {}).get("schedule", "fixed")
    sites = _sites(base)
    out = []
    for kind, pooling, best_lam in (("SS", "srp-ss", info.ss_lam if ss else []),
                                    ("MS", "srp-ms", info.ms_lam if ms else [])):
        lams = sorted({c.flat.get("attention.lam") for c in evidence_of(data).configs
                       if c.flat.get("attention.pooling") == pooling} - {None})
        for lam in lams:
            per_block = [scheduled_lambda(lam, i, len(sites), schedule) for i in range(len(sites))]
            if _same(per_block, best_lam):
                continue  # the best's λ: drawn in full already
            if kind == "SS":
                ratio = [(region_side(v, size) / size) ** 2
                         for v, (_, size) in zip(per_block, sites, strict=True)]
            else:
                ratio = [union_area_mean(size, v, info.M)
                         for v, (_, size) in zip(per_block, sites, strict=True)]
            out.append(_RanLine(kind, float(lam), ratio))
    return out


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-9 for x, y in zip(a, b, strict=True))


def plot_srp_area(data: StudyData | None = None, *, config: dict[str, Any] | None = None,
                  samples: int = 2000) -> go.Figure:
    """SRP Fig. 7 for a study's best SRP configuration (and a dotted line per other λ it ran),
    or for a given trial config."""
    import plotly.graph_objects as go  # lazy: plotly loads with the first figure drawn

    ran: list[_RanLine] = []
    ss_what = ms_what = "the paper's setting"  # a config, or a kind the study did not run
    if data is not None:
        info = _get_study_area_info(data, samples=samples)
        ran = _get_ran_lines(data, info)
        if _best(data, "srp-ss") is not None:
            ss_what = "the study's best"
        if _best(data, "srp-ms") is not None:
            ms_what = "the study's best"
        ss_what += "" if _best(data, "srp-ss") is not None else ", none ran"
        ms_what += "" if _best(data, "srp-ms") is not None else ", none ran"
    else:
        info = _get_srp_area_info(config or {}, samples=samples)
        ss_what = ms_what = "this config" if config else "the paper's setting"
    fig = go.Figure()
    for line in ran:
        fig.add_trace(go.Scatter(
            x=info.depth, y=line.ratio, mode="lines", opacity=0.45,
            line={"color": "#1f77b4" if line.kind == "MS" else "#d62728", "width": 1, "dash": "dot"},
            name=f"{line.kind}-SRP λ={line.lam:g} (ran)", legendgroup=f"ran-{line.kind}",
            hovertemplate=f"block %{{x}}: %{{y:.3f}} ({line.kind} λ={line.lam:g})<extra></extra>"))
    fig.add_trace(go.Scatter(x=info.depth, y=info.ms_high, mode="lines", line={"width": 0},
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=info.depth, y=info.ms_low, mode="lines", line={"width": 0},
                             fill="tonexty", fillcolor="rgba(31,119,180,0.2)",
                             name="MS-SRP 95% of draws"))
    fig.add_trace(go.Scatter(x=info.depth, y=info.ms_mean, mode="lines", line={"color": "#1f77b4"},
                             name=f"MS-SRP mean, M={info.M} ({ms_what})", customdata=info.ms_lam,
                             hovertemplate="block %{x}: %{y:.3f} (λ=%{customdata:.2f})<extra></extra>"))
    fig.add_trace(go.Scatter(x=info.depth, y=info.ss_ratio, mode="lines", line={"color": "#d62728"},
                             name=f"SS-SRP ({ss_what})", customdata=info.ss_lam,
                             hovertemplate="block %{x}: %{y:.3f} (λ=%{customdata:.2f})<extra></extra>"))
    fig.update_layout(
        title=f"SRP Fig. 7: region area ratio vs block depth, {info.arch}"
              f"<br><sup>λ at the last block: SS {info.ss_lam[-1] if info.ss_lam else 0:g}, "
              f"MS {info.ms_lam[-1] if info.ms_lam else 0:g}; MS band: "
              f"central 95% of {info.samples} draws per block; dotted: the other λ the study ran</sup>",
        xaxis_title="attention block (depth order)", yaxis_title="region area / map area",
        yaxis_range=[0, 1.05], legend={"orientation": "h", "y": -0.2})
    white(fig)
    return fig
