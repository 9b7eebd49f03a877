"""Build the synthetic video clips (exact per-frame alpha) from ../shared/evaldata, deterministic.

    PYTHONPATH=src python bench/data/make_video_clips.py --evaldata ../shared/evaldata --out out/videoclips

Subjects with their ground-truth alpha move over a panning/zooming scene (another evaldata image),
with per-frame sensor noise and H.264 compression; two clips are webcam-like 16:9 shots whose
subject runs off the frame's bottom edge, one has a scene cut. Per clip: clip.mp4, images/ (the
decoded frames) and gt/ (exact alpha), so each clip folder is also an eval set. Logic:
alphacut.eval.video_clips. Needs the video extra.

--samples adds a clip made from the bundled samples/ (no evaldata needed): astronaut.jpg over a
pan of rocket.jpg, its alpha being the default model's matte of the still photo (the composite is
built with that alpha, so it is the clip's exact truth).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from alphacut.eval.video_clips import DEFAULT_CLIPS, make_clips, samples_clip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaldata", type=Path, help="folder of <set>/images + <set>/gt, e.g. ../shared/evaldata")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (must be empty or absent)")
    parser.add_argument("--frames", type=int, default=None, help="frames per clip (default: each spec's, 48)")
    parser.add_argument("--seed", type=int, default=0, help="another seed picks other subjects and scenes")
    parser.add_argument("--only", nargs="*", default=None, help="clip names to build (default: all)")
    parser.add_argument("--samples", type=Path, default=None,
                        help="also build a clip from this samples/ folder (uses the default model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    specs = [s for s in DEFAULT_CLIPS if args.only is None or s.name in args.only]
    if args.evaldata is None and args.samples is None:
        parser.error("give --evaldata, --samples or both")
    if args.evaldata is not None:
        manifest = make_clips(args.evaldata, args.out, specs, frames=args.frames, seed=args.seed)
        for c in manifest["clips"]:
            print(f"{c['name']}: {c['frames']} frames {c['size_wh'][0]}x{c['size_wh'][1]} "
                  f"{c['clip_bytes'] / 1e3:.0f} kB  subjects {c['subjects']} scenes {c['scenes']}", file=sys.stderr)
    if args.samples is not None:
        info = samples_clip(args.samples, args.out / "samples_astronaut", frames=args.frames or 36)
        print(f"samples_astronaut: {info['frames']} frames, {info['clip_bytes'] / 1e3:.0f} kB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
