"""Photoshop type layers: a text layer as the `TySh` tagged block and back.

Writing: the layer's rendered pixels stay the layer's pixels (every reader shows them); the
`TySh` block adds what Photoshop, Photopea and psd-tools read as live text: the transform
(the first line's baseline anchor), a text descriptor with the words, and the text engine
data (a PostScript-like dictionary: the paragraph runs with the alignment, one style run
with the font index, size, tracking, leading and fill colour, and the font set naming the
font by its PostScript name). The structure follows the Photoshop-written files in
`../shared/data/psd-text` and ag-psd's `src/text.ts` (MIT).

Reading: a type layer's engine data gives the words, the first style run's font, size,
colour, tracking and leading, and the first paragraph's alignment; the pixels stay those
stored in the file. Font sizes are taken as document pixels (PSDs are 72 dpi for type:
Photoshop writes points at 72 px per inch in the engine data and scales by the transform).
"""

from __future__ import annotations

import codecs
import math
import re
from typing import Any

from app.core import fonts
from model.text_spec import TextSpec

_JUSTIFICATION = {"left": 0, "right": 1, "center": 2}
_ALIGN_FROM_PSD = {0: "left", 1: "right", 2: "center"}  # 3-6 justified: their last line left
INVISIBLE_FONT = "AdobeInvisFont"


# --- engine data: a small writer for Photoshop's PostScript-like dictionaries


class _Name(str):
    """An engine-data name written as-is (`/Name` values are not used, but keys are)."""


def _string(text: str) -> bytes:
    body = text.encode("utf-16-be")
    for c in (b"\\", b"(", b")"):
        body = body.replace(c, b"\\" + c)
    return b"(" + codecs.BOM_UTF16_BE + body + b")"


def _number(value: float) -> bytes:
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return str(value).encode()
    text = f"{float(value):.5f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    # as Photoshop writes them: ".8", "-.25", "1.0"
    return re.sub(r"^(-?)0\.(?=\d)", r"\1.", text).encode() if text != "0.0" else b"0.0"


def engine_bytes(value: Any, indent: int = 0) -> bytes:
    """Serialize nested dicts, lists, strings, numbers and booleans as engine data."""
    tab = b"\t" * indent
    if isinstance(value, dict):
        out = [b"<<"]
        for key, item in value.items():
            out.append(tab + b"\t/" + key.encode("ascii") + b" " + engine_bytes(item, indent + 1))
        out.append(tab + b">>")
        return b"\n".join(out)
    if isinstance(value, list):
        return b"[ " + b" ".join(engine_bytes(v, indent + 1) for v in value) + b" ]"
    if isinstance(value, str):
        return _string(value)
    return _number(value)


def _color(rgb: tuple[int, int, int]) -> dict:
    return {"Type": 1, "Values": [1.0] + [round(c / 255.0, 5) for c in rgb]}


def _paragraph(align: str, leading: float) -> dict:
    return {
        "Justification": _JUSTIFICATION.get(align, 0), "FirstLineIndent": 0.0,
        "StartIndent": 0.0, "EndIndent": 0.0, "SpaceBefore": 0.0, "SpaceAfter": 0.0,
        "AutoHyphenate": True, "HyphenatedWordSize": 6, "PreHyphen": 2, "PostHyphen": 2,
        "ConsecutiveHyphens": 8, "Zone": 36.0, "WordSpacing": [0.8, 1.0, 1.33],
        "LetterSpacing": [0.0, 0.0, 0.0], "GlyphSpacing": [1.0, 1.0, 1.0],
        "AutoLeading": float(leading), "LeadingType": 0, "Hanging": False, "Burasagari": False,
        "KinsokuOrder": 0, "EveryLineComposer": False,
    }  # fmt: skip


