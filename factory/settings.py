"""Settings models and their loading: pydantic with `extra="forbid"`, read from YAML once at
the CLI edge. A bad key or value becomes one ConfigError line naming the key and what is
allowed."""

from __future__ import annotations

from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from factory.errors import ConfigError, first_error_line
from factory.resources import read_text

M = TypeVar("M", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (the
    plain loader keeps the last value without a word)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        repeated = sorted({str(k) for k in keys if keys.count(k) > 1})
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{repeated[0]}' is given twice", node.start_mark
            )
        return super().construct_mapping(node, deep)


def load_yaml(text: str) -> Any:
    """A YAML document; a repeated key raises yaml.YAMLError like any other mistake."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        """`n: true` is a mistake, not 1: pydantic would take a boolean for a number."""
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name)
                if not isinstance(value, bool) or field is None or _accepts_bool(field.annotation):
                    continue
                wanted = "a number" if _accepts(field.annotation, (int, float)) else "text"
                raise ValueError(f"{name}: expected {wanted}, not {str(value).lower()}")
        return data


def _accepts_bool(annotation: Any) -> bool:
    return annotation is Any or _accepts(annotation, (bool,))


def _accepts(annotation: Any, types: tuple[type, ...]) -> bool:
    if annotation in types:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return any(_accepts(arg, types) for arg in get_args(annotation))
    return False


def load_settings(model: type[M], path: Path | None, overrides: dict[str, Any] | None = None) -> M:
    """Any settings model from a YAML file (or defaults) with CLI overrides (dotted keys)."""
    data: dict[str, Any] = {}
    label = "config"
    if path is not None:
        label = str(path)
        if not path.exists() or path.is_dir():  # pipes like <(...) are fine
            raise ConfigError(
                f"config file {path} not found: pass an existing YAML file to --config"
            )
        try:
            loaded = load_yaml(read_text(path, ConfigError))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({first_error_line(exc)})") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
        data = loaded or {}
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{label}: '{key}' must be a mapping")
            node = child
        node[leaf] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {validation_line(exc, model)}") from None


def validation_line(exc: ValidationError, model: type[BaseModel]) -> str:
    """A settings or data-file validation error as one line: an unknown key names the keys
    allowed where it stands (those of the chosen `kind` inside a discriminated union), an
    unknown kind names the kinds; anything else is `key.path: message`."""
    err = exc.errors()[0]
    loc = err["loc"]
    shown = ".".join(_locate(model, loc)[0])
    if err["type"] == "extra_forbidden":
        _, parent, tag = _locate(model, loc[:-1])
        allowed = (
            (", ".join(parent.model_fields) or "none") if parent else "see docs/configuration.md"
        )
        scope = f"with kind {tag}" if tag else "here"
        return f"unknown key '{shown}' (allowed {scope}: {allowed})"
    if err["type"] == "union_tag_invalid" and loc:
        holder = _locate(model, loc[:-1])[1]
        field = holder.model_fields.get(str(loc[-1])) if holder else None
        if field is not None and field.discriminator:
            name = str(field.discriminator)
            kinds = [tag for m in _models_in(field.annotation) for tag in _tags(m, name)]
            return (
                f"{shown}.{name}: unknown value {err['ctx']['tag']!r} (allowed: {', '.join(kinds)})"
            )
    message = err["msg"].removeprefix("Value error, ")
    return f"{shown}: {message}" if shown else message


def _locate(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[list[str], type[BaseModel] | None, str]:
    """Walk `loc` from `model`: the key path as the user wrote it (pydantic's union tags
    left out), the model it ends on (None past a non-model) and the last union tag passed."""
    shown: list[str] = []
    node: type[BaseModel] | None = model
    tag = ""
    keys = iter(loc)
    for key in keys:
        shown.append(str(key))
        if isinstance(key, int):
            continue  # an item of a list: its model was taken with the list
        field = node.model_fields.get(str(key)) if node else None
        members = _models_in(field.annotation) if field else []
        node = members[0] if len(members) == 1 else None
        if field is not None and field.discriminator and len(members) > 1:
            tag = str(next(keys, ""))
            name = str(field.discriminator)
            node = next((m for m in members if tag in _tags(m, name)), None)
    return shown, node, tag


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The settings models a field holds: itself, its items' model (a list), or the members
    of a union of models."""
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    candidates = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    return [
        t for t in (candidates or (annotation,)) if isinstance(t, type) and issubclass(t, BaseModel)
    ]


def _tags(member: type[BaseModel], discriminator: str) -> list[str]:
    """The values of a union member's discriminator field (its `Literal`)."""
    field = member.model_fields.get(discriminator)
    return [str(v) for v in get_args(field.annotation)] if field else []
