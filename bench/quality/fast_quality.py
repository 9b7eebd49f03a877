"""What a --fast resolution costs in quality: MAE (and max F-beta) per evaldata set against the default.

    .venv/bin/python bench/quality/fast_quality.py --root ../shared/evaldata --out out/fastq [--resolutions 768,640] [--limit N]

For the default mode and each resolution R, `alphacut remove <set>/images -o OUT/<R>/<set> -f mask
--skip-existing` (R: `--fast --resolution R`) writes every set's mattes; a run that was stopped picks up
where it left off (one file per image). Then each folder is scored like `alphacut eval --pred`
(alphacut.eval.sets.evaluate_dir) and a Markdown table prints MAE per set for every setting, with its
change against the default. Run it with `nice`: it is the network over every evaldata image per setting.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from alphacut.eval.measure import alphacut_command, child_env
from alphacut.eval.sets import discover_sets, evaluate_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resolutions", default="768,640")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="at most N images per set, evenly spaced (as eval --limit)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sets = [s.subset(args.limit) for s in discover_sets(args.root)]
    settings = ["default"] + [r for r in args.resolutions.split(",") if r]
    for s in settings:
        for es in sets:
            out = args.out / s / es.name
            if out.is_dir() and len(list(out.glob("*.png"))) >= len(es.pairs):
                continue
            extra = [] if s == "default" else ["--fast", "--resolution", s]
            chosen = args.out / "inputs" / es.name  # the set's chosen images, linked
            chosen.mkdir(parents=True, exist_ok=True)
            for pair in es.pairs:
                link = chosen / pair.image.name
                if not link.exists():
                    link.symlink_to(pair.image.resolve())
            cmd = alphacut_command("remove", str(chosen), "-o", str(out), "-f", "mask",
                                   "--skip-existing", "-q", "--threads", str(args.threads), *extra)
            print(f"{s} {es.name}: {len(es.pairs)} images", flush=True)
            done = subprocess.run(cmd, env=child_env(), check=False)
            if done.returncode != 0:
                return done.returncode
    reports = {s: evaluate_dir(sets, args.out / s) for s in settings}
    base = {r.name: r for r in reports["default"].sets}
    head = "| set | n | default MAE | " + " | ".join(f"{s} px MAE (vs default)" for s in settings[1:]) + " |"
    print(head)
    print("|" + "---|" * (3 + len(settings) - 1))
    for name, b in base.items():
        cells = []
        for s in settings[1:]:
            r = next(x for x in reports[s].sets if x.name == name)
            cells.append(f"{r.mae:.4f} ({100 * (r.mae / b.mae - 1):+.1f}%)")
        print(f"| {name} | {b.n} | {b.mae:.4f} | " + " | ".join(cells) + " |")
    o = reports["default"].overall()
    cells = [f"{reports[s].overall()['mae']:.4f} ({100 * (reports[s].overall()['mae'] / o['mae'] - 1):+.1f}%)"
             for s in settings[1:]]
    print(f"| **mean over sets** | {sum(b.n for b in base.values())} | {o['mae']:.4f} | " + " | ".join(cells) + " |")
    fb = " | ".join(f"{s}: {reports[s].overall()['max_fbeta']:.4f}" for s in settings)
    print(f"\nmean max F-beta: {fb}")
    if args.json:
        args.json.write_text(json.dumps({s: r.to_json() for s, r in reports.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
