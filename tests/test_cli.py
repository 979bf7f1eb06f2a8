"""The command line end to end, with the real model and a real SQLite file."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.builders import NEEDS, SUPPLIERS

pytestmark = pytest.mark.model


def write_jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_import_index_and_match(home: Path) -> None:
    runner = CliRunner()
    suppliers = write_jsonl(home / "s.jsonl", SUPPLIERS)
    result = runner.invoke(app, ["import", "suppliers", str(suppliers)])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.output
    assert "0 created, 0 updated, 3 unchanged" in runner.invoke(app, ["import", "suppliers", str(suppliers)]).output
    assert (home / "home" / "indexes" / "suppliers.npz").exists()

    result = runner.invoke(app, ["index", "--rebuild"])
    assert result.exit_code == 0 and "suppliers: 3 indexed (3 embedded" in result.output

    result = runner.invoke(app, ["match", "Vi behöver snöröjning utan fossila bränslen", "--k", "2", "--json"])
    assert result.exit_code == 0, result.output
    ranked = json.loads(result.stdout)  # logs and progress go to stderr
    assert ranked[0]["id"] == "SE-BLV-5500000002" and ranked[0]["explanation"]["summary"]

    result = runner.invoke(app, ["match", "fall detection", "--country", "GB"])
    assert result.exit_code == 0 and "Brightwave" in result.output and "Trygghetssensor" not in result.output


def test_batch_match_prints_one_json_line_per_need(home: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["import", "suppliers", str(write_jsonl(home / "s.jsonl", SUPPLIERS))])
    needs = write_jsonl(home / "n.jsonl", [{k: v for k, v in n.items() if k != "status"} for n in NEEDS])
    result = runner.invoke(app, ["match", "--needs", str(needs), "--json", "--k", "2"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["need_id"] for line in lines] == ["need-1", "need-2"]
    assert lines[0]["results"][0]["id"] == "NO-BRC-900000001"
    assert {"id", "score", "explanation"} <= set(lines[1]["results"][0])


def test_bad_files_are_refused_with_line_numbers(home: Path) -> None:
    bad = home / "bad.jsonl"
    bad.write_text('{"id": "a", "description": "ok"}\n{"id": "b"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "suppliers", str(bad)])
    assert result.exit_code == 2
    assert ":2:" in result.output and "nothing imported" in result.output
