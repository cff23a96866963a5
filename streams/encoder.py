"""The room's one encoder: H.264 constrained baseline (Annex B, SPS/PPS before every IDR) and Opus.

One encode per room whatever the number of viewers; viewers get these packets as they are.
Runs in the room's media thread, never on the event loop.
"""

from __future__ import annotations

import fractions
import logging

import av
from av.audio.frame import AudioFrame
from av.packet import Packet
from av.video.frame import PictureType, VideoFrame

logger = logging.getLogger(__name__)

VIDEO_CLOCK = fractions.Fraction(1, 90_000)
AUDIO_RATE = 48_000
AUDIO_CLOCK = fractions.Fraction(1, AUDIO_RATE)
OPUS_FRAME_SAMPLES = 960  # 20 ms at 48 kHz: what WebRTC peers expect


def x264_options(fps: int, keyframe_interval_s: float, bitrate: int) -> dict[str, str]:
    gop = max(1, round(fps * keyframe_interval_s))
    kbps = bitrate // 1000
    return {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",  # constrained baseline: what every browser decodes in hardware
        "level": "3.1",
        # A forced keyframe must be an IDR: a joining viewer can only start at one.
        "forced-idr": "1",
        "x264-params": (
            f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:repeat-headers=1:"
            f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:nal-hrd=none"
        ),
    }


class VideoEncoder:
    def __init__(
        self,
        width: int,
        height: int,
        fps: int,
        bitrate: int,
        keyframe_interval_s: float,
        threads: int = 0,
    ) -> None:
        self.fps = fps
        codec = av.CodecContext.create("libx264", "w")
        codec.width = width
        codec.height = height
        codec.pix_fmt = "yuv420p"
        codec.framerate = fractions.Fraction(fps, 1)
        codec.time_base = fractions.Fraction(1, fps)
        codec.bit_rate = bitrate
        codec.thread_count = threads
        codec.options = x264_options(fps, keyframe_interval_s, bitrate)
        codec.open()
        self.codec = codec
        self._ticks_per_frame = 90_000 // fps

    def encode(self, frame: VideoFrame, index: int, keyframe: bool) -> list[Packet]:
        """Encode output frame `index` of the room's timeline; pts are in the 90 kHz RTP clock."""
        frame.pts = index
        frame.time_base = self.codec.time_base
        frame.pict_type = PictureType.I if keyframe else PictureType.NONE
        packets = self.codec.encode(frame)
        for packet in packets:
            # x264 with zerolatency emits frame-by-frame, so pts == the frame's own index.
            assert packet.pts is not None
            packet.pts = packet.pts * self._ticks_per_frame
            packet.dts = packet.pts
            packet.time_base = VIDEO_CLOCK
        return packets


class AudioEncoder:
    """Opus, 48 kHz stereo, 20 ms frames."""

    def __init__(self, bitrate: int) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = AUDIO_RATE
        codec.layout = "stereo"
        codec.format = "s16"
        codec.bit_rate = bitrate
        codec.time_base = AUDIO_CLOCK
        codec.options = {"application": "audio", "frame_duration": "20"}
        codec.open()
        self.codec = codec

    def encode(self, samples: bytes, pts: int) -> list[Packet]:
        """`samples`: 960 interleaved s16 stereo samples; `pts`: sample count since the room began."""
        frame = AudioFrame(format="s16", layout="stereo", samples=OPUS_FRAME_SAMPLES)
        frame.planes[0].update(samples)
        frame.sample_rate = AUDIO_RATE
        frame.pts = pts
        frame.time_base = AUDIO_CLOCK
        packets = self.codec.encode(frame)
        for packet in packets:
            packet.time_base = AUDIO_CLOCK
        return packets
