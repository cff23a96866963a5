"""The source clip the media benchmarks transcode: a moving, detailed 720p30 H.264 picture.

Made once with the ffmpeg CLI and cached under bench/out/ (git-ignored). A zooming Mandelbrot
keeps fine detail moving in every part of the frame and light temporal noise stands in for a
camera sensor, so both the decoder and the encoder do the work a real feed gives them (a flat test
card would flatter whichever side spends less on motion search). Encoded like a phone or OBS
upload: High profile with B-frames at a realistic 4 Mbps.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CACHE_DIR = Path(__file__).resolve().parent / "out" / "clips"


@dataclass(frozen=True)
class ClipSpec:
    width: int = 1280
    height: int = 720
    fps: int = 30
    seconds: int = 10
    bitrate: int = 4_000_000

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    @property
    def name(self) -> str:
        return (
            f"mandelbrot_{self.width}x{self.height}_{self.fps}fps_{self.seconds}s_"
            f"{self.bitrate // 1000}k.mp4"
        )


def ensure_clip(spec: ClipSpec = ClipSpec(), cache_dir: Path = CACHE_DIR) -> Path:
    """The clip's path, generating it first if it is not cached yet."""
    path = cache_dir / spec.name
    if path.is_file() and path.stat().st_size > 0:
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.mp4")
    kbps = spec.bitrate // 1000
    source = (
        f"mandelbrot=size={spec.width}x{spec.height}:rate={spec.fps}:"
        f"start_scale=3:end_scale=0.02:maxiter=256,"
        f"noise=alls=8:allf=t,format=yuv420p"
    )
    logger.info("generating benchmark clip", extra={"path": str(path)})
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source,
            "-t", str(spec.seconds),
            "-c:v", "libx264", "-preset", "medium", "-profile:v", "high",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
            "-g", str(2 * spec.fps), "-bf", "2",
            "-movflags", "+faststart", "-an",
            str(partial),
        ],
        check=True,
    )  # fmt: skip
    partial.replace(path)
    return path


if __name__ == "__main__":
    print(ensure_clip())
