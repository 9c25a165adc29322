"""The JSON-schema subset LLM answers are constrained by and validated against.

Our schemas are small and known (an object of enums, a few numbers and lists), so a ~200-line
validator beats a dependency: it checks the schema itself (an unsupported keyword is a
``ConfigError``, never silently ignored) and names the JSON path and the bad value on failure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from evo_lacer.errors import ConfigError, LLMInvalidAnswer

JSONScalar = str | int | float | bool | None
"""A value an ``enum`` option may take."""

REASON_FIELD = "reason"
"""Name of the optional free-text field that ``choice_schema`` adds."""

_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "items",
    "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "anyOf",
}
_ANNOTATIONS = {"title", "description", "default", "examples", "$schema"}


def choice_schema(
    fields: Mapping[str, Sequence[JSONScalar]], *, reason_max_length: int | None = None
) -> dict[str, Any]:
    """Object schema whose every field is an ``enum`` of the legal options, all required.

    ``reason_max_length``: when set, adds an optional free-text ``"reason"`` string of at most
    that many characters (after the choices, so it cannot steer them and costs tokens only
    when the caller wants it).
    """
    if not fields:
        raise ConfigError("choice_schema needs at least one field; got an empty mapping")
    properties: dict[str, Any] = {}
    for name, options in fields.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"choice_schema field names must be non-empty strings; got {name!r}")
        if name == REASON_FIELD and reason_max_length is not None:
            raise ConfigError(
                f"choice_schema field {name!r} clashes with the free-text reason field; "
                "rename it or pass reason_max_length=None"
            )
        opts = list(options)
        if not opts:
            raise ConfigError(f"choice_schema field {name!r} has no options; give at least one")
        for i, opt in enumerate(opts):
            if not _is_scalar(opt):
                raise ConfigError(
                    f"choice_schema field {name!r} option {i} is {opt!r} "
                    f"({type(opt).__name__}); options must be str, int, float, bool or None"
                )
            if any(_json_equal(opt, o) for o in opts[:i]):
                raise ConfigError(f"choice_schema field {name!r} lists option {opt!r} twice")
        properties[name] = {"enum": opts}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(fields),
        "additionalProperties": False,
    }
    if reason_max_length is not None:
        if reason_max_length < 1:
            raise ConfigError(
                f"reason_max_length must be >= 1 or None; got {reason_max_length!r}"
            )
        properties[REASON_FIELD] = {"type": "string", "maxLength": reason_max_length}
    return schema


def check_schema(schema: Any, path: str = "#") -> None:
    """Raise ``ConfigError`` if ``schema`` uses anything outside the supported subset."""
    if not isinstance(schema, Mapping):
        raise ConfigError(f"schema at {path} must be an object; got {schema!r}")
    for key, sub in schema.items():
        where = f"{path}/{key}"
        if key in _ANNOTATIONS:
            continue
        if key not in _KEYWORDS:
            raise ConfigError(
                f"schema keyword {key!r} at {path} is not supported; "
                f"use only: {', '.join(sorted(_KEYWORDS))}"
            )
        if key == "type" and sub not in _TYPES:
            raise ConfigError(f"schema type {sub!r} at {where} is not one of {list(_TYPES)}")
        elif key == "properties":
            if not isinstance(sub, Mapping):
                raise ConfigError(f"schema properties at {where} must be an object; got {sub!r}")
            for name, prop in sub.items():
                check_schema(prop, f"{where}/{name}")
        elif key in ("items",):
            check_schema(sub, where)
        elif key == "anyOf":
            if not isinstance(sub, list) or not sub:
                raise ConfigError(f"schema anyOf at {where} must be a non-empty list; got {sub!r}")
            for i, alt in enumerate(sub):
                check_schema(alt, f"{where}/{i}")
        elif key == "enum" and (not isinstance(sub, list) or not sub):
            raise ConfigError(f"schema enum at {where} must be a non-empty list; got {sub!r}")
        elif key == "required" and not (
            isinstance(sub, list) and all(isinstance(n, str) for n in sub)
        ):
            raise ConfigError(f"schema required at {where} must be a list of names; got {sub!r}")
        elif key == "additionalProperties" and sub is not False and sub is not True:
            raise ConfigError(
                f"schema additionalProperties at {where} must be true or false; got {sub!r}"
            )
        elif key in ("minItems", "maxItems", "minLength", "maxLength") and not (
            isinstance(sub, int) and not isinstance(sub, bool) and sub >= 0
        ):
            raise ConfigError(f"schema {key} at {where} must be an integer >= 0; got {sub!r}")
        elif key in ("minimum", "maximum") and not _is_number(sub):
            raise ConfigError(f"schema {key} at {where} must be a number; got {sub!r}")


def schema_errors(value: Any, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, each naming the JSON path and the bad value."""
    errors: list[str] = []
    if "anyOf" in schema:
        branches = [schema_errors(value, alt, path) for alt in schema["anyOf"]]
        if all(branches):
            detail = "; ".join(b[0] for b in branches)
            errors.append(f"at {path}: {_show(value)} matches none of anyOf ({detail})")
    if "const" in schema and not _json_equal(value, schema["const"]):
        errors.append(f"at {path}: {_show(value)} is not the constant {_show(schema['const'])}")
    if "enum" in schema and not any(_json_equal(value, o) for o in schema["enum"]):
        errors.append(f"at {path}: {_show(value)} is not one of {_show(schema['enum'])}")
    kind = schema.get("type")
    if kind is not None and not _has_type(value, kind):
        errors.append(f"at {path}: {_show(value)} is not of type {kind!r}")
        return errors
    if _is_number(value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"at {path}: {_show(value)} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"at {path}: {_show(value)} is above the maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"at {path}: {_show(value)} is shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(
                f"at {path}: string of length {len(value)} is longer than {schema['maxLength']}"
            )
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"at {path}: {len(value)} items, fewer than {schema['minItems']}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"at {path}: {len(value)} items, more than {schema['maxItems']}")
        if "items" in schema:
            for i, item in enumerate(value):
                errors.extend(schema_errors(item, schema["items"], f"{path}[{i}]"))
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"at {path}: required field {name!r} is missing")
        for name, item in value.items():
            if name in props:
                errors.extend(schema_errors(item, props[name], _join(path, name)))
            elif schema.get("additionalProperties", True) is False:
                errors.append(
                    f"at {path}: unexpected field {name!r} (allowed: {', '.join(props)})"
                )
    return errors


def validate(value: Any, schema: Mapping[str, Any]) -> None:
    """Raise ``LLMInvalidAnswer`` listing every violation of ``schema`` by ``value``."""
    errors = schema_errors(value, schema)
    if errors:
        raise LLMInvalidAnswer("answer does not match the schema: " + "; ".join(errors))


def parse_answer(text: str, schema: Mapping[str, Any]) -> Any:
    """Parse an LLM's raw text as JSON and validate it; the text is data, never code."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise LLMInvalidAnswer(f"answer is not valid JSON ({exc}): {_clip(text)}") from None
    validate(value, schema)
    return value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int) or (
        isinstance(value, float) and math.isfinite(value)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return _is_number(value) and (isinstance(value, int) or value.is_integer())
    if kind == "number":
        return _is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return value is None


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


def _show(value: Any) -> str:
    return _clip(json.dumps(value, default=repr))


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
