"""``dpbench config-doc``: ``docs/configuration.md``, the configuration reference, written from the schema.

Every key of ``workflow/schemas/config.schema.yaml`` (the schema Snakemake validates each config
against) becomes a row: its dotted path, what it takes (type, allowed values, bounds), its value in
``config.yaml`` (the full reproduction) and its ``description``. The page is generated, so it cannot
drift from the schema; ``--check`` fails when the committed page differs (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from dpbench.params import UserError

SCHEMA = Path("workflow/schemas/config.schema.yaml")
CONFIG = Path("config.yaml")
OUTPUT = Path("docs/configuration.md")
_BOUNDS = {"minimum": "≥ {}", "exclusiveMinimum": "> {}", "maximum": "≤ {}", "exclusiveMaximum": "< {}"}


def _resolve(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` (``#/$defs/name``) merged in (the node's own keys win), and its
    ``allOf`` members (:func:`_merge_all_of`)."""
    ref = node.get("$ref")
    if not ref:
        return _merge_all_of(node, schema)
    if not ref.startswith("#/$defs/"):
        raise UserError(f"{SCHEMA}: only local references (#/$defs/...) are supported, got {ref!r}")
    target = schema["$defs"][ref.removeprefix("#/$defs/")]
    return _merge_all_of({**_resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}, schema)


def _merge_all_of(node: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``allOf`` members merged in: their properties join the node's, and a member that
    only narrows a key (no description of its own) keeps the key's description."""
    if "allOf" not in node:
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    properties = dict(merged.get("properties", {}))
    for member in map(lambda m: _resolve(m, schema), node["allOf"]):
        merged = {**member, **merged}
        for key, child in member.get("properties", {}).items():
            known = _resolve(properties.get(key, {}), schema)
            properties[key] = child if "description" in child or not known else {**known, **child}
    merged["properties"] = properties
    return merged


def describe_type(node: dict[str, Any], schema: dict[str, Any]) -> str:
    """What a key takes, in a few words: ``integer ≥ 1``, ``one of: cpu, cuda``, ``list of integer``..."""
    model_name = node.get("$ref") == "#/$defs/model_name"
    node = _resolve(node, schema)
    if "enum" in node:
        return "one of: " + ", ".join("null" if v is None else str(v) for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(describe_type(option, schema) for option in node["oneOf"])
    kind = node.get("type", "object" if "properties" in node else "any")
    text = " or ".join(kind) if isinstance(kind, list) else kind
    if text == "array" and "items" in node:
        text = f"list of {describe_type(node['items'], schema)}"
    if model_name:
        text += " (a model: a registered name, a variant name[key=value], or package.module:Class)"
    elif "pattern" in node:
        pattern = node["pattern"]
        text += f" matching `{pattern}`" if len(pattern) <= 40 else " (of the form the schema's pattern gives)"
    bounds = [fmt.format(node[key]) for key, fmt in _BOUNDS.items() if key in node]
    return text + (" " + ", ".join(bounds) if bounds else "")


def _value(config: Any, path: list[str]) -> str:
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return ""
        config = config[key]
    if isinstance(config, dict):
        return "" if not config else "(see below)" if any(isinstance(v, dict) for v in config.values()) else f"`{json.dumps(config)}`"
    return f"`{json.dumps(config)}`"


def rows(node: dict[str, Any], schema: dict[str, Any], config: dict[str, Any], path: list[str]) -> list[dict[str, str]]:
    """One row per key under ``node`` (depth first), each with its path, type, config value and description."""
    node = _resolve(node, schema)
    out = []
    required = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        resolved = _resolve(child, schema)
        here = [*path, key]
        out.append({
            "key": "`" + ".".join(here) + "`" + (" (required)" if key in required else ""),
            "takes": describe_type(child, schema),
            "config.yaml": _value(config, here),
            "description": " ".join(str(resolved.get("description", "")).split()),
        })
        out += rows(resolved, schema, config, here)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and node.get("propertyNames"):
        names = describe_type(node["propertyNames"], schema).removeprefix("one of: ")
        out.append({"key": "`" + ".".join([*path, "<name>"]) + "`", "takes": describe_type(extra, schema),
                    "config.yaml": "", "description": f"per name ({names}): " + " ".join(str(_resolve(extra, schema).get("description", "")).split())})
        out += rows(extra, schema, config, [*path, "<name>"])
    return out


def config_page(schema_path: Path = SCHEMA, config_path: Path = CONFIG) -> str:
    """The whole reference page."""
    import pandas as pd

    schema = yaml.safe_load(schema_path.read_text())
    config = yaml.safe_load(config_path.read_text()) if config_path.exists() else {}
    sections = []
    required = set(schema.get("required", []))
    scalars = {k: v for k, v in schema["properties"].items() if not _resolve(v, schema).get("properties")}
    top = rows({"properties": scalars, "required": sorted(required & set(scalars))}, schema, config, [])
    sections.append("## Top level\n\n" + pd.DataFrame(top).to_markdown(index=False))
    for key, child in schema["properties"].items():
        if key in scalars:
            continue
        about = " ".join(str(_resolve(child, schema).get("description", "")).split())
        sections.append(f"## `{key}`\n\n{about}\n\n" + pd.DataFrame(rows(child, schema, config, [key])).to_markdown(index=False))
    head = ("# Configuration reference\n\n<!-- generated by `dpbench config-doc` from workflow/schemas/config.schema.yaml: "
            "do not edit -->\n\nEvery key a config file may set (`config.yaml`, the presets in `workflow/presets/`, your own "
            "`--configfile`), as the schema that Snakemake validates each config against defines it. Column `config.yaml`: the "
            "value of the full reproduction. A preset overrides `config.yaml` key by key (mappings merged, lists replaced). "
            "Lists of models take the registry's names (`dpbench.registry`), variants with options "
            "(`lista[tied=true]`), or your own class (see [adding a model](adding-a-model.md)).")
    return "\n\n".join([head, *sections]) + "\n"


def _command(args: argparse.Namespace) -> None:
    from dpbench.io import atomic_path

    text = config_page(Path(args.schema), Path(args.config))
    output = Path(args.output)
    if args.check:
        if not output.exists() or output.read_text() != text:
            raise UserError(f"{output} differs from what {args.schema} gives: run `dpbench config-doc` and commit")
        print("up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(text)
    print(f"wrote {output}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config-doc", help="write docs/configuration.md from the config schema")
    p.add_argument("--schema", default=str(SCHEMA))
    p.add_argument("--config", default=str(CONFIG))
    p.add_argument("--output", default=str(OUTPUT))
    p.add_argument("--check", action="store_true", help="write nothing; fail if the committed page differs")
    p.set_defaults(func=_command)
