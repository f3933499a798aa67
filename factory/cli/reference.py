"""The configuration reference (docs/configuration.md), written from the settings models
themselves so the page cannot drift from the code: every key, its type, bounds, default and
description. `python -m factory.cli.reference > docs/configuration.md` rewrites it; a test
fails when the committed page differs."""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import jinja2
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from factory.backends.config import (
    DistilabelOptions,
    LocalOptions,
    OpenAIOptions,
    ScriptedOptions,
    VLLMOptions,
)
from factory.dataset.preferences import PreferenceConfig
from factory.filters import FILTERS
from factory.runs.config import GenerationConfig
from factory.scenarios.builder import ScenarioConfig

BACKENDS = (LocalOptions, OpenAIOptions, VLLMOptions, DistilabelOptions, ScriptedOptions)
# Sections described once and linked from elsewhere: the backend (by kind) everywhere, and
# the sampling and role-play settings where a preferences file repeats generate's.
BACKEND_LINK = {"backend": "#backends"}
GENERATE_LINKS = {
    **BACKEND_LINK,
    "sampling": "#generate-sampling",
    "roleplay": "#generate-roleplay",
}


@dataclass
class Row:
    key: str
    type: str
    default: str
    meaning: str


@dataclass
class Section:
    """One table: the keys of one settings model at one place in the file."""

    title: str
    anchor: str
    intro: str
    rows: list[Row] = field(default_factory=list)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def type_text(annotation: Any) -> str:
    """A type as a YAML writer thinks of it."""
    parts = [a for a in _members(annotation) if a is not type(None)]
    if len(parts) > 1 and all(_is_model(p) for p in parts):
        return "mapping, by `kind`"
    text = " or ".join(_one_type(a) for a in parts)
    return f"{text} or null" if len(parts) < len(_members(annotation)) else text


def _one_type(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:  # a union member with bounds of its own: `integer (>= 1) or auto`
        inner = [m for info in args[1:] for m in getattr(info, "metadata", [info])]
        bounds = _bounds(inner)
        return _one_type(args[0]) + (f" ({bounds})" if bounds else "")
    if origin is Literal:
        return " \\| ".join(f"`{getattr(a, 'value', a)}`" for a in args)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in tp)
    if origin is list:
        return f"list of {_one_type(args[0])}"
    if origin is tuple:
        return f"list of {len(args)} {_one_type(args[0])}s"
    if origin is dict:
        return f"mapping of {_one_type(args[0])} to {_one_type(args[1])}"
    names = {bool: "boolean", int: "integer", float: "number", str: "text", Path: "path"}
    if tp in names:
        return names[tp]
    if _is_model(tp):
        return "mapping"
    return "any"


def bounds_text(info: FieldInfo) -> str:
    return _bounds(info.metadata)


def _bounds(metadata: list[Any]) -> str:
    found = []
    for meta in metadata:
        for attribute, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if (value := getattr(meta, attribute, None)) is not None:
                found.append(f"{sign} {value}")
        if isinstance(meta, annotated_types.MinLen):
            found.append(f"at least {meta.min_length} items")
    return ", ".join(found)


def default_text(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        kind = getattr(value, "kind", None)
        return f"`{{kind: {kind.value}}}`" if kind is not None else "each key's own"
    return f"`{_yaml(value)}`"


def _yaml(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple):
        value = list(value)
    return (
        str(yaml.safe_dump(value, default_flow_style=True, width=10_000))
        .strip()
        .removesuffix("\n...")
    )


def model_sections(
    model: type[BaseModel],
    title: str,
    anchor: str,
    intro: str,
    links: dict[str, str] | None = None,
    prefix: str = "",
) -> list[Section]:
    """The table of `model`'s keys, then one table per nested settings model; the keys in
    `links` point to a section described elsewhere instead."""
    links = links or {}
    section = Section(title, anchor, intro)
    nested: list[Section] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        # `kind` is the discriminator every backend declares alike, so it is described here.
        meaning = info.description or ("chooses this backend" if name == "kind" else "")
        members = [m for m in _members(info.annotation) if _is_model(m)]
        value_model = _dict_value_model(info.annotation)
        sub = f"{anchor}-{name}".replace("_", "-")
        if name in links and not prefix:
            meaning = _join(meaning, f"see [{name}]({links[name]})")
        elif len(members) == 1:
            child = members[0]
            meaning = _join(meaning, f"see [{key}](#{sub})")
            nested += model_sections(child, f"`{key}`", sub, _doc(child), prefix=f"{key}.")
        elif value_model is not None:
            meaning = _join(meaning, f"each value: see [{key}.NAME](#{sub})")
            nested += model_sections(
                value_model, f"`{key}.NAME`", sub, _doc(value_model), prefix=f"{key}.NAME."
            )
        bounds = bounds_text(info)
        shown_type = type_text(info.annotation) + (f", {bounds}" if bounds else "")
        section.rows.append(Row(f"`{key}`", shown_type, default_text(info), meaning))
    return [section, *nested]


def _dict_value_model(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if get_origin(member) is dict and _is_model(get_args(member)[1]):
            return get_args(member)[1]  # type: ignore[no-any-return]
    return None


def _join(meaning: str, link: str) -> str:
    return f"{meaning}; {link}" if meaning else link


def _doc(model: type[BaseModel]) -> str:
    """The first paragraph of a model's docstring, on one line."""
    doc = model.__doc__ or ""
    if doc == BaseModel.__doc__ or model.__doc__ is None:
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def reference_sections() -> dict[str, list[Section]]:
    """Every settings file's tables, by the file they describe."""
    backends = []
    for options in BACKENDS:
        kind = options.model_fields["kind"].default.value
        backends += model_sections(options, f"`kind: {kind}`", f"backend-{kind}", _doc(options))
    filters = []
    for name, cls in FILTERS.items():
        settings = cls.Settings
        intro = "" if settings.model_fields else "No settings besides `use` and `enabled`."
        anchor = f"filter-{name}".replace("_", "-")
        filters += model_sections(settings, f"`{name}`", anchor, intro, BACKEND_LINK)
    return {
        "generate": model_sections(GenerationConfig, "Top level", "generate", "", BACKEND_LINK),
        "backends": backends,
        "personas": model_sections(ScenarioConfig, "Top level", "personas", "", BACKEND_LINK),
        "filters": filters,
        "preferences": model_sections(
            PreferenceConfig, "Top level", "preferences", "", GENERATE_LINKS
        ),
    }


def render_reference() -> str:
    """docs/configuration.md as it should read."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return (
        env.get_template("configuration.md.jinja")
        .render(sections=reference_sections())
        .rstrip("\n")
        + "\n"
    )


if __name__ == "__main__":
    print(render_reference(), end="")
