"""Checks a JSON value against the small subset of JSON Schema that tool parameters use.

Tool arguments from a model are untrusted input: they are checked before a tool
runs. The subset: type, properties, required, enum, const, anyOf, items,
minLength/maxLength, minimum/maximum, additionalProperties: false.
"""

from __future__ import annotations

from typing import Any


class SchemaError(ValueError):
    """The value does not fit the schema; the message says where and why."""


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(name, (object,)))


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Raise `SchemaError` unless `value` fits `schema`."""
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option, path)
                return
            except SchemaError as e:
                errors.append(str(e))
        raise SchemaError(f"{path}: matches none of the options ({'; '.join(errors)})")
    if "const" in schema and value != schema["const"]:
        raise SchemaError(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{path}: must be one of {schema['enum']!r}")
    kind = schema.get("type")
    if isinstance(kind, str) and not _type_ok(value, kind):
        raise SchemaError(f"{path}: must be {kind}, not {type(value).__name__}")
    if isinstance(kind, list) and not any(_type_ok(value, k) for k in kind):
        raise SchemaError(f"{path}: must be one of {kind}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(f"{path}: too short")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"{path}: longer than {schema['maxLength']} characters")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{path}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{path}: above {schema['maximum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{path}: missing {key!r}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaError(f"{path}: unexpected {', '.join(extra)}")
        for key, sub in props.items():
            if key in value:
                validate(value[key], sub, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{i}]")
