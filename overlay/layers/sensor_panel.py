"""The live sensor panel: the latest readings of the devices the host chose, each with its age,
and a visible stale state when a device goes quiet ("土壤湿度 32.5% · 3秒前")."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from overlay.layer import Layer, Rendered
from overlay.shapes import rounded_rect_mask, solid
from overlay.text import face
from overlay.theme import ACCENT, PANEL, TEXT, TEXT_MUTED, is_portrait, safe_margin, unit

STALE: tuple[int, int, int, int] = (255, 184, 77, 255)  # amber: a reading no longer current
TITLE = "实时传感器"
SIMULATED = "模拟数据"


@dataclass(frozen=True)
class SensorEntry:
    label: str  # 土壤湿度, 冷链车 温度
    value: str  # 32.5%, 3.1°C ("—" before the first reading)
    age_s: int | None  # seconds since the reading; None: never reported
    stale: bool


@dataclass(frozen=True)
class SensorPanelState:
    entries: tuple[SensorEntry, ...] = ()
    simulated: bool = False


def format_age(age_s: int | None, stale: bool) -> str:
    if age_s is None:
        return "暂无数据"
    if age_s < 60:
        text = f"{age_s}秒前"
    elif age_s < 3600:
        text = f"{age_s // 60}分钟前"
    else:
        text = f"{age_s // 3600}小时前"
    return f"⚠ 离线 · {text}" if stale else f"{text}更新"


class SensorPanel(Layer[SensorPanelState]):
    """Top-right, under the caption pill; a column of readings in a dark glass panel."""

    # Turned on and off by the host over whatever else is showing: it moves out of the way.
    flow = True

    def render(self, state: SensorPanelState, frame_size: tuple[int, int]) -> Rendered | None:
        if not state.entries:
            return None
        width, height = frame_size
        u = unit(frame_size)
        margin = safe_margin(frame_size)
        title_face = face(round(20 * u), bold=True)
        label_face = face(round(21 * u))
        value_face = face(round(32 * u), bold=True)
        age_face = face(round(17 * u))
        pad = round(16 * u)
        gap = round(10 * u)
        radius = round(12 * u)
        bar = max(2, round(5 * u))
        max_w = round((0.46 if is_portrait(frame_size) else 0.26) * width)
        inner = max_w - 2 * pad - bar

        title = TITLE + (f" · {SIMULATED}" if state.simulated else "")
        rows = []
        for entry in state.entries[:4]:
            value = value_face.ellipsize(entry.value, inner // 2)
            label = label_face.ellipsize(entry.label, inner - value_face.measure(value) - gap)
            age = age_face.ellipsize(format_age(entry.age_s, entry.stale), inner)
            rows.append((label, value, age, entry.stale))
        title = title_face.ellipsize(title, inner)
        content_w = max(
            [title_face.measure(title)]
            + [label_face.measure(lb) + gap + value_face.measure(v) for lb, v, _, _ in rows]
            + [age_face.measure(a) for _, _, a, _ in rows]
        )
        panel_w = min(max_w, content_w + 2 * pad + bar)
        row_h = value_face.size + round(4 * u) + age_face.size
        panel_h = pad + title_face.size + gap + len(rows) * row_h + (len(rows) - 1) * gap + pad
        canvas = Image.new("RGBA", (panel_w, panel_h), (0, 0, 0, 0))
        mask = rounded_rect_mask((panel_w, panel_h), radius)
        canvas.alpha_composite(solid((panel_w, panel_h), PANEL, mask))
        canvas.alpha_composite(solid((bar, panel_h), ACCENT, mask.crop((0, 0, bar, panel_h))))
        x = bar + pad
        y = pad
        title_face.draw(canvas, (x, y - title_face.em_top), title, TEXT_MUTED)
        y += title_face.size + gap
        right = panel_w - pad
        for label, value, age, stale in rows:
            colour = STALE if stale else TEXT
            value_w = value_face.measure(value)
            label_top = y + (value_face.size - label_face.size)
            label_face.draw(canvas, (x, label_top - label_face.em_top), label, TEXT_MUTED)
            value_face.draw(canvas, (right - value_w, y - value_face.em_top), value, colour)
            age_y = y + value_face.size + round(4 * u)
            age_face.draw(canvas, (right - age_face.measure(age), age_y - age_face.em_top), age, STALE if stale else TEXT_MUTED)
            y += row_h + gap
        top = margin + round(50 * u)  # clear of the caption pill in the corner
        return Rendered(canvas, width - margin - panel_w, min(top, height - margin - panel_h))
