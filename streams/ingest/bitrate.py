"""Let a WHIP publisher's own congestion control set its bitrate, starting from a sensible rate.

aiortc's receiver estimates bandwidth from packet arrival times taken on its event loop, so a busy
server reads its own scheduling delays as network congestion and sends ever lower REMB values:
browsers then publish at a few hundred kbps on a perfect link. Without abs-send-time the estimator
has no input and sends no REMB, and the browser falls back to its loss-based controller, which is
right about real networks. `x-google-start-bitrate` (read by Chromium-based publishers) starts it
near the room's rate instead of ramping up from 300 kbps for the first minute of a broadcast.
"""

from __future__ import annotations

import re

ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_RTPMAP = re.compile(r"^a=rtpmap:(\d+) (H264|VP8|VP9|AV1)/90000", re.IGNORECASE)


def without_abs_send_time(offer: str) -> str:
    lines = [ln for ln in offer.split("\r\n") if not (ln.startswith("a=extmap:") and ABS_SEND_TIME in ln)]
    return "\r\n".join(lines)


def with_start_bitrate(answer: str, kbps: int) -> str:
    """Add x-google-start/min bitrate hints to each video codec of an SDP answer."""
    lines = answer.split("\r\n")
    video_pts = [m.group(1) for ln in lines if (m := _RTPMAP.match(ln))]
    hint = f"x-google-start-bitrate={kbps};x-google-min-bitrate={max(100, kbps // 5)}"
    out: list[str] = []
    have_fmtp = set()
    for ln in lines:
        if ln.startswith("a=fmtp:"):
            pt = ln[len("a=fmtp:") :].split(" ", 1)[0]
            if pt in video_pts:
                ln = f"{ln};{hint}"
                have_fmtp.add(pt)
        out.append(ln)
    # Codecs with no fmtp line of their own (VP8) get one, right after their rtpmap.
    result: list[str] = []
    for ln in out:
        result.append(ln)
        m = _RTPMAP.match(ln)
        if m and m.group(1) not in have_fmtp:
            result.append(f"a=fmtp:{m.group(1)} {hint}")
    return "\r\n".join(result)