def _style(spec: TextSpec, font_index: int, color: tuple[int, int, int]) -> dict:
    return {
        "Font": font_index, "FontSize": float(spec.size_px), "FauxBold": False,
        "FauxItalic": False, "AutoLeading": False,
        "Leading": float(spec.size_px * spec.line_spacing), "HorizontalScale": 1.0,
        "VerticalScale": 1.0, "Tracking": int(round(spec.tracking)), "AutoKerning": True,
        "Kerning": 0, "BaselineShift": 0.0, "FontCaps": 0, "FontBaseline": 0,
        "Underline": False, "Strikethrough": False, "Ligatures": True, "DLigatures": False,
        "BaselineDirection": 2, "Tsume": 0.0, "StyleRunAlignment": 2, "Language": 0,
        "NoBreak": False, "FillColor": _color(color), "StrokeColor": _color((0, 0, 0)),
        "FillFlag": True, "StrokeFlag": False, "FillFirst": True, "YUnderline": 1,
        "OutlineWidth": 1.0, "CharacterDirection": 0, "HindiNumbers": False, "Kashida": 1,
        "DiacriticPos": 2,
    }  # fmt: skip


# Photoshop's default line-breaking sets for Japanese (the same in every type layer it writes)
_KINSOKU = [
    {"Name": "PhotoshopKinsokuHard",
     "NoStart": "、。，．・：；？！ー―’”）〕］｝〉》」』】ヽヾゝゞ々"
                "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ゛゜?!)]},.:;℃℉¢％‰",
     "NoEnd": "‘“（〔［｛〈《「『【([{￥＄£＠§〒＃", "Keep": "―‥", "Hanging": "、。.,"},
    {"Name": "PhotoshopKinsokuSoft", "NoStart": "、。，．・：；？！’”）〕］｝〉》」』】ヽヾゝゞ々",
     "NoEnd": "‘“（〔［｛〈《「『【", "Keep": "―‥", "Hanging": "、。.,"},
]


def postscript_name(spec: TextSpec) -> str:
    """The PostScript name a PSD names the font by: the installed font's, else one made
    from the family and style ("Myriad Pro", "Bold" -> "MyriadPro-Bold")."""
    if fonts.is_installed(spec.family):
        found = fonts.match(spec.family, spec.style, spec.weight, spec.italic)
        if found is not None and found.postscript and found.family.lower() == spec.family.lower():
            return found.postscript
    style = (spec.style or fonts.style_name(spec.weight, spec.italic)).replace(" ", "")
    return f"{spec.family.replace(' ', '')}-{style}"


