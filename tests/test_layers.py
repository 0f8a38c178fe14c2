"""The library is free of the web: ``rag/`` imports nothing of ``api/``, and ``rag serve`` is the web's."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from rag import cli

RAG = Path(__file__).resolve().parents[1] / "rag"


def _imported(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_module_of_the_library_imports_the_web_layer() -> None:
    offenders = {
        str(path.relative_to(RAG)): name
        for path in RAG.rglob("*.py")
        for name in _imported(path)
        if name == "api" or name.startswith("api.")
    }
    assert not offenders


def test_the_cli_writes_no_environment_variable() -> None:
    tree = ast.parse((RAG / "cli.py").read_text(encoding="utf-8"))
    writes = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "environ"
    ]
    assert not writes


def test_rag_serve_is_listed_but_the_web_layer_loads_only_when_it_runs() -> None:
    code = "import sys, rag.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'api'))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    listed = CliRunner().invoke(cli.main, ["--help"])
    assert listed.exit_code == 0 and "serve" in listed.output
    helped = CliRunner().invoke(cli.main, ["serve", "--help"])
    assert helped.exit_code == 0 and "--workers" in helped.output, helped.output
