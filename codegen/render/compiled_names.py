"""What the two schema compilers share (`python_checks`, `typescript_schema`): fresh local
names, and module-level constants written once however often they are asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

__all__ = ["CompiledNames", "ModuleConstant"]


@dataclass(frozen=True)
class ModuleConstant:
    """``NAME = expression`` in Python, ``const NAME = expression;`` in TypeScript: a
    compiled pattern, a set of allowed values, a table of checks."""

    name: str
    expression: str


@dataclass(kw_only=True)
class CompiledNames:
    """The names a compiler gives what it writes."""

    spelling: ClassVar[str]
    """A constant's name from its ``{stem}`` and ``{number}``: ``_{stem}{number}``."""
    constants: dict[str, ModuleConstant] = field(default_factory=dict)
    """By name, in the order first asked for; compilers writing one module share it."""
    counter: int = 0

    def fresh(self, stem: str) -> str:
        """A local name no other in this compiler's output has."""
        self.counter += 1
        return f"{stem}{self.counter}"

    def constant(self, stem: str, expression: str) -> str:
        """The constant holding ``expression``: the one asked for before, or a new one."""
        for known in self.constants.values():
            if known.expression == expression:
                return known.name
        name = self.spelling.format(stem=stem, number=len(self.constants))
        self.constants[name] = ModuleConstant(name, expression)
        return name
