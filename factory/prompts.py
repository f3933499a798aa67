"""Prompt templates: Jinja2 files in prompts/, each with a `system` and a `user` block.

Rendering is strict (an unknown variable is an error, never an empty string) and every
template's content hash is recorded with the dialogues it produced.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, TypedDict

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from factory.errors import DataFileError, first_error_line
from factory.resources import data_dir, read_text


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class SpeakerLabels(BaseModel):
    """How transcripts name the speakers (prompts/labels.yaml); `you` is the agent itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seeker: str = Field(min_length=1)
    supporter: str = Field(min_length=1)
    you: str = Field(min_length=1)

    def all(self) -> tuple[str, str, str]:
        return (self.seeker, self.supporter, self.you)


class PromptTemplate:
    """One role's template; `render` gives the chat messages, `sha256` identifies the text."""

    def __init__(self, name: str, template: jinja2.Template, source: str) -> None:
        self.name = name
        self._template = template
        self.sha256 = hashlib.sha256(source.encode()).hexdigest()[:16]
        missing = {"system", "user"} - set(template.blocks)
        if missing:
            raise DataFileError(
                f"prompt template '{name}' lacks block(s) {', '.join(sorted(missing))}:"
                " each template needs {% block system %} and {% block user %}"
            )

    def render(self, **context: Any) -> list[ChatMessage]:
        ctx = self._template.new_context(context)
        try:
            system = "".join(self._template.blocks["system"](ctx)).strip()
            user = "".join(self._template.blocks["user"](ctx)).strip()
        except jinja2.UndefinedError as exc:
            raise DataFileError(f"prompt template '{self.name}': {exc.message}") from None
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class PromptLibrary:
    """Loads templates by role name from a folder (the shipped prompts/ by default)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or data_dir("prompts")
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=False,
        )

    def get(self, name: str) -> PromptTemplate:
        filename = f"{name}.jinja"
        path = self.directory / filename
        if not path.is_file():
            raise DataFileError(
                f"prompt template {path} not found: restore it or point prompts_dir elsewhere"
            )
        try:
            template = self._env.get_template(filename)
        except jinja2.TemplateSyntaxError as exc:
            raise DataFileError(
                f"{path}:{exc.lineno}: template syntax error: {exc.message}"
            ) from None
        return PromptTemplate(name, template, read_text(path))

    def labels(self) -> SpeakerLabels:
        """The folder's labels.yaml, or the shipped one when a custom folder has none."""
        path = self.directory / "labels.yaml"
        if not path.is_file():
            path = data_dir("prompts") / "labels.yaml"
        try:
            return SpeakerLabels.model_validate(yaml.safe_load(read_text(path)))
        except (yaml.YAMLError, ValidationError) as exc:
            raise DataFileError(f"{path}: {first_error_line(exc)}") from None
