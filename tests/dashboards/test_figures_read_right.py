"""Figures that read right (issue 22 item 7), on synthetic studies with known tables:
discrete values on categorical / log2 axes, no series drawn in the Δ scale's red or blue,
Δ as a marker fill, one kind of band per figure said in the legend, the baseline's band a
strip not a wash, no "learned α (learned α)", and one rounding shared with compare."""

from __future__ import annotations

import pytest

from poolnas.dashboards import _curves
from poolnas.dashboards.ba2m import plot_ba2m_reduction
from poolnas.dashboards.saam_paths import _get_saam_paths_info, plot_saam_paths
from poolnas.dashboards.spem_alpha import _get_spem_alpha_info, plot_spem_alpha
from poolnas.dashboards.srp_heatmap import _get_srp_heatmap_info, plot_srp_heatmap
from poolnas.evidence import evidence_of
from poolnas.studies import from_study
from poolnas.studies.units import pct_text
from poolnas.testing import synthetic_studies as S


def _study(name: str, table):
    study = S.create(name)
    S.fill(study, table)
    return from_study(study)


@pytest.fixture
def saam():
    table = [({"attention.pooling": "gap"}, [0.700, 0.705, 0.710])]
    table += [({"attention.pooling": "score", "attention.paths": k},
               [0.70 + k / 100, 0.71 + k / 100, 0.715 + k / 100]) for k in (1, 2, 4)]
    return _study("saam", table)


@pytest.fixture
def ba2m():
    table = [({"attention.pooling": "gap"}, [0.80, 0.81, 0.82])]
    table += [({"attention.pooling": "gap", "attention.batch_attention.enabled": True,
                "attention.batch_attention.reduction": r}, [0.80 + r / 1000, 0.81, 0.82])
              for r in (2, 4, 8, 16, 32)]
    return _study("ba2m", table)


def _red_or_blue(hex_color: str) -> bool:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return (r > 150 and g < 90 and b < 90) or (b > 150 and r < 90 and g < 150)


def test_k_is_categorical_and_r_is_log2(saam, ba2m) -> None:
    info = _get_saam_paths_info(saam)
    assert [x for s in info.series for x in s.x] == [1, 2, 4]
    fig = plot_saam_paths(saam)
    assert fig.layout.xaxis.type == "category" and list(fig.layout.xaxis.categoryarray) == ["1", "2", "4"]
    fig = plot_ba2m_reduction(ba2m)
    assert fig.layout.xaxis.type == "log" and list(fig.layout.xaxis.tickvals) == [2, 4, 8, 16, 32]
    assert "error" in fig.layout.yaxis.title.text
    bar = next(t.marker.colorbar.title.text for t in fig.data if t.marker and t.marker.showscale)
    assert bar.startswith("Δ error")


def test_lines_are_not_the_delta_colours_and_delta_fills_the_markers(saam) -> None:
    assert not any(_red_or_blue(c) for c in _curves._COLORS)
    fig = plot_saam_paths(saam)
    data = [t for t in fig.data if t.mode == "lines+markers"]
    assert data
    for t in data:
        assert not _red_or_blue(t.line.color)
        assert all(isinstance(c, float) for c in t.marker.color)  # fill = Δ, numbers on the scale
        assert t.marker.line.color == t.line.color and min(t.marker.size) >= 14


def test_one_kind_of_band_said_in_the_legend_and_the_baseline_band_is_a_strip(saam) -> None:
    fig = plot_saam_paths(saam)
    names = [t.name for t in fig.data if t.showlegend is not False and t.name]
    assert any(n.startswith(_curves.BAND) for n in names)
    base = next(n for n in names if n.startswith("baseline"))
    assert "(std, n=3)" in base and "interval" not in " ".join(names)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert rects and all(s.xref == "paper" and s.x1 - s.x0 <= 0.05 for s in rects)


def test_learned_alpha_is_named_once() -> None:
    table = [({"attention.pooling": "gap"}, [0.70, 0.71]),
             ({"attention.pooling": "mix", "attention.mix_alpha": 0.1}, [0.70, 0.72]),
             ({"attention.pooling": "mix", "attention.mix_alpha": 0.9}, [0.71, 0.72]),
             ({"attention.pooling": "mix", "attention.mix_alpha": "learn"}, [0.72, 0.73])]
    data = _study("spem", table)
    info = _get_spem_alpha_info(data)
    assert [name for name, _ in info.learned] == [""]
    texts = [a.text for a in plot_spem_alpha(data).layout.annotations]
    learned = next(t for t in texts if t.startswith("learned α"))
    assert learned.startswith("learned α: 72.50 ± 0.71 (std), n=2") and "(learned α)" not in learned


def test_heat_map_rounds_as_compare_does() -> None:
    """A mean whose percent sits on a rounding edge: 0.70525 is 70.52499... or 70.525 depending
    on where the 100 is applied. The cell and compare's table print the same digits."""
    table = [({"attention.pooling": "gap"}, [0.7052, 0.7053]),
             ({"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 3}, [0.7051, 0.7054]),
             ({"attention.pooling": "srp-ms", "attention.lam": 0.8, "attention.M": 3}, [0.7061, 0.7064])]
    data = _study("round", table)
    info = _get_srp_heatmap_info(data)
    conf = next(c for c in evidence_of(data).configs if c.params.get("attention.lam") == 0.6)
    from poolnas.evidence.commands import _num

    compare_text = _num(conf.mean, 100.0, ".2f")
    cell = info.panels[0].mean[0][0]
    assert f"{cell:.2f}" == compare_text == pct_text(100 * conf.mean)
    text = plot_srp_heatmap(data).data[0].text[0][0]
    assert text.startswith(compare_text + " ± ")


def test_srp_area_legend_does_not_call_a_setting_that_did_not_run_the_best() -> None:
    """Only MS-SRP ran: the SS line is the paper's setting, not "SS-SRP (best)"."""
    from poolnas.dashboards.srp_area import plot_srp_area

    data = _study("area", [({"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 3},
                            [0.7, 0.71])])
    names = [t.name for t in plot_srp_area(data, samples=50).data if t.name]
    assert "SS-SRP (the paper's setting, none ran)" in names and "SS-SRP (best)" not in names
    assert "MS-SRP mean, M=3 (the study's best)" in names
