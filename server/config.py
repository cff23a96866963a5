"""The one Settings class. Built once in the CLI, passed to create_app, kept under an AppKey."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Everything an operator can configure. Defaults serve a laptop with no services."""

    model_config = SettingsConfigDict(env_prefix="FIELDCAST_", env_nested_delimiter="__")

    host: str = "0.0.0.0"
    port: int = 8080
    # The address people use to reach this server; printed by `demo` and used in invite links.
    public_url: str = ""

    database_url: str = "sqlite:///./fieldcast.db"
    redis_url: str | None = None
    mqtt_url: str | None = None

    log_level: str = "INFO"
    # uvloop (libuv) runs the same asyncio code with cheaper socket I/O and scheduling: measured
    # ~10% more claims a second on one core (bench commerce). "asyncio" is the standard loop.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    log_format: Literal["text", "json"] = "text"

    web_dir: Path = _REPO_ROOT / "web"

    # WebRTC/ICE. An empty list means no STUN/TURN at all (aiortc would otherwise ask a public
    # STUN server). Each entry is a URL: stun:host:port or turn:user:pass@host:port.
    ice_servers: list[str] = Field(default_factory=list)
    # Addresses to advertise instead of the machine's own (1:1 NAT, a cloud VM's public IP).
    ice_public_ips: list[str] = Field(default_factory=list)
    # aioice never offers 127.0.0.1; tests and single-machine setups want it.
    ice_include_loopback: bool = False

    # Slow clients. A connection must complete each request head within http_header_timeout_s of
    # opening or of its previous response (idle keep-alive connections close then too), and each
    # request body within http_body_timeout_s of its head: a client dribbling bytes gets a 408.
    # (120 s lets an 8 MiB photo through a farm's slow uplink, about 70 KB/s.)
    http_header_timeout_s: float = Field(default=15.0, gt=0)
    http_body_timeout_s: float = Field(default=120.0, gt=0)

    # WHEP viewers. An offer costs a peer connection and its sockets before ICE even starts: at most
    # whep_max_sessions_per_ip sessions from one address and whep_max_sessions_per_room in one room
    # (429 with Retry-After beyond), and a session whose ICE/DTLS has not completed within
    # whep_connect_timeout_s is dropped. A viewer counts (LIVE badge, presence) once media flows.
    whep_max_sessions_per_ip: int = Field(default=20, ge=1)
    whep_max_sessions_per_room: int = Field(default=1000, ge=1)
    whep_connect_timeout_s: float = Field(default=10.0, gt=0)

    # Media defaults for new rooms.
    video_bitrate: int = 2_500_000
    keyframe_interval_s: float = 2.0
    # A publisher with no frame for this long is gone: the room shows its stand-by picture.
    publisher_timeout_s: float = 1.5
    # Per-viewer packet queue (video packets); a viewer that falls this far behind skips to the next
    # keyframe instead of growing memory.
    viewer_queue_packets: int = 90
    # Joins within this window share one forced keyframe.
    keyframe_min_interval_s: float = 0.5

    # Accounts. One-time sign-in codes written to the server log, where anyone who reads the log can
    # sign in as anyone: only `fieldcast demo` turns this on (unless set here). Off, and with no
    # SMS/email sender configured, code sign-in answers 501 and people sign in with a password.
    login_codes_to_log: bool = False

    # Sign-in throttling (README "Security"). Each guard lets its number of attempts through; the
    # last of them locks the phone/email (or the address) for signin_lock_s, and each attempt after
    # a lock ends locks it again for twice as long, up to signin_max_lock_s. The count is forgotten
    # signin_window_s after the last attempt. A right password or code clears the phone/email's
    # count. A one-time code takes at most 5 guesses whatever these say. With FIELDCAST_REDIS_URL
    # the counts are shared by every node; without it they are kept in this process.
    signin_password_tries: int = Field(default=5, ge=1)  # wrong passwords per phone/email
    signin_password_tries_per_ip: int = Field(default=20, ge=1)
    signin_codes_per_identifier: int = Field(default=3, ge=1)  # new codes asked for
    signin_codes_per_ip: int = Field(default=20, ge=1)
    signin_code_guesses: int = Field(default=10, ge=1)  # wrong codes per phone/email, across codes
    signin_code_guesses_per_ip: int = Field(default=50, ge=1)
    signin_window_s: float = Field(default=900.0, gt=0)
    signin_lock_s: float = Field(default=30.0, gt=0)
    signin_max_lock_s: float = Field(default=3600.0, gt=0)

    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR ranges, JSON list in the
    # environment, e.g. ["127.0.0.1"]). Empty: the client is the TCP peer, whatever headers say.
    # Per-address limits (sign-in, chat bans) need this behind a proxy, or every client looks the same.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Secure cookies need HTTPS; by default they are Secure when public_url is https.
    cookie_secure: bool | None = None

    # Payments. The test provider (signed webhooks, a refund ledger) is on when this secret is set;
    # "pay at pickup" is always on.
    test_payments_secret: str = ""

    # Chat. A signed-in viewer may send chat_rate_messages at once, refilled over chat_rate_window_s
    # (moderators, hosts and operators are exempt); joining returns the last chat_history messages.
    chat_rate_messages: int = Field(default=5, ge=1)
    chat_rate_window_s: float = Field(default=10.0, gt=0)
    chat_history: int = Field(default=50, ge=0, le=200)
    # Refused in every room's chat, on top of each room's own list (JSON list in the environment).
    chat_blocked_words: list[str] = Field(default_factory=list)
    # A room's chat goes out at most once per window, all messages of the window in one emit: a
    # quiet room's message leaves at once, a busy room costs one fan-out per window, not per message.
    # The window is chat_batch_ms, or chat_batch_us_per_viewer for each viewer in the room if longer
    # (an emit is one prepared frame written to each viewer; see server/realtime/chat_fanout.py).
    chat_batch_ms: int = Field(default=100, ge=0, le=2000)
    chat_batch_us_per_viewer: int = Field(default=50, ge=0, le=5000)
    # How long each node trusts its copy of a room's bans, slow mode and word list (other nodes'
    # changes show up within this; this node's own at once).
    chat_state_ttl_s: float = Field(default=1.0, ge=0)
    # An open Socket.IO connection re-reads its caller before a privileged event when the caller's
    # identity version moved, and at least this often anyway: a change the CLI makes on a single
    # node (no Redis to share versions through) reaches open sockets within it.
    identity_recheck_s: float = Field(default=30.0, ge=0)
    # The IP address in a ban stops holding after this (mobile networks hand addresses on).
    chat_ban_ip_hours: float = Field(default=24.0, ge=0)

    # Trace log. The origin names the log in its signed checkpoints (a URL without scheme); empty
    # means "<public host>/trace/<key id>", fixed by the signing key the server makes on first start.
    trace_log_origin: str = ""
    # Sensors. Readings arrive on MQTT topics <prefix>/sensors/<device>/readings; raw readings are
    # kept this long, older history only as 5-minute minimum/maximum/mean buckets.
    mqtt_topic_prefix: str = "fieldcast"
    sensor_raw_retention_hours: float = Field(default=48.0, gt=0)
    # A device silent for this long shows as stale on the stream's sensor panel.
    sensor_stale_s: float = Field(default=30.0, gt=0)

    # Photos people upload (review photos), re-encoded and thumbnailed, are files under this folder,
    # created on first upload. Relative paths start where the server runs, like the SQLite file;
    # the Docker image keeps both on its /data volume.
    media_dir: Path = Path("./data/media")

    # The demo: `fieldcast demo` makes sure this room exists and runs a synthetic farm camera in it.
    demo_room_id: str = "demo-farm"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("database_url must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or CIDR range") from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"
