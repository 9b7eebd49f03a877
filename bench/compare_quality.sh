#!/usr/bin/env bash
# Same-weights, same-images quality comparison: alphacut vs rembg vs @imgly/background-removal-node
# on every set of an evaldata folder (<set>/images + <set>/gt), scored by `alphacut eval`.
#
#   bench/compare_quality.sh                       # everything (all 260 evaldata images, ~45 min on 2 cores)
#   bench/compare_quality.sh --limit 3             # quick run: 3 images per set
#   bench/compare_quality.sh --steps alphacut,score,report   # only rerun alphacut and the table
#
# Steps (--steps, comma-separated; default all of them, in this order):
#   setup     run bench/setup_peers.sh (it skips what is already installed)
#   peers     run each peer over every set into OUT/<tool>/<set>/<stem>.png, one peer after the other;
#             images whose matte already exists are skipped, so an interrupted run resumes.
#             Timings (the peer scripts' JSON) go to OUT/timings/<tool>/<set>.json; a resumed set
#             keeps the per-image seconds of earlier runs.
#   alphacut  `alphacut eval --root EVALDATA --save-pred OUT/alphacut --json` with the default model
#             (int8, derived from the peers' file), and again with `-m isnet-general-use-fp16` (the very
#             file the peers run) into OUT/alphacut-fp16 (always rerun: it is the side that changes)
#   score     `alphacut eval --root EVALDATA --pred OUT/<tool> --json` for each peer
#   report    OUT/compare.md: per set, MAE, max Fβ, Sα, Eφ (+ SAD, MSE, Grad on the soft sets) per
#             tool, best value in bold; plus the peers' seconds/image
#
# Options:
#   --evaldata DIR   default /work/shared/evaldata (or $EVALDATA)
#   --out DIR        default out/compare (gitignored)
#   --model PATH     the ISNet fp16 weights the peers load (default ~/.cache/alphacut/models/isnet-general-use-fp16.onnx)
#   --limit N        N images per set, evenly spaced over the sorted stems (the ones `alphacut eval
#                    --limit N` scores)
#   --steps LIST     see above
#   --tools LIST     peers to run/score (default rembg,imgly)
# Env: ALPHACUT_PY (default the repo's .venv/bin/python from `make setup`, else python3) runs alphacut from this
# checkout's src/ and the report formatter; PYTHON/NPM are passed to setup_peers.sh.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

EVALDATA="${EVALDATA:-$repo/../shared/evaldata}"
OUT="out/compare"
MODEL="$HOME/.cache/alphacut/models/isnet-general-use-fp16.onnx"
LIMIT=""
STEPS="setup,peers,alphacut,score,report"
TOOLS="rembg,imgly"
if [[ -z "${ALPHACUT_PY:-}" ]]; then
  if [[ -x "$repo/.venv/bin/python" ]]; then ALPHACUT_PY="$repo/.venv/bin/python"; else ALPHACUT_PY=python3; fi
fi

die() { echo "compare_quality: error: $*" >&2; exit 1; }
say() { echo "compare_quality: $(date +%H:%M:%S) $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --evaldata) EVALDATA="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --limit) LIMIT="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --tools) TOOLS="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option '$1'; see --help." ;;
  esac
