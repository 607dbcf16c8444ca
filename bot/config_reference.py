"""The configuration reference, generated from the settings model so it cannot drift.

`k8s-chatops config-reference` prints it; docs/configuration.md holds a copy
that a test compares against this output.
"""

from __future__ import annotations

import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.settings import Settings

_INTRO = """# Configuration reference

Generated from the settings model (`k8s-chatops config-reference`); do not edit by hand.

Values come from, in order of precedence: the environment, then the YAML file
given by `--config` or `K8S_CHATOPS_CONFIG`. Every key has an environment
variable: `K8S_CHATOPS_` followed by the path in capitals with `__` between
levels (for example `K8S_CHATOPS_ALERTS__INTERVAL_SECONDS=30`). The Slack
secrets also read the conventional `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`,
`SLACK_SIGNING_SECRET` and `SLACK_API_URL`, below the `K8S_CHATOPS_SLACK__...`
names and above the file. The environment wins key by key: a variable replaces
that one key of the file's section and leaves the others, so a secret rotated
in the environment wins over the old value a ConfigMap still holds. Lists
(`clusters`, `access.rules`) are easiest in the YAML file.
"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is None:
        if annotation is SecretStr:
            return "secret string"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return "object"
        return getattr(annotation, "__name__", str(annotation)).replace("NoneType", "null")
    args = [a for a in get_args(annotation)]
    if str(origin).endswith("Literal"):
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "map"
    names = [_type_name(a) for a in args if a is not type(None)]
    optional = any(a is type(None) for a in args)
    return " \\| ".join(names) + (" (optional)" if optional else "")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        factory = field.default_factory
        if getattr(factory, "__module__", "") == "socket":  # e.g. the host name: differs per machine
            return f"`{factory.__name__}()`"
        value = factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return ""
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return "(secret)"
    return f"`{json.dumps(value, default=str)}`"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = _model_of(field.annotation)
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        if inner is not None:
            is_list = get_origin(field.annotation) is list
            nested.append((f"{path}[]." if is_list else f"{path}.", inner))
    for path, inner in nested:
        rows.extend(_rows(inner, path))
    return rows


def render_reference() -> str:
    header = "| key | type | default | meaning |\n|---|---|---|---|"
    return _INTRO + "\n" + header + "\n" + "\n".join(_rows(Settings, "")) + "\n"
