#!/usr/bin/env bash
# Redraw every figure of docs/img from the study databases kept in docs/studies/.
#
#   bash scripts/redraw_figures.sh            # every docs/studies/*.db, every study in it
#   bash scripts/redraw_figures.sh OUT_DIR    # write the PNGs (and reports) there instead
#   STUDIES=DIR bash scripts/redraw_figures.sh # the databases of DIR instead of docs/studies
#
# Each study becomes OUT_DIR/<study>.html (the report) and OUT_DIR/<study>-<figure>.png
# (every figure of the report, through kaleido and a Chromium: apt-get install chromium).
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
done
