#!/usr/bin/env bash
# Redraw every figure of docs/img from the study databases kept in docs/studies/.
#
#   bash scripts/redraw_figures.sh            # every docs/studies/*.db, every study in it
#   bash scripts/redraw_figures.sh OUT_DIR    # write the PNGs (and reports) there instead
#   STUDIES=DIR bash scripts/redraw_figures.sh # the databases of DIR instead of docs/studies
#
# Each study becomes OUT_DIR/<study>.html (the report) and OUT_DIR/<study>-<figure>.png
# (every figure of the report, through kaleido and a Chromium: apt-get install chromium);
# the stages of a staged design (<study>, <study>-stage2, ...) also <study>-pooled.html and
# <study>-pooled-<figure>.png, read as one (poolnas report --study A --study B ...).
# The reproductions' own databases were not kept when docs/img was first drawn; put a
# study's SQLite file in docs/studies/ (poolnas studies copy --to sqlite:///docs/studies/x.db)
# and this redraws its figures. Nothing is written to the databases.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$here/docs/img}"
py="${PYTHON:-$here/.venv/bin/python}"
[ -x "$py" ] || py=python3
shopt -s nullglob
dbs=("${STUDIES:-$here/docs/studies}"/*.db)
if [ ${#dbs[@]} -eq 0 ]; then
    echo "redraw_figures: no study database (*.db) in ${STUDIES:-docs/studies}: nothing to redraw" >&2
    exit 1
fi
mkdir -p "$out"
for db in "${dbs[@]}"; do
    url="sqlite:///$db"
    studies=$("$py" -c 'import sys, optuna; [print(n) for n in optuna.get_all_study_names(sys.argv[1])]' "$url")
    for study in $studies; do
        tmp=$(mktemp -d)
        "$py" -m poolnas report --study "$study" --storage "$url" -o "$tmp/$study.html" --png "$tmp/png"
        for png in "$tmp"/png/*.png; do
            cp "$png" "$out/$study-$(basename "$png")"
        done
        cp "$tmp/$study.html" "$out/$study.html"
        rm -rf "$tmp"
        echo "redraw_figures: $study ($db) -> $out/$study-*.png"
    done
    # The stages of a staged design (NAME, NAME-stage2, NAME-stage3, ...; the space key looks:)
    # are also reported as one: OUT_DIR/NAME-pooled.html and NAME-pooled-<figure>.png.
    for study in $studies; do
        stages=$(printf '%s\n' $studies | grep -E "^${study//./\\.}-stage[0-9]+$" | sort -V || true)
        [ -n "$stages" ] || continue
        args=(--study "$study")
        for s in $stages; do args+=(--study "$s"); done
        tmp=$(mktemp -d)
        "$py" -m poolnas report "${args[@]}" --storage "$url" -o "$tmp/pooled.html" --png "$tmp/png"
        for png in "$tmp"/png/*.png; do
            cp "$png" "$out/$study-pooled-$(basename "$png")"
        done
        cp "$tmp/pooled.html" "$out/$study-pooled.html"
        rm -rf "$tmp"
        echo "redraw_figures: $study and its stages $(echo $stages | tr '\n' ' ')-> $out/$study-pooled-*.png"
    done
done
