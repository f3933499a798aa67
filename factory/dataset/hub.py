"""`factory push`: upload a version folder to a Hub dataset repository and tag the commit
with the version, so `load_dataset(repo_id, revision="vX.Y.Z")` gets exactly that version.

The token comes from HF_TOKEN or the `hf auth login` store, is handed to huggingface_hub and
nowhere else: it is never printed, logged or written into a version."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.errors import ConfigError, FactoryError, HubError, first_error_line

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")


@dataclass
class PushResult:
    repo_id: str
    tag: str
    commit: str
    url: str


def hub_token() -> str:
    token = os.environ.get("HF_TOKEN")
    if not token:
        from huggingface_hub import get_token

        token = get_token()
    if not token:
        raise ConfigError(
            "no Hugging Face token: set HF_TOKEN or run `hf auth login`, then rerun factory push"
        )
    return token


def _api(token: str) -> Any:
    from huggingface_hub import HfApi

    return HfApi(token=token)


def _why(exc: Exception) -> str:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    first = first_error_line(exc)
    return f"HTTP {status}: {first}" if status else first


def push(version_dir: Path, repo_id: str, version: str, private: bool = False) -> PushResult:
    if not REPO_ID.match(repo_id):
        raise ConfigError(f"--repo-id '{repo_id}' is not ORG/NAME (e.g. my-lab/esc-synthetic)")
    api = _api(hub_token())
    try:
        # None: the owner's default visibility (an organisation may default to private).
        api.create_repo(
            repo_id, repo_type="dataset", private=True if private else None, exist_ok=True
        )
        tags = {t.name for t in api.list_repo_refs(repo_id, repo_type="dataset").tags}
        if version in tags:
            raise HubError(
                f"{repo_id} already has tag {version}: a published version is never replaced;"
                " curate a new version and push that"
            )
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(version_dir),
            commit_message=f"{version_dir.parent.name} {version}",
            # The repository's files become exactly this version's (.gitattributes stays).
            delete_patterns="*",
        )
        api.create_tag(
            repo_id,
            tag=version,
            revision=commit.oid,
            repo_type="dataset",
            tag_message=f"{version_dir.parent.name} {version}",
        )
    except FactoryError:
        raise
    except Exception as exc:  # huggingface_hub raises HTTP and transport errors of several kinds
        raise HubError(f"push to {repo_id} failed ({_why(exc)})") from None
    return PushResult(repo_id, version, commit.oid, f"https://huggingface.co/datasets/{repo_id}")
