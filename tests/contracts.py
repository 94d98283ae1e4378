"""import-linter contract types of our own, named in .importlinter and run by `lint-imports` in `make test`.

- `module_cycles`: no import cycle between any two modules of the package (the layers contracts name the
  main modules; this one covers every module, package `__init__` files included).
- `function_imports`: an import inside a function carries a comment on its line saying why it is not at
  the top (start-up cost, an optional dependency); none is there to dodge a cycle.
"""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other (size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child) & modules))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


class ModuleCyclesContract(Contract):
    type_name = "module_cycles"
    package = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = {m for m in graph.modules if m == self.package or m.startswith(self.package + ".")}
        groups = strongly_connected(graph, modules)
        return ContractCheck(kept=not groups, metadata={"groups": groups})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for group in check.metadata["groups"]:
            output.print_error(f"- these {len(group)} modules import each other: {', '.join(group)}", bold=False)
            output.new_line()


def function_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, statement, has a reason comment) for every import inside a function of one file."""
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    source = " ".join(lines[inner.lineno - 1:inner.end_lineno])
                    found.append((inner.lineno, source.split("#")[0].strip(), "#" in source))
    return sorted(set(found))


class FunctionImportsContract(Contract):
    type_name = "function_imports"
    package = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        root = Path(importlib.util.find_spec(self.package).origin).parent
        unexplained = [(str(path.relative_to(root.parent)), line, statement)
                       for path in sorted(root.rglob("*.py"))
                       for line, statement, reasoned in function_imports(path) if not reasoned]
        return ContractCheck(kept=not unexplained, metadata={"unexplained": unexplained})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Imports inside functions need a comment saying why they are not at the top:", bold=False)
        for path, line, statement in check.metadata["unexplained"]:
            output.print_error(f"- {path}:{line} {statement}", bold=False)
        output.new_line()
