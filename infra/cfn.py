"""Reading infra/template.yaml: the YAML with CloudFormation's short tags, and resolving the few
intrinsic functions it uses, so the local runner can apply what moto's CloudFormation drops."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).with_name("template.yaml")


class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str, split: bool = False) -> None:
    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        raw = loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node)
        return {name: raw.split(".", 1) if split and isinstance(raw, str) else raw}
    _Loader.add_constructor(f"!{name.removeprefix('Fn::')}", build)


_tag("Ref")
_tag("Fn::Sub")
_tag("Fn::GetAtt", split=True)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


class Resolver:
    """Resolves Ref / Fn::Sub / Fn::GetAtt against a deployed stack's parameters and resources."""

    def __init__(self, *, parameters: dict[str, Any], physical_ids: dict[str, str], attributes: dict[str, str],
                 account: str, region: str) -> None:
        self.values: dict[str, Any] = {**parameters, **physical_ids, "AWS::AccountId": account,
                                       "AWS::Region": region, "AWS::Partition": "aws"}
        self.attributes = attributes

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(n) for n in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            return self.values[node["Ref"]]
        if set(node) == {"Fn::GetAtt"}:
            return self.attributes[".".join(node["Fn::GetAtt"])]
        if set(node) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), node["Fn::Sub"])
        return {k: self(v) for k, v in node.items()}

    def _sub(self, name: str) -> Any:
        return self.attributes[name] if name in self.attributes else self.values[name]
