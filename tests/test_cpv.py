import pytest

from matcher.catalog import CpvCatalog, ancestors
from matcher.cpv import CpvError, CpvLevel, best_cpv_matches, cpv_overlap, parse_cpv, prefix_of, rule_check_digit, shared_level


def test_plain_code_and_code_with_valid_check_digit_are_accepted() -> None:
    assert parse_cpv("33196200") == "33196200"
    assert parse_cpv(f"33196200-{rule_check_digit('33196200')}") == "33196200"


@pytest.mark.parametrize("raw", ["3319620", "331962000", "33196200-", "abcdefgh", "33196200-22", "00000000"])
def test_malformed_codes_are_refused_with_the_reason(raw: str) -> None:
    with pytest.raises(CpvError, match="not a CPV code"):
        parse_cpv(raw)


def test_wrong_check_digit_is_refused_and_the_right_one_named() -> None:
    wrong = (rule_check_digit("45000000") + 1) % 10
    with pytest.raises(CpvError, match=f"expected {rule_check_digit('45000000')}"):
        parse_cpv(f"45000000-{wrong}")


def test_official_list_decides_check_digits_and_existence() -> None:
    official = {"03300000": "2"}  # a legacy check digit the mod-10 rule does not produce
    assert parse_cpv("03300000-2", official) == "03300000"
    with pytest.raises(CpvError, match="official list says 03300000-2"):
        parse_cpv("03300000-5", official)
    with pytest.raises(CpvError, match="not in the official"):
        parse_cpv("45000000", official)


def test_hierarchy_levels() -> None:
    assert shared_level("33190000", "33100000") is CpvLevel.GROUP  # need for a class, supplier of its group
    assert shared_level("33196200", "33196200") is CpvLevel.EXACT
    assert shared_level("33196200", "33196000") is CpvLevel.CATEGORY
    assert shared_level("33196200", "33190000") is CpvLevel.CLASS
    assert shared_level("33600000", "33100000") is CpvLevel.DIVISION
    assert shared_level("33100000", "45000000") is None


def test_overlap_takes_the_deepest_pair_and_is_zero_without_codes() -> None:
    assert cpv_overlap(["33190000", "45000000"], ["33100000"]) == pytest.approx(0.5)
    assert cpv_overlap([], ["33100000"]) == 0.0
    matches = best_cpv_matches(["45000000", "33190000"], ["33190000", "45200000"])
    assert [m.level for m in matches] == [CpvLevel.EXACT, CpvLevel.DIVISION]
    assert [m.shared_code for m in matches] == ["33190000", "45000000"]
    assert best_cpv_matches(["33190000"], ["33141000"])[0].shared_code == "33100000"


def test_filter_prefixes_accept_digits_and_full_codes() -> None:
    assert prefix_of("331") == "331"
    assert prefix_of("33100000-1") == "331"
    with pytest.raises(CpvError):
        prefix_of("3")


def test_catalog_falls_back_to_the_nearest_labelled_ancestor() -> None:
    catalog = CpvCatalog(labels={"33000000": {"en": "Medical equipment", "no": "Medisinsk utstyr"}})
    assert ancestors("33196200") == ["33196200", "33196000", "33190000", "33100000", "33000000"]
    assert catalog.label("33196200") == "Medical equipment"
    assert catalog.label("33196200", "no") == "Medisinsk utstyr"
    assert catalog.label("45000000") is None
