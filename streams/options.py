"""Small option objects: streams/ takes these, never the server's Settings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MediaOptions:
    width: int = 720
    height: int = 1280
    fps: int = 30
    video_bitrate: int = 2_500_000
    audio_bitrate: int = 64_000
    keyframe_interval_s: float = 2.0
    keyframe_min_interval_s: float = 0.5
    publisher_timeout_s: float = 1.5
    viewer_queue_packets: int = 90
    # x264's own threads. 0 = libx264's choice (all cores); a room server with many rooms wants 1.
    encoder_threads: int = 0


@dataclass(frozen=True)
class IceOptions:
    # stun:host:port, turn:user:password@host:port (or turns:)
    servers: tuple[str, ...] = ()
    public_ips: tuple[str, ...] = ()
    include_loopback: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WhepLimits:
    """Bounds on WHEP viewers. An offer costs a peer connection and its UDP sockets before ICE has
    even started, so offers are capped per client address and per room, and a session whose ICE and
    DTLS have not completed within connect_timeout_s is dropped."""

    max_per_client: int = 20
    max_per_room: int = 1000
    connect_timeout_s: float = 10.0
