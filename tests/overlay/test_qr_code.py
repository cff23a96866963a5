"""The QR layer is scannable off the composited frame and stays clear of the edges in both orientations."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from overlay.layers.qr_code import QrCode, QrCodeState
from overlay.theme import safe_margin
from server.domain.trace.labels import qr_matrix

URL = "https://farm.example/01/06901234567892/10/QH-2406-A"


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
def test_qr_layer_decodes_to_the_batch_link(size: tuple[int, int]) -> None:
    layer = QrCode("q", QrCodeState(tuple(tuple(r) for r in qr_matrix(URL)), "扫码看溯源", "批次 " + "长" * 200))
    rendered = layer.render(layer.state, size)
    assert rendered is not None
    margin = safe_margin(size)
    assert rendered.x >= margin and rendered.y >= margin
    assert rendered.x + rendered.image.width <= size[0] - margin
    assert rendered.y + rendered.image.height <= size[1] - margin
    frame = np.full((size[1], size[0], 3), (60, 110, 50), np.uint8)
    card = np.asarray(rendered.image.convert("RGB"))
    frame[rendered.y : rendered.y + card.shape[0], rendered.x : rendered.x + card.shape[1]] = card
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
    assert decoded == URL


def test_no_batch_draws_nothing() -> None:
    layer = QrCode("q", QrCodeState())
    assert layer.render(layer.state, (720, 1280)) is None
