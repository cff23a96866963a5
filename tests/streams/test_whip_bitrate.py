"""The WHIP answer lets the publisher's own congestion control pick the rate, from a good start."""

from __future__ import annotations

from streams.ingest.bitrate import ABS_SEND_TIME, with_start_bitrate, without_abs_send_time

OFFER = "\r\n".join([
    "v=0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 102",
    f"a=extmap:3 {ABS_SEND_TIME}",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:102 H264/90000",
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=rtpmap:111 opus/48000/2",
    "a=fmtp:111 minptime=10;useinbandfec=1",
])


def test_abs_send_time_is_not_negotiated_and_nothing_else_changes() -> None:
    out = without_abs_send_time(OFFER)
    assert ABS_SEND_TIME not in out
    assert "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid" in out
    assert len(out.split("\r\n")) == len(OFFER.split("\r\n")) - 1


def test_every_video_codec_gets_the_start_bitrate_and_audio_does_not() -> None:
    out = with_start_bitrate(OFFER, 1250).split("\r\n")
    assert "a=fmtp:96 x-google-start-bitrate=1250;x-google-min-bitrate=250" in out
    assert out[out.index("a=rtpmap:96 VP8/90000") + 1].startswith("a=fmtp:96 ")
    assert any(ln.startswith("a=fmtp:102 level-asymmetry-allowed=1") and ln.endswith("x-google-start-bitrate=1250;x-google-min-bitrate=250") for ln in out)
    assert "a=fmtp:111 minptime=10;useinbandfec=1" in out