def engine_data(spec: TextSpec) -> bytes:
    """The text engine data of a point-text type layer showing `spec`."""
    color = spec.color
    lines = list(spec.lines) or [""]
    text = "\r".join(lines) + "\r"
    paragraph = _paragraph(spec.align, spec.line_spacing)
    # as Photoshop and ag-psd write it: the invisible font first, the text's font next
    fonts_used = [
        {"Name": INVISIBLE_FONT, "Script": 0, "FontType": 0, "Synthetic": 0},
        {"Name": postscript_name(spec), "Script": 0, "FontType": 0, "Synthetic": 0},
    ]
    normal_style = _style(spec, 1, (0, 0, 0))
    normal_style.update(FontSize=12.0, AutoLeading=True, Leading=0.0, Tracking=0)
    resources = {
        "KinsokuSet": _KINSOKU,
        "MojiKumiSet": [{"InternalName": f"Photoshop6MojiKumiSet{i}"} for i in range(1, 5)],
        "TheNormalStyleSheet": 0,
        "TheNormalParagraphSheet": 0,
        "ParagraphSheetSet": [
            {"Name": "Normal RGB", "DefaultStyleSheet": 0, "Properties": _paragraph("left", 1.2)}
        ],
        "StyleSheetSet": [{"Name": "Normal RGB", "StyleSheetData": normal_style}],
        "FontSet": fonts_used,
        "SuperscriptSize": 0.583, "SuperscriptPosition": 0.333,
        "SubscriptSize": 0.583, "SubscriptPosition": 0.333, "SmallCapSize": 0.7,
    }  # fmt: skip
    identity = {"Axis": [1.0, 0.0, 1.0], "XY": [0.0, 0.0]}
    engine = {
        "EngineDict": {
            "Editor": {"Text": text},
            "ParagraphRun": {
                "DefaultRunData": {
                    "ParagraphSheet": {"DefaultStyleSheet": 0, "Properties": {}},
                    "Adjustments": identity,
                },
                "RunArray": [
                    {"ParagraphSheet": {"DefaultStyleSheet": 0, "Properties": paragraph},
                     "Adjustments": identity}
                    for _ in lines
                ],
                "RunLengthArray": [len(line) + 1 for line in lines],
                "IsJoinable": 1,
            },
            "StyleRun": {
                "DefaultRunData": {"StyleSheet": {"StyleSheetData": {}}},
                "RunArray": [{"StyleSheet": {"StyleSheetData": _style(spec, 1, color)}}],
                "RunLengthArray": [len(text)],
                "IsJoinable": 2,
            },
            "GridInfo": {
                "GridIsOn": False, "ShowGrid": False, "GridSize": 18.0, "GridLeading": 22.0,
                "GridColor": _color((0, 0, 0)), "GridLeadingFillColor": _color((0, 0, 0)),
                "AlignLineHeightToGridFlags": False,
            },  # fmt: skip
            "AntiAlias": 4,
            "UseFractionalGlyphWidths": True,
            "Rendered": {
                "Version": 1,
                "Shapes": {
                    "WritingDirection": 0,
                    "Children": [{
                        "ShapeType": 0, "Procession": 0,
                        "Lines": {"WritingDirection": 0, "Children": []},
                        "Cookie": {"Photoshop": {
                            "ShapeType": 0, "PointBase": [0.0, 0.0],
                            "Base": {"ShapeType": 0, "TransformPoint0": [1.0, 0.0],
                                     "TransformPoint1": [0.0, 1.0],
                                     "TransformPoint2": [0.0, 0.0]},
                        }},
                    }],
                },
            },  # fmt: skip
        },
        "ResourceDict": resources,
        "DocumentResources": resources,
    }
    return b"\n\n" + engine_bytes(engine) + b"\n"


def type_tool_block(spec: TextSpec, transform: tuple[float, ...], bounds: tuple[int, ...]) -> Any:
    """psd-tools' TypeToolObjectSetting (the `TySh` block) for `spec`; `transform` is
    (xx, xy, yx, yy, tx, ty) with (tx, ty) the first line's anchor on its baseline."""
    from psd_tools.psd.descriptor import (
        DescriptorBlock,
        Double,
        Enumerated,
        Integer,
        RawData,
        String,
    )
    from psd_tools.psd.tagged_blocks import TypeToolObjectSetting

    text = "\r".join(spec.lines) + "\x00"
    data = DescriptorBlock(classID=b"TxLr")
    data[b"Txt "] = String(text)
    data[b"textGridding"] = Enumerated(b"textGridding", b"None")
    data[b"Ornt"] = Enumerated(b"Ornt", b"Hrzn")
    data[b"AntA"] = Enumerated(b"Annt", b"antiAliasSharp")
    data[b"TextIndex"] = Integer(0)
    data[b"EngineData"] = RawData(engine_data(spec))
    warp = DescriptorBlock(classID=b"warp")
    warp[b"warpStyle"] = Enumerated(b"warpStyle", b"warpNone")
    warp[b"warpValue"] = Double(0.0)
    warp[b"warpPerspective"] = Double(0.0)
    warp[b"warpPerspectiveOther"] = Double(0.0)
    warp[b"warpRotate"] = Enumerated(b"Ornt", b"Hrzn")
    return TypeToolObjectSetting(1, tuple(float(v) for v in transform), 50, data, 1, warp,
                                 *(int(b) for b in bounds))


# --- reading


