"""A live room's pipeline: sources -> fit -> compositor -> ONE encoder -> fan-out to every viewer.

The output keeps its own clock: fixed size and frame rate, timestamps that never jump back,
whatever the source does. With no publisher the room shows the demo camera (the demo room) or a
stand-by slate; when a publisher arrives the picture switches on the next frame and viewers stay
connected. Video and audio each run in their own thread: media work never runs on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.frame import VideoFrame

from overlay.compose import Compositor
from overlay.layers.caption import Caption, CaptionState
from overlay.layers.live_badge import LiveBadge, LiveBadgeState
from overlay.layers.lower_third import LowerThird, LowerThirdState
from overlay.slate import render_slate

from .demo import FarmAmbience, FarmScene
from .encoder import OPUS_FRAME_SAMPLES, AudioEncoder, VideoEncoder
from .fanout import Fanout, PacketTrack
from .fit import FitPlan, fit_into
from .options import MediaOptions
from .packetize import h264_payloads
from .yuv import FramePool, copy_planes, new_frame, plane_views

logger = logging.getLogger(__name__)

DEMO_CAPTION = "模拟画面 · Simulated camera"
AUDIO_BYTES_PER_FRAME = OPUS_FRAME_SAMPLES * 4  # s16 stereo
AUDIO_PREBUFFER = AUDIO_BYTES_PER_FRAME * 3  # 60 ms of publisher audio before we play it
AUDIO_MAX_BUFFER = AUDIO_BYTES_PER_FRAME * 12  # past 240 ms behind, drop the backlog


@dataclass(frozen=True)
class RoomSpec:
    room_id: str
    title: str
    brand: str
    demo: bool = False


@dataclass(frozen=True)
class Presence:
    room_id: str
    viewers: int  # media players receiving the picture (WHEP sessions; not Socket.IO clients)
    live: bool  # on air: the host or the demo camera
    publishing: bool = False  # a host is publishing


class LiveRoom:
    def __init__(
        self,
        spec: RoomSpec,
        options: MediaOptions,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.spec = spec
        self.options = options
        self.loop = loop
        self.width, self.height = options.width, options.height
        self.compositor = Compositor(self.width, self.height)
        self.compositor.add(
            LowerThird("lower-third", LowerThirdState(brand=spec.brand, title=spec.title), z=10)
        )
        self.compositor.add(LiveBadge("live-badge", LiveBadgeState(live=spec.demo, viewers=0), z=20))
        if spec.demo:
            # The demo camera is made up: say so on screen whenever it is what viewers see.
            self.compositor.add(Caption("demo-caption", CaptionState(DEMO_CAPTION), z=20))
        self.video = Fanout(self.request_keyframe)
        self.audio = Fanout()
        self.listeners: list[Callable[[Presence], None]] = []

        self._viewers = 0
        self._live = False
        self._publisher: str | None = None
        # Handed over from the event loop; a plain attribute swap is atomic.
        self._latest: tuple[VideoFrame, float] | None = None
        self._audio_in: deque[AudioFrame] = deque(maxlen=64)
        self._keyframe_wanted = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.frames_out = 0
        self.video_bytes_out = 0
        self.started_at = 0.0
        self.failed: BaseException | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        # Set once: a pipeline restarted after a failure carries on the same output timeline.
        if not self.started_at:
            self.started_at = time.monotonic()
        self._stop.clear()
        self.failed = None
        self._threads = []
        for name, target in (("video", self._video_loop), ("audio", self._audio_loop)):
            thread = threading.Thread(
                target=self._guard(target), name=f"room-{self.spec.room_id}-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        logger.info("room pipeline started", extra={"room": self.spec.room_id})

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # a room failing must not take the server down
                self.failed = exc
                logger.exception("room pipeline failed", extra={"room": self.spec.room_id})
                self._stop.set()

        return run

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads) and not self._stop.is_set()

    async def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 5)
        self.video.close()
        self.audio.close()
        logger.info("room pipeline stopped", extra={"room": self.spec.room_id})

    # -- what the transports call (event loop thread) -------------------------------------------

    @property
    def publisher(self) -> str | None:
        return self._publisher

    def attach_publisher(self, session_id: str) -> None:
        self._publisher = session_id
        self._latest = None
        self._audio_in.clear()

    def detach_publisher(self, session_id: str) -> None:
        if self._publisher == session_id:
            self._publisher = None
            self._latest = None
            self._set_live(False)

    def push_video(self, session_id: str, frame: VideoFrame) -> None:
        if session_id == self._publisher:
            self._latest = (frame, time.monotonic())

    def push_audio(self, session_id: str, frame: AudioFrame) -> None:
        if session_id == self._publisher:
            self._audio_in.append(frame)

    def viewer_tracks(self) -> tuple[PacketTrack, PacketTrack]:
        video = PacketTrack("video", self.video, self.options.viewer_queue_packets)
        audio = PacketTrack("audio", self.audio, max(10, self.options.viewer_queue_packets // 3))
        return video, audio

    def request_keyframe(self) -> None:
        """Joins and PLIs ask; the video thread rate-limits, so joins close together share one."""
        self._keyframe_wanted.set()

    def set_viewers(self, count: int) -> None:
        if count != self._viewers:
            self._viewers = count
            self._update_badge()
            self._notify()

    @property
    def viewers(self) -> int:
        return self._viewers

    @property
    def live(self) -> bool:
        """A host is publishing and their picture is on air."""
        return self._live

    @property
    def on_air(self) -> bool:
        """Viewers see a programme: the host, or the demo camera in their place (not the slate)."""
        return self._live or self.spec.demo

    def presence(self) -> Presence:
        return Presence(self.spec.room_id, self._viewers, self.on_air, self._live)

    def _set_live(self, live: bool) -> None:
        if live != self._live:
            self._live = live
            logger.info("room %s", "live" if live else "standby", extra={"room": self.spec.room_id})
            self._update_badge()
            self._notify()

    def _update_badge(self) -> None:
        # On air: a host is publishing, or the demo camera is running in their place.
        self.compositor_layer_state("live-badge", LiveBadgeState(live=self.on_air, viewers=self._viewers))
        caption = self.compositor.get("demo-caption")
        if caption is not None:
            caption.hide() if self._live else caption.show()

    def retitle(self, title: str, brand: str) -> None:
        self.spec = RoomSpec(self.spec.room_id, title, brand, self.spec.demo)
        self.compositor_layer_state("lower-third", LowerThirdState(brand=brand, title=title))

    def compositor_layer_state(self, name: str, state: object) -> None:
        layer = self.compositor.get(name)
        if layer is not None:
            layer.set_state(state)

    def _notify(self) -> None:
        presence = self.presence()
        for listener in list(self.listeners):
            try:
                listener(presence)
            except Exception:
                logger.exception("presence listener failed", extra={"room": self.spec.room_id})

    # -- the media threads ----------------------------------------------------------------------

    def _video_loop(self) -> None:
        o = self.options
        encoder = VideoEncoder(
            self.width, self.height, o.fps, o.video_bitrate, o.keyframe_interval_s, o.encoder_threads
        )
        scene = FarmScene(self.width, self.height, o.fps) if self.spec.demo else None
        slate = render_slate(self.width, self.height, self.spec.title)
        plan: FitPlan | None = None
        # Warm up (fonts load, sprites render) before the clock starts, not on the first frame.
        warm = new_frame(self.width, self.height)
        self.compositor.composite(*plane_views(warm), time.monotonic())
        pool = FramePool(self.width, self.height)
        period = 1.0 / o.fps
        t0 = self.started_at
        n = int((time.monotonic() - t0) / period)
        last_key = -1e9
        was_live = False
        while not self._stop.is_set():
            now = time.monotonic()
            due = t0 + n * period
            if now < due:
                self._stop.wait(due - now)
                continue
            if now - due > 0.5:
                # We fell far behind (a stalled machine): skip ahead rather than burst frames.
                n = int((now - t0) / period)
            frame, planes = pool.take()
            latest = self._latest
            live = latest is not None and now - latest[1] < o.publisher_timeout_s
            if live and latest is not None:
                src = latest[0]
                if src.format.name != "yuv420p":
                    src = src.reformat(format="yuv420p")
                plan = fit_into(plane_views(src), planes, plan)
            elif scene is not None:
                scene.render(n, planes)
            else:
                copy_planes(planes, slate)
            if live != was_live:
                was_live = live
                self.loop.call_soon_threadsafe(self._set_live, live)
                # A cut to another source: start it on a keyframe so nobody sees smear.
                self._keyframe_wanted.set()
            self.compositor.composite(*planes, now)
            keyframe = False
            if self._keyframe_wanted.is_set() and now - last_key >= o.keyframe_min_interval_s:
                self._keyframe_wanted.clear()
                keyframe = True
            packets = encoder.encode(frame, n, keyframe)
            out = []
            for packet in packets:
                if packet.is_keyframe:
                    last_key = now
                out.append((packet, packet.is_keyframe, h264_payloads(packet)))
                self.video_bytes_out += packet.size
            if out:
                self.loop.call_soon_threadsafe(self.video.publish_many, out)
            self.frames_out += 1
            n += 1

    def _audio_loop(self) -> None:
        encoder = AudioEncoder(self.options.audio_bitrate)
        ambience = FarmAmbience() if self.spec.demo else None
        resampler = AudioResampler(format="s16", layout="stereo", rate=48_000)
        silence = bytes(AUDIO_BYTES_PER_FRAME)
        buffer = bytearray()
        primed = False
        period = OPUS_FRAME_SAMPLES / 48_000
        t0 = self.started_at
        n = int((time.monotonic() - t0) / period)
        while not self._stop.is_set():
            now = time.monotonic()
            due = t0 + n * period
            if now < due:
                self._stop.wait(due - now)
                continue
            if now - due > 0.5:
                n = int((now - t0) / period)
            while self._audio_in:
                for out in resampler.resample(self._audio_in.popleft()):
                    buffer += out.to_ndarray().tobytes()
            if len(buffer) > AUDIO_MAX_BUFFER:
                del buffer[: len(buffer) - AUDIO_PREBUFFER]
            if not primed and len(buffer) >= AUDIO_PREBUFFER:
                primed = True
            if self._publisher is not None and primed and len(buffer) >= AUDIO_BYTES_PER_FRAME:
                chunk = bytes(buffer[:AUDIO_BYTES_PER_FRAME])
                del buffer[:AUDIO_BYTES_PER_FRAME]
            else:
                primed = False  # an underrun: build up the cushion again before playing
                if self._publisher is None and ambience is not None:
                    chunk = ambience.read(OPUS_FRAME_SAMPLES).tobytes()
                else:
                    chunk = silence
            packets = encoder.encode(chunk, n * OPUS_FRAME_SAMPLES)
            if packets:
                self.loop.call_soon_threadsafe(
                    self.audio.publish_many, [(p, True, None) for p in packets]
                )
            n += 1

