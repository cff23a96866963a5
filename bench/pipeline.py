"""CPU cost of the room's media path against the ffmpeg CLI doing the same job on the same clip.

Ours: PyAV decode -> Compositor with live CJK layers (the LIVE badge's viewer count changes every
second, the lower third's subtitle every three) blended in place on the decoded YUV planes ->
streams.encoder.VideoEncoder. Peers: ffmpeg decoding the same clip and encoding with the same
libx264 settings at the same bitrate, drawing the same graphics either as one full-frame PNG
(`overlay`) or as `drawbox` panels with `drawtext` lines (dynamic text like ours).

Figures are CPU seconds (user + sys, every thread) per second of output video; the ratios are
ours / ffmpeg, lower is better. Run: .venv/bin/python -m bench.pipeline
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image

from bench.clip import ClipSpec, ensure_clip
from overlay.compose import Compositor
from overlay.layers.live_badge import LIVE_LABEL, LiveBadge, LiveBadgeState
from overlay.layers.lower_third import LowerThird, LowerThirdState
from overlay.text import face
from overlay.theme import safe_margin
from streams.encoder import VideoEncoder
from streams.fit import FitPlan, fit_into
from streams.yuv import FramePool, plane_views

WIDTH, HEIGHT, FPS = 1280, 720, 30
BITRATE = 2_500_000
KEYFRAME_INTERVAL_S = 2.0
GOP = round(FPS * KEYFRAME_INTERVAL_S)


@dataclass(frozen=True)
class Size:
    runs: int
    clip_seconds: int


FULL = Size(runs=5, clip_seconds=10)
SMOKE = Size(runs=1, clip_seconds=3)
POSITIVE = (
    "pipeline_vs_ffmpeg_*", "pipeline_cpu_s_per_s_720p", "ffmpeg_*_cpu_s_per_s_720p", "pipeline_transcode_cpu_s_per_s_720p",
)

FONT_REGULAR = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FONT_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"

BRAND = "青禾农场"
TITLE = "高山有机番茄 现摘现发"
VIEWERS_START = 1280
VIEWERS_STEP = 7  # per second
SUBTITLE_EVERY_S = 3
ORDERS_START = 32
ORDERS_STEP = 3  # per subtitle change

# The same x264 settings streams.encoder.x264_options gives libx264 (ultrafast, zerolatency,
# constrained baseline, 2 s closed GOP, VBV at the bitrate), spelled for the ffmpeg CLI.
_KBPS = BITRATE // 1000
FFMPEG_X264 = [
    "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline",
    "-b:v", f"{_KBPS}k", "-maxrate", f"{_KBPS}k", "-bufsize", f"{_KBPS}k",
    "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-bf", "0",
]  # fmt: skip


def viewers_at(second: int) -> int:
    return VIEWERS_START + VIEWERS_STEP * second


def subtitle_at(second: int) -> str:
    return f"已有 {ORDERS_START + ORDERS_STEP * (second // SUBTITLE_EVERY_S)} 位邻居下单"


# -- our pipeline (runs in a child process: `python -m bench.pipeline --ours CLIP OUT`) ----------


def run_ours(clip: Path, out: Path, overlay: bool, max_frames: int | None) -> int:
    """Decode -> composite -> encode the frames of `clip`, writing Annex B H.264 to `out`."""
    compositor = Compositor(WIDTH, HEIGHT)
    lower_third = LowerThird("lower-third", first_lower_third(), z=10)
    badge = LiveBadge("live-badge", LiveBadgeState(live=True, viewers=viewers_at(0)), z=20)
    if overlay:
        compositor.add(lower_third)
        compositor.add(badge)
    encoder = VideoEncoder(WIDTH, HEIGHT, FPS, BITRATE, KEYFRAME_INTERVAL_S)
    fit_plan: FitPlan | None = None
    pool = FramePool(WIDTH, HEIGHT)
    frames = 0
    second = 0
    with av.open(str(clip)) as container, out.open("wb") as sink:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if max_frames is not None and frames >= max_frames:
                break
            # What the room does when its data changes: hand the layer a new immutable state;
            # the layer re-renders on the next composite. Timeline time, so runs are repeatable.
            now = frames / FPS
            if int(now) != second:
                second = int(now)
                badge.set_state(LiveBadgeState(live=True, viewers=viewers_at(second)))
                if second % SUBTITLE_EVERY_S == 0:
                    lower_third.set_state(
                        LowerThirdState(brand=BRAND, title=TITLE, subtitle=subtitle_at(second))
                    )
            if overlay:
                # As streams/room.py does: the decoder keeps its output as a reference picture,
                # so the source is fitted (here: copied, same size) into one of the room's own
                # reused frames and composited there. One copy, like the copy ffmpeg makes for
                # a filter that writes; 3-4x cheaper than make_writable() on a decoded frame.
                output, planes = pool.take()
                fit_plan = fit_into(plane_views(frame), planes, fit_plan)
                compositor.composite(*planes, now)
                frame = output
            for packet in encoder.encode(frame, frames, keyframe=frames == 0):
                sink.write(bytes(packet))
            frames += 1
        for packet in encoder.codec.encode(None):
            sink.write(bytes(packet))
    return frames


# -- the ffmpeg peers ----------------------------------------------------------------------------


def first_lower_third() -> LowerThirdState:
    return LowerThirdState(brand=BRAND, title=TITLE, subtitle=subtitle_at(0))


def render_overlay_png(path: Path) -> None:
    """Our two layers, in their first state, pasted into one full-frame transparent PNG."""
    canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    badge = LiveBadgeState(live=True, viewers=viewers_at(0))
    for rendered in (
        LowerThird("lower-third", first_lower_third()).render(first_lower_third(), (WIDTH, HEIGHT)),
        LiveBadge("live-badge", badge).render(badge, (WIDTH, HEIGHT)),
    ):
        assert rendered is not None
        canvas.alpha_composite(rendered.image.convert("RGBA"), (rendered.x, rendered.y))
    canvas.save(path)


def drawtext_filter(seconds: int) -> str:
    """drawbox panels + drawtext lines where our layers put them, with the same changing text.

    Geometry follows the layers' own formulas at 720p (theme unit 1.0). drawbox has no round
    corners and there is no eye icon, which only makes ffmpeg's side cheaper. drawtext opens face
    0 of the .ttc (the JP cut of the same glyphs), which draws at the same cost as the SC cut.
    """
    margin = safe_margin((WIDTH, HEIGHT))
    filters: list[str] = []

    def box(x: int, y: int, w: int, h: int, rgba: tuple[int, int, int, int]) -> None:
        r, g, b, a = rgba
        colour = f"0x{r:02X}{g:02X}{b:02X}@{a / 255:.3f}"
        filters.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:color={colour}:t=fill")

    def text(x: int, top: int, size: int, bold: bool, value: str, rgb: str, when: str = "") -> None:
        # Our faces draw a line's baseline `ascent` below its top; drawtext draws the baseline its
        # own `ascent` below y.
        baseline = top + face(size, bold).ascent
        font = FONT_BOLD if bold else FONT_REGULAR
        value = value.replace(" ", "\\ ")
        enable = f":enable='{when}'" if when else ""
        filters.append(
            f"drawtext=fontfile={font}:fontsize={size}:fontcolor=0x{rgb}:"
            f"x={x}:y={baseline}-ascent:text='{value}'{enable}"
        )

    # LIVE badge (overlay/layers/live_badge.py): red label, dark count segment.
    label = face(22, bold=True)
    badge_h, pad, gap, eye_w = 42, 16, 8, 24
    live_w = pad + label.measure(LIVE_LABEL) + pad
    count_w = 12 + eye_w + gap + label.measure(str(viewers_at(seconds))) + pad
    text_top = margin + (badge_h - label.size) // 2 - label.em_top
    box(margin, margin, live_w, badge_h, (228, 32, 48, 255))
    box(margin + live_w, margin, count_w, badge_h, (12, 16, 20, 196))
    text(margin + pad, text_top, 22, True, LIVE_LABEL, "FFFFFF")
    # Re-expanded every frame, stepping each second like our badge's state.
    count = f"%{{eif\\:{VIEWERS_START}+{VIEWERS_STEP}*trunc(t)\\:d}}"
    text(margin + live_w + 12 + eye_w + gap, text_top, 22, True, count, "FFFFFF")

    # Lower third (overlay/layers/lower_third.py, landscape): brand tab over a panel with an
    # accent bar, title, then the subtitle that changes every few seconds.
    title_face, subtitle_face, brand_face = face(42, bold=True), face(27), face(24, bold=True)
    rendered = LowerThird("lower-third", first_lower_third()).render(
        first_lower_third(), (WIDTH, HEIGHT)
    )
    assert rendered is not None
    x0, y0 = rendered.x, rendered.y
    tab_pad, bar, pad_left, pad_top, gap = 14, 8, 8 + 22, 18, 12
    tab_h = round(brand_face.size * 1.7)
    tab_w = brand_face.measure(BRAND) + 2 * tab_pad
    panel_w, panel_h = rendered.image.width, rendered.image.height - tab_h
    box(x0, y0, tab_w, tab_h, (38, 176, 92, 255))
    box(x0, y0 + tab_h, panel_w, panel_h, (12, 16, 20, 196))
    box(x0, y0 + tab_h, bar, panel_h, (38, 176, 92, 255))
    brand_top = y0 + (tab_h - brand_face.size) // 2 - brand_face.em_top
    text(x0 + tab_pad, brand_top, 24, True, BRAND, "FFFFFF")
    title_top = y0 + tab_h + pad_top
    text(x0 + pad_left, title_top - title_face.em_top, 42, True, TITLE, "FFFFFF")
    subtitle_top = title_top + title_face.size + gap - subtitle_face.em_top
    for start in range(0, seconds, SUBTITLE_EVERY_S):
        when = f"gte(t\\,{start})*lt(t\\,{start + SUBTITLE_EVERY_S})"
        text(x0 + pad_left, subtitle_top, 27, False, subtitle_at(start), "D0D8DE", when)
    return ",".join(filters)


def ffmpeg_command(clip: Path, out: Path, graphics: str, workdir: Path, seconds: int) -> list[str]:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(clip)]
    if graphics == "png":
        png = workdir / "overlay.png"
        if not png.exists():
            render_overlay_png(png)
        # One still image: overlay keeps blending its last frame (eof_action=repeat), so ffmpeg
        # converts the PNG once, not per frame.
        command += ["-i", str(png), "-filter_complex", "[0:v][1:v]overlay=0:0[v]", "-map", "[v]"]
    elif graphics == "drawtext":
        command += ["-vf", drawtext_filter(seconds)]
    return command + [*FFMPEG_X264, "-an", "-f", "h264", str(out)]


# -- measuring -------------------------------------------------------------------------------------
#
# Every case runs as a child process and is measured the same way, by getrusage(RUSAGE_CHILDREN)
# around it: user + sys CPU of all its threads (decoder, x264, ours). Start-up is excluded for
# both sides alike by running each case twice, on the whole clip and on its first second, and
# dividing the difference by the 9 s between them: the constant part (interpreter and imports for
# ours, library loading, font and PNG loading, filter graph and x264 set-up for ffmpeg) cancels
# out. That is the fair figure for a room that runs for hours, where start-up is paid once; on a
# 10 s clip our start-up (about 0.5 s of CPU, ffmpeg's about 0.2 s) would otherwise be a sixth of
# the figure. Both start-ups are printed too. What stays in the figure is everything that recurs: decode,
# blending, the re-renders when the text changes (the first second's renders cancel, the other
# nine seconds' stay), encode.

SHORT_SECONDS = 1


@dataclass
class Case:
    name: str
    command: Callable[[Path, int | None], list[str]]  # (output, frame limit) -> argv


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], cwd: Path) -> float:
    """CPU seconds (user + sys, all threads) of one child process, from start-up to exit."""
    before = _cpu_children()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return _cpu_children() - before


def count_frames(path: Path) -> int:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ours", nargs=2, metavar=("CLIP", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=f"runs of every case (default {FULL.runs})")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that checks the path works")
    parser.add_argument("--keep", type=Path, help="keep the encoded outputs in this directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="each run's figures on stderr")
    args = parser.parse_args()
    if args.ours:
        run_ours(Path(args.ours[0]), Path(args.ours[1]), not args.bare, args.frames)
        return

    size = SMOKE if args.smoke else FULL
    runs = args.runs or size.runs
    spec = ClipSpec(width=WIDTH, height=HEIGHT, fps=FPS, seconds=size.clip_seconds)
    clip = ensure_clip(spec)
    root = Path(__file__).resolve().parent.parent
    short_frames = SHORT_SECONDS * FPS

    with tempfile.TemporaryDirectory(prefix="fieldcast-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)

        def ours(bare: bool) -> Callable[[Path, int | None], list[str]]:
            def command(out: Path, frames: int | None) -> list[str]:
                argv = [sys.executable, "-m", "bench.pipeline", "--ours", str(clip), str(out)]
                argv += ["--bare"] if bare else []
                return argv + ([] if frames is None else ["--frames", str(frames)])

            return command

        def peer(graphics: str) -> Callable[[Path, int | None], list[str]]:
            def command(out: Path, frames: int | None) -> list[str]:
                argv = ffmpeg_command(clip, out, graphics, workdir, spec.seconds)
                limit = [] if frames is None else ["-frames:v", str(frames)]
                return argv[:-3] + limit + argv[-3:]  # before "-f h264 OUT"

            return command

        cases = [
            Case("pipeline", ours(bare=False)),
            Case("ffmpeg_png", peer("png")),
            Case("ffmpeg_drawtext", peer("drawtext")),
            # Decode + encode alone on both sides: how much of the gap is the libraries (PyAV's
            # bundled FFmpeg and x264 against the CLI's), not the compositing.
            Case("pipeline_transcode", ours(bare=True)),
            Case("ffmpeg_transcode", peer("none")),
        ]
        per_s: dict[str, list[float]] = {case.name: [] for case in cases}
        startup: dict[str, list[float]] = {case.name: [] for case in cases}
        for _ in range(runs):
            # Cases interleaved run by run, so drift on a shared machine touches every case alike.
            for case in cases:
                cpu = {}
                for frames, expected in ((None, spec.frames), (short_frames, short_frames)):
                    out = workdir / f"{case.name}_{expected}.h264"
                    cpu[expected] = measure(case.command(out, frames), root)
                    written = count_frames(out)
                    if written != expected:
                        raise SystemExit(f"{case.name} wrote {written} frames, expected {expected}")
                slope = (cpu[spec.frames] - cpu[short_frames]) / (spec.seconds - SHORT_SECONDS)
                per_s[case.name].append(slope)
                startup[case.name].append(cpu[short_frames] - slope * SHORT_SECONDS)
                if args.verbose:
                    print(
                        f"{case.name}: {slope:.3f} cpu s/s "
                        f"(whole clip {cpu[spec.frames]:.3f} s, first second {cpu[short_frames]:.3f} s)",
                        file=sys.stderr,
                    )

    fig = {name: statistics.median(values) for name, values in per_s.items()}
    start = {name: statistics.median(values) for name, values in startup.items()}

    def ratio(peer: str) -> float:
        # Median of the per-run ratios: each pairs runs made seconds apart, so load from other
        # work on the machine that drifts between runs cancels (it need not equal fig / fig).
        return statistics.median(o / p for o, p in zip(per_s["pipeline"], per_s[peer], strict=True))

    print(f"pipeline_vs_ffmpeg_png_720p: {ratio('ffmpeg_png'):.3f}")
    print(f"pipeline_vs_ffmpeg_drawtext_720p: {ratio('ffmpeg_drawtext'):.3f}")
    print(f"pipeline_cpu_s_per_s_720p: {fig['pipeline']:.3f}")
    print(f"ffmpeg_png_cpu_s_per_s_720p: {fig['ffmpeg_png']:.3f}")
    print(f"ffmpeg_drawtext_cpu_s_per_s_720p: {fig['ffmpeg_drawtext']:.3f}")
    print(f"pipeline_transcode_cpu_s_per_s_720p: {fig['pipeline_transcode']:.3f}")
    print(f"ffmpeg_transcode_cpu_s_per_s_720p: {fig['ffmpeg_transcode']:.3f}")
    print(f"pipeline_startup_cpu_s: {start['pipeline']:.3f}")
    print(f"ffmpeg_png_startup_cpu_s: {start['ffmpeg_png']:.3f}")


if __name__ == "__main__":
    main()