def _family_from_postscript(name: str) -> tuple[str, str]:
    """Family and style of a font by its PostScript name: the installed font's, else a
    guess from the name ("MyriadPro-Bold" -> "Myriad Pro", "Bold"; "ArialMT" -> "Arial")."""
    found = fonts.by_postscript(name)
    if found is not None:
        return found.family, found.style
    base, _, style = name.partition("-")
    base = re.sub(r"(PS)?MT$|PS$", "", base) or base
    family = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", base).strip()
    style = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", style).strip() or "Regular"
    return family or name, style


def _get(data: Any, *keys: Any, default: Any = None) -> Any:
    for key in keys:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _plain(value: Any) -> Any:
    """psd-tools' engine-data values as plain Python ones."""
    value = getattr(value, "value", value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def spec_from_type_layer(layer: Any) -> TextSpec | None:
    """The TextSpec of a psd-tools TypeLayer (None when its engine data cannot be read)."""
    try:
        engine, resources = layer.engine_dict, layer.resource_dict
        transform = layer._record.tagged_blocks.get_data(b"TySh").transform
    except Exception:  # noqa: BLE001 - damaged or missing engine data: stays a pixel layer
        return None
    raw = _plain(_get(engine, "Editor", "Text", default="")) or str(getattr(layer, "text", ""))
    lines = re.split(r"\r\n|\r|\n|\x03", str(raw).rstrip("\r\n\x00"))
    style = dict(_get(resources, "StyleSheetSet", 0, "StyleSheetData", default={}) or {})
    run = _get(engine, "StyleRun", "RunArray", 0, "StyleSheet", "StyleSheetData", default={})
    style.update(dict(run or {}))
    para = _get(engine, "ParagraphRun", "RunArray", 0, "ParagraphSheet", "Properties",
                default={}) or {}
    font_set = _get(resources, "FontSet", default=[]) or []
    font_index = int(_plain(style.get("Font", 0)) or 0)
    ps_name = str(_plain(_get(font_set, font_index, "Name", default="")) or "")
    if ps_name in ("", INVISIBLE_FONT):
        ps_name = next((str(_plain(f["Name"])) for f in font_set
                        if str(_plain(f["Name"])) != INVISIBLE_FONT), "Arial")
    family, style_name = _family_from_postscript(ps_name)
    weight, italic = fonts.weight_italic(style_name)
    xx, xy, yx, yy, tx, ty = (float(v) for v in transform)
    scale = math.hypot(yx, yy) or 1.0
    size = float(_plain(style.get("FontSize", 12.0))) * scale
    values = _plain(_get(style, "FillColor", "Values", default=[1.0, 0.0, 0.0, 0.0]))
    color = tuple(int(round(min(max(float(v), 0.0), 1.0) * 255)) for v in values[1:4])
    auto = bool(_plain(style.get("AutoLeading", True)))
    leading = float(_plain(para.get("AutoLeading", 1.2)) or 1.2)
    if not auto and float(_plain(style.get("Leading", 0.0)) or 0.0) > 0:
        leading = float(_plain(style["Leading"])) * scale / size
    align = _ALIGN_FROM_PSD.get(int(_plain(para.get("Justification", 0)) or 0), "left")
    box = _get(engine, "Rendered", "Shapes", "Children", 0, "Cookie", "Photoshop", "BoxBounds")
    x, y = tx, ty
    if box is not None:  # paragraph text: the anchor is the box's top-left corner
        left, top, right, _bottom = (float(v) for v in _plain(box))
        x = tx + {"left": left, "center": (left + right) / 2, "right": right}[align] * scale
        y = ty + top * scale + size * 0.9  # the first baseline sits about an ascent down
    return TextSpec(
        lines=tuple(lines), family=family, style=style_name, weight=weight, italic=italic,
        size_px=size, color=color, tracking=float(_plain(style.get("Tracking", 0)) or 0),
        line_spacing=leading, align=align, x=x, y=y,
    )  # fmt: skip
