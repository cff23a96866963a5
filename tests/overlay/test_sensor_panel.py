"""The sensor panel stays in the safe area in both orientations, shows ages, and marks stale devices."""

from __future__ import annotations

import numpy as np
import pytest

from overlay.layers.sensor_panel import STALE, SensorEntry, SensorPanel, SensorPanelState, format_age
from overlay.theme import safe_margin

ENTRIES = (
    SensorEntry("土壤湿度", "32.5%", 3, False),
    SensorEntry("温度", "18.2°C", 3, False),
    SensorEntry("冷链车 温度", "3.1°C", 95, True),
)
HOSTILE = ("<img src=x onerror=alert(1)>" * 5, "长" * 2000, "🍅🚚❄️" * 30, "\u202eשלום عربي" * 10)


@pytest.mark.parametrize("size", [(720, 1280), (1280, 720)])
@pytest.mark.parametrize("labels", [None, HOSTILE])
def test_panel_fits_the_safe_area(size: tuple[int, int], labels: tuple[str, ...] | None) -> None:
    entries = ENTRIES if labels is None else tuple(SensorEntry(lb, lb, 1, False) for lb in labels)
    layer = SensorPanel("p", SensorPanelState(entries, simulated=True))
    rendered = layer.render(layer.state, size)
    assert rendered is not None
    margin = safe_margin(size)
    assert rendered.x >= margin and rendered.y >= margin
    assert rendered.x + rendered.image.width <= size[0] - margin
    assert rendered.y + rendered.image.height <= size[1] - margin
    assert rendered.image.width <= size[0] * 0.5


def test_a_stale_device_is_drawn_in_the_stale_colour() -> None:
    def amber_pixels(stale: bool) -> int:
        layer = SensorPanel("p", SensorPanelState((SensorEntry("冷链车 温度", "3.1°C", 95, stale),)))
        rendered = layer.render(layer.state, (720, 1280))
        assert rendered is not None
        rgba = np.asarray(rendered.image)
        r, g, b = STALE[:3]
        close = (abs(rgba[..., 0].astype(int) - r) < 30) & (abs(rgba[..., 1].astype(int) - g) < 30) & (abs(rgba[..., 2].astype(int) - b) < 30)
        return int(close.sum())

    assert amber_pixels(True) > 200 > amber_pixels(False)


def test_ages_read_naturally() -> None:
    assert format_age(3, False) == "3秒前更新"
    assert format_age(125, True) == "⚠ 离线 · 2分钟前"
    assert format_age(None, True) == "暂无数据"


def test_no_devices_draws_nothing() -> None:
    layer = SensorPanel("p", SensorPanelState())
    assert layer.render(layer.state, (720, 1280)) is None