done
[[ -z "$LIMIT" || "$LIMIT" =~ ^[1-9][0-9]*$ ]] || die "--limit must be a positive integer, got '$LIMIT'."
[[ -d "$EVALDATA" ]] || die "--evaldata $EVALDATA is not a folder."
case "$(cd "$EVALDATA" && pwd -P)" in *sealed*) die "refusing to run on a sealed set ($EVALDATA)." ;; esac
IFS=, read -r -a tools <<< "$TOOLS"
for t in "${tools[@]}"; do [[ "$t" == rembg || "$t" == imgly ]] || die "unknown tool '$t'; use rembg and/or imgly."; done
has_step() { [[ ",$STEPS," == *",$1,"* ]]; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
limit_args=()
[[ -n "$LIMIT" ]] && limit_args=(--limit "$LIMIT")

sets=()
for d in "$EVALDATA"/*/; do
  [[ -d "$d/images" && -d "$d/gt" ]] && sets+=("$(basename "$d")")
done
[[ ${#sets[@]} -gt 0 ]] || die "no <set>/images + <set>/gt folders in $EVALDATA."

step_start=0
begin() { step_start=$SECONDS; say "$1"; }
done_step() { say "$1 done in $((SECONDS - step_start)) s"; echo "$1 $((SECONDS - step_start))" >> "$OUT/steps.txt"; }

# ------------------------------------------------------------------------------------------ setup
if has_step setup; then
  begin "setup: bench/setup_peers.sh ${tools[*]}"
  "$here/setup_peers.sh" "${tools[@]}"
  done_step setup
fi

# ------------------------------------------------------------------------------------------ peers
# Stage the images still to do as symlinks, so the peer scripts (which take a folder) only see those.
# The images are the ones `alphacut eval --limit` scores (alphacut's own pairing and evenly spaced
# subset), minus those whose matte already exists.
stage_todo() {  # tool set [base] -> prints the staging folder, empty if nothing to do
  local tool="$1" set="$2" stage="${3:-$OUT/.todo}/$1/$2" n=0 img
  rm -rf "$stage"; mkdir -p "$stage"
  while IFS= read -r img; do
    [[ -s "$OUT/$tool/$set/$(basename "${img%.*}").png" ]] || { ln -s "$img" "$stage/"; n=$((n + 1)); }
  done < <(PYTHONPATH="$repo/src" "$ALPHACUT_PY" - "$EVALDATA/$set" "${LIMIT:-0}" <<'PY'
import sys
from pathlib import Path
from alphacut.eval.sets import EvalSet
d, limit = Path(sys.argv[1]), int(sys.argv[2]) or None
for pair in EvalSet.from_dirs(d / "images", d / "gt", name=d.name).subset(limit).pairs:
    print(pair.image.resolve())
PY
)
  [[ $n -gt 0 ]] && echo "$stage"
  return 0
}

merge_timings() {  # new.json old.json -> old.json gets new per-image seconds merged in
  "$ALPHACUT_PY" - "$1" "$2" <<'PY'
import json, statistics, sys
new, old = (json.load(open(p)) for p in sys.argv[1:3])
per = {**old.get("per_image_s", {}), **new["per_image_s"]}
new["per_image_s"] = per
new["images"] = len(per)
new["median_s"] = statistics.median(per.values())
new["mean_s"] = statistics.fmean(per.values())
new["wall_s"] = old.get("wall_s", 0.0) + new["wall_s"]
new["resumed"] = True
json.dump(new, open(sys.argv[2], "w"), indent=2)
PY
}

run_peer() {  # tool images out json
  case "$1" in
    rembg) "$here/.envs/rembg/bin/python" "$here/peer_rembg.py" --model "$MODEL" --images "$2" --out "$3" --json "$4" ;;
    imgly) node "$here/peer_imgly.mjs" --model "$MODEL" --images "$2" --out "$3" --json "$4" ;;
  esac
}

if has_step peers; then
  [[ -f "$MODEL" ]] || die "--model $MODEL is not a file; run 'alphacut models pull' (or pass --model)."
  for tool in "${tools[@]}"; do
    begin "peers: $tool over ${#sets[@]} sets"
    for set in "${sets[@]}"; do
      stage="$(stage_todo "$tool" "$set")"
      if [[ -z "$stage" ]]; then say "  $tool/$set: all done (skipped)"; continue; fi
      say "  $tool/$set: $(ls "$stage" | wc -l) images"
      mkdir -p "$OUT/$tool/$set" "$OUT/timings/$tool"
      json="$OUT/timings/$tool/$set.json"
      if [[ -f "$json" ]]; then
        run_peer "$tool" "$stage" "$OUT/$tool/$set" "$json.new"
        merge_timings "$json.new" "$json"; rm -f "$json.new"
      else
        run_peer "$tool" "$stage" "$OUT/$tool/$set" "$json"
      fi
      rm -rf "$stage"
    done
    done_step "peers:$tool"
  done
  rm -rf "$OUT/.todo"
fi

# --------------------------------------------------------------------------------------- alphacut
alphacut() { PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" "$ALPHACUT_PY" -m alphacut.cli "$@"; }

if has_step alphacut; then
  # Two rows: the default model (int8, derived from the peers' file) and the very file the peers run.
  for row in alphacut alphacut-fp16; do
    model_args=()
    [[ "$row" == alphacut-fp16 ]] && model_args=(-m isnet-general-use-fp16)
    begin "$row: eval --root $EVALDATA ${model_args[*]} --save-pred $OUT/$row (runs the pipeline and scores it)"
    rm -rf "${OUT:?}/$row"
    alphacut eval --root "$EVALDATA" "${model_args[@]}" --save-pred "$OUT/$row" --json "${limit_args[@]}" \
      > "$OUT/$row.json.tmp"
    mv "$OUT/$row.json.tmp" "$OUT/$row.json"
    done_step "$row"
  done
  git -C "$repo" rev-parse --short HEAD > "$OUT/alphacut.commit" 2>/dev/null || true
fi

# ------------------------------------------------------------------------------------------ score
# A peer's set whose mattes are not all there (an unfinished peers step) is left out of its score,
# with a warning, and shows as "—" in the report.
if has_step score; then
  for tool in "${tools[@]}"; do
    begin "score: eval --root $EVALDATA --pred $OUT/$tool"
    root="$EVALDATA" complete=() missing=()
    for set in "${sets[@]}"; do
      # its own staging folder: a peers step may be running on $OUT/.todo
      stage="$(stage_todo "$tool" "$set" "$OUT/.check.$$")"
      if [[ -z "$stage" ]]; then complete+=("$set"); else missing+=("$set"); fi
    done
    rm -rf "$OUT/.check.$$"
    if [[ ${#complete[@]} -eq 0 ]]; then say "  $tool: no set has all its mattes; not scored (run --steps peers)"; continue; fi
    if [[ ${#missing[@]} -gt 0 ]]; then
      say "  warning: $tool lacks mattes in ${missing[*]}; scoring only ${complete[*]}"
      root="$OUT/.root.$$/$tool"; rm -rf "$root"; mkdir -p "$root"
      for set in "${complete[@]}"; do ln -s "$(cd "$EVALDATA/$set" && pwd)" "$root/$set"; done
    fi
    alphacut eval --root "$root" --pred "$OUT/$tool" --json "${limit_args[@]}" > "$OUT/$tool.json.tmp"
    mv "$OUT/$tool.json.tmp" "$OUT/$tool.json"
    rm -rf "$OUT/.root.$$"
    done_step "score:$tool"
  done
fi

# ----------------------------------------------------------------------------------------- report
if has_step report; then
  begin "report: $OUT/compare.md"
  "$ALPHACUT_PY" - "$OUT" "$LIMIT" alphacut alphacut-fp16 "${tools[@]}" > "$OUT/compare.md" <<'PY'
"""Markdown comparison over the `alphacut eval --json` reports in OUT/<tool>.json."""
import json
import statistics
import sys
from pathlib import Path

out, limit, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
reports = {n: json.loads((out / f"{n}.json").read_text()) for n in names if (out / f"{n}.json").is_file()}
names = list(reports)
if not names:
    sys.exit("compare_quality: no <tool>.json reports to compare; run the alphacut/score steps first.")
LABEL = {"alphacut": "alphacut (default: int8)", "alphacut-fp16": "alphacut -m isnet-general-use-fp16", "rembg": "rembg 2.0.86", "imgly": "imgly-node 1.4.5"}
# (key, header, lower is better, format)
METRICS = [("mae", "MAE ↓", True, "{:.4f}"), ("max_fbeta", "max Fβ ↑", False, "{:.4f}"),
           ("s_measure", "Sα ↑", False, "{:.4f}"), ("e_measure", "Eφ ↑", False, "{:.4f}")]
SOFT = [("sad", "SAD ↓", True, "{:.2f}"), ("mse", "MSE ↓", True, "{:.4f}"), ("grad", "Grad ↓", True, "{:.2f}")]


def by_set(name):
    return {s["name"]: s for s in reports[name]["sets"]}


sets = {n: by_set(n) for n in names}
set_names = [s["name"] for s in reports[names[0]]["sets"]]
set_names += [k for n in names for k in sets[n] if k not in set_names]
for n in names:
    for k in sets[n]:
        if any(k in sets[m] and sets[m][k]["n"] != sets[n][k]["n"] for m in names):
            sys.exit(f"compare_quality: {n}.json scored other images of {k} than another tool; rerun with the same --limit.")
common = [k for k in set_names if all(k in sets[n] for n in names)]
DASH = "—"


def cells(rows, metrics):
    """rows: list of (label, dict or None); bold the best (as printed) per metric; None -> a dash."""
    out_rows = []
    for key, _, lower, fmt in metrics:
        shown = [fmt.format(r[key]) if r is not None else DASH for _, r in rows]
        vals = [float(s) for s in shown if s != DASH]
        best = (min if lower else max)(vals)
        out_rows.append([f"**{s}**" if s != DASH and float(s) == best else s for s in shown])
    return list(zip(*out_rows))


lines = []
ref = {k: next(sets[n][k] for n in names if k in sets[n]) for k in set_names}
total = sum(ref[k]["n"] for k in set_names)
lines.append(f"Images: {total} over {len(set_names)} sets" + (f" (at most {limit} per set)" if limit else "") +
             "; best value per set in **bold** (compared as printed). ↓ lower is better, ↑ higher is better.\n")
lines.append("| set | n | tool | " + " | ".join(h for _, h, _, _ in METRICS + SOFT) + " |")
lines.append("|---|---|---|" + "---|" * len(METRICS + SOFT))
for k in set_names:
    soft = ref[k]["soft"]
    rows = [(n, sets[n].get(k)) for n in names]
    main = cells(rows, METRICS)
    extra = cells(rows, SOFT) if soft else [("",) * len(SOFT)] * len(rows)
    for i, n in enumerate(names):
        lines.append(f"| {k if i == 0 else ''} | {ref[k]['n'] if i == 0 else ''} | {LABEL.get(n, n)} | "
                     + " | ".join(main[i] + tuple(extra[i])) + " |")
if common:
    keys = [m[0] for m in METRICS]
    rows = [(n, {m: statistics.fmean(sets[n][k][m] for k in common) for m in keys}) for n in names]
    main = cells(rows, METRICS)
    label = ("**mean over sets**" if len(common) == len(set_names)
             else f"**mean over the {len(common)} sets all tools have**")
    for i, n in enumerate(names):
        lines.append(f"| {label if i == 0 else ''} | {sum(ref[k]['n'] for k in common) if i == 0 else ''} | "
                     f"{LABEL.get(n, n)} | " + " | ".join(main[i]) + " |" + " |" * len(SOFT))
for n in names:
    ks = [k for k in set_names if k not in sets[n]]
    if ks:
        lines.append(f"\n{DASH}: {LABEL.get(n, n)} has no scores for {', '.join(ks)} (its mattes were not all there).")

# Per-image MAE: on how many images is alphacut better / worse than each peer (|Δ| < 1e-4 is a tie).
if "alphacut" in names and len(names) > 1:
    lines.append("\nPer-image MAE, alphacut against each peer (better / tie / worse; tie = |ΔMAE| < 0.0001):\n")
    lines.append("| set | " + " | ".join(f"vs {LABEL.get(n, n)}" for n in names if not n.startswith("alphacut")) + " |")
    lines.append("|---|" + "---|" * sum(not n.startswith("alphacut") for n in names))
    totals = {n: [0, 0, 0] for n in names}
    for k in set_names:
        ours = {p["stem"]: p["mae"] for p in sets["alphacut"].get(k, {"pairs": []})["pairs"]}
        row = []
        for n in names:
            if n.startswith("alphacut"):
                continue
            b = t = w = 0
            if k not in sets[n] or k not in sets["alphacut"]:
                row.append(DASH)
                continue
            for p in sets[n][k]["pairs"]:
                d = ours[p["stem"]] - p["mae"]
                if abs(d) < 1e-4: t += 1
                elif d < 0: b += 1
                else: w += 1
            totals[n] = [totals[n][0] + b, totals[n][1] + t, totals[n][2] + w]
            row.append(f"{b} / {t} / {w}")
        lines.append(f"| {k} | " + " | ".join(row) + " |")
    lines.append("| **all** | " + " | ".join(" / ".join(map(str, totals[n])) for n in names if not n.startswith("alphacut")) + " |")

# Peers' speed from their own timing JSON (one call per decoded image, after a warm-up call).
tim = out / "timings"
speed = []
for n in names:
    files = sorted((tim / n).glob("*.json")) if (tim / n).is_dir() else []
    per = [v for f in files for v in json.loads(f.read_text())["per_image_s"].values()]
    if per:
        speed.append(f"| {LABEL.get(n, n)} | {len(per)} | {statistics.median(per):.2f} | {statistics.fmean(per):.2f} |")
if speed:
    lines.append("\nPeers' seconds per image (their own timing: one call on an already decoded image, after a "
                 "warm-up; CPU shared with other jobs, so indicative only):\n")
    lines.append("| tool | images | median s | mean s |")
    lines.append("|---|---|---|---|")
    lines.extend(speed)
print("\n".join(lines))
PY
  cat "$OUT/compare.md"
  done_step report
fi
