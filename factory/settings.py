"""Settings models and their loading: pydantic with `extra="forbid"`, read from YAML once at
the CLI edge. A bad key or value becomes one ConfigError line naming the key and what is
allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from factory.errors import ConfigError, first_error_line
from factory.resources import read_text

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


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
            loaded = yaml.safe_load(read_text(path, ConfigError))
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
    allowed where it stands; anything else is `key.path: message`."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _model_at(model, err["loc"][:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see README"
        return f"unknown key '{loc}' (allowed here: {allowed})"
    if err["type"] == "enum":
        return f"{loc}: {err['msg']}"
    return first_error_line(exc)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    for key in loc:
        if isinstance(key, int):
            continue  # an item of a list: its model was taken with the list
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field else None
        if get_origin(annotation) is list:
            (annotation,) = get_args(annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
