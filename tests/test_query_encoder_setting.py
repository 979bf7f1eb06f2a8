"""MATCHMAKER_QUERY_ENCODER chooses the query encoder; unset, the older MATCHMAKER_QUERY_PRECISION does."""

import pytest

from service.settings import Settings


@pytest.mark.parametrize(
    ("values", "chosen"),
    [
        ({}, "onnx-int8"),
        ({"query_precision": "fp32"}, "fp32"),
        ({"query_encoder": "onnx-int8"}, "onnx-int8"),
        ({"query_encoder": "fp32", "query_precision": "int8"}, "fp32"),
    ],
)
def test_the_encoder_setting_wins_over_the_older_precision(values: dict[str, str], chosen: str) -> None:
    assert Settings(**values).chosen_query_encoder == chosen  # type: ignore[arg-type]


def test_an_unknown_encoder_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHMAKER_QUERY_ENCODER", "onnx-int4")
    with pytest.raises(ValueError, match="query_encoder"):
        Settings()
