"""Numbers as a person reads them: counts with thousands separators or SI prefixes, times in
ms or s, accuracies in percent. One rounding everywhere: :data:`PCT_DIGITS` decimals for an
accuracy in percent (compare, the report's tables and the heat maps' cells agree)."""

from __future__ import annotations

import math

__all__ = ["PCT_DIGITS", "count_text", "ms_text", "pct_text", "si_text"]

PCT_DIGITS = 2  # 70.52 %: the rounding of every accuracy a person reads


def _bad(value: float | None) -> bool:
    return value is None or not isinstance(value, (int, float)) or not math.isfinite(value)


def si_text(value: float | None, digits: int = 4) -> str:
    """``30.96 M``, ``1.298 G``, ``812``: ``digits`` significant digits, an SI prefix, never
    an exponent; "–" for a missing value."""
    if _bad(value):
        return "–"
    v = float(value)  # type: ignore[arg-type]
    for size, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            scaled = v / size
            decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(scaled)))))
            return f"{scaled:.{decimals}f} {prefix}"
    return f"{v:,.0f}" if v == int(v) else f"{v:.{digits}g}"


def count_text(value: float | None) -> str:
    """An exact count with thousands separators: ``271,825``."""
    return "–" if _bad(value) else f"{float(value):,.0f}"  # type: ignore[arg-type]


def ms_text(value: float | None) -> str:
    """A time in milliseconds: ``0.412 ms``, ``12.3 ms``, ``1,960 ms``; "–" when missing."""
    if _bad(value):
        return "–"
    v = float(value)  # type: ignore[arg-type]
    if v >= 100:
        return f"{v:,.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.3g} ms"


def pct_text(value: float | None, *, sign: bool = False, digits: int = PCT_DIGITS) -> str:
    """An accuracy already in percent: ``70.52``; "–" when missing. The one rounding
    (:data:`PCT_DIGITS`)."""
    if _bad(value):
        return "–"
    return format(float(value), ("+" if sign else "") + f".{digits}f")  # type: ignore[arg-type]


def objective_text(value: float | None, metric: str | None, std: float | None = None,
                   n: int | None = None) -> str:
    """A value of ``metric`` as a person reads it: accuracies (``ACCURACY_METRICS``, stored in
    [0, 1]) in percent at :data:`PCT_DIGITS` decimals (``70.52%``), other metrics to 4
    significant digits; with ``std`` the spread labelled: ``70.52% ± 0.30 (std, n=3)``."""
    from poolnas.config import ACCURACY_METRICS

    if _bad(value):
        return "–"
    pct = metric in ACCURACY_METRICS
    scale = 100.0 if pct else 1.0
    main = (f"{pct_text(scale * value)}%" if pct  # type: ignore[operator]
            else f"{value:.4g}")
    if std is None or _bad(std) or (n is not None and n < 2):
        return main + (" (one seed)" if n == 1 else "")
    spread = pct_text(scale * std) if pct else f"{std:.2g}"
    return f"{main} ± {spread} (std{f', n={n}' if n else ''})"
