"""Names defined once: the retrievers, article kinds and error codes a client labels are served."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fastapi.testclient import TestClient

from api.errors import API_ERRORS, LIBRARY_STATUS, error_codes
from rag.types import ARTICLE_KINDS, RETRIEVER_MODES

API = Path(__file__).resolve().parents[2] / "api"


def test_the_vocabulary_serves_the_one_definition(client: TestClient) -> None:
    served = client.get("/api/vocabulary").json()
    assert served["retrievers"] == list(RETRIEVER_MODES)
    assert served["article_kinds"] == list(ARTICLE_KINDS)
    assert served["error_codes"] == error_codes()
    assert {cls.code for cls in LIBRARY_STATUS} <= set(served["error_codes"])


def test_every_code_the_http_layer_raises_is_registered() -> None:
    raised: dict[str, int | None] = {}
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "ApiError",
                "error_response",
            ):
                status, code = node.args[0], node.args[1]
                if isinstance(code, ast.Constant):
                    raised[code.value] = status.value if isinstance(status, ast.Constant) else None
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "error_body":
                if node.args and isinstance(node.args[0], ast.Constant):
                    raised.setdefault(node.args[0].value, None)
    assert raised, "the scan found no error at all"
    codes = error_codes()
    assert set(raised) <= set(codes), set(raised) - set(codes)
    assert all(codes[code] == status for code, status in raised.items() if status is not None)
    assert set(API_ERRORS) <= set(codes)


def test_the_page_labels_only_names_that_exist() -> None:
    page = (API / "static" / "app.js").read_text(encoding="utf-8")

    def keys(table: str) -> set[str]:
        found = re.search(table + r" = \{(.*?)\}", page, re.S)
        assert found, table
        return set(re.findall(r"^\s*([a-z_]+):", found[1], re.M))

    assert keys("ERROR_LABELS") <= set(error_codes())
    assert keys("KIND_LABELS") == set(ARTICLE_KINDS)
