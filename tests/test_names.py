import pytest

from matcher.names import name_key, split_winners


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ABC Ltd", "A.B.C. Limited"),
        ("The Casey Group Ltd", "casey group limited"),
        ("Tarmac Trading Limited", "TARMAC TRADING LTD."),
        ("Smith & Sons (UK) Ltd", "Smith and Sons UK Limited"),
        ("Fossilfri Brøyting AS", "fossilfri brøyting as"),
    ],
)
def test_spellings_of_one_firm_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_different_firms_keep_different_keys() -> None:
    assert name_key("Casey Ltd") != name_key("Casey Construction Ltd")


def test_multi_winner_fields_are_split_without_breaking_legal_forms() -> None:
    assert split_winners("Alpha Ltd, Beta Limited; Gamma Plc") == ["Alpha Ltd", "Beta Limited", "Gamma Plc"]
    assert split_winners("Smith Brothers, Ltd") == ["Smith Brothers, Ltd"]
    assert split_winners("") == []
