"""The real-award benchmark's protocol, on a handful of hand-made notices."""

import datetime as dt

from bench.award_split import make_split, supplier_id
from bench.quality import cpv_group_ranking, incumbent_share, most_awarded
from bench.uk_awards import AwardNotice
from matcher.names import name_key


def notice(id_: str, title: str, winners: str, on: str, buyer: str = "Chorley Council", cpv: str = "45000000") -> AwardNotice:
    return AwardNotice(id_, title, "", buyer, (cpv,), dt.date.fromisoformat(on), tuple(winners.split(",")))


NOTICES = [
    notice("t1", "Resurfacing of car parks", "Tarmac Trading Ltd,Casey Group Ltd", "2021-05-01"),
    notice("t2", "Grounds maintenance", "Green Spaces Ltd", "2022-03-01", cpv="77310000"),
    notice("t3", "Leisure centre roof", "Casey Group Limited", "2022-06-01"),
    notice("n1", "Resurfacing of car parks", "TARMAC TRADING LIMITED", "2023-04-01"),  # a near-repeat by the same buyer
    notice("n2", "New play area", "Casey Ltd", "2024-01-01", buyer="Preston City Council"),
    notice("n3", "Street cleansing", "Newcomer Ltd", "2024-02-01"),  # winner unknown before the split
]


def test_profiles_come_from_earlier_awards_and_every_winner_counts() -> None:
    split = make_split(NOTICES)
    casey = split.suppliers[name_key("Casey Group Ltd")]
    assert [a.id for a in casey.awards] == ["t1", "t3"], "both winners of t1 count"
    assert set(split.suppliers) == {name_key(n) for n in ("Tarmac Trading", "Casey", "Green Spaces")}
    assert [(n.id, rel) for n, rel in split.tests] == [
        ("n1", {supplier_id(name_key("Tarmac Trading"))}),
        ("n2", {supplier_id(name_key("Casey"))}),
    ]
    assert split.cleaned == {"n2"}, "n1 repeats t1's buyer and title"


def test_baselines_and_the_incumbent_count() -> None:
    split = make_split(NOTICES)
    assert most_awarded(split)[0] == supplier_id(name_key("Casey"))
    grounds = notice("q", "Parks", "x", "2024-01-01", cpv="77300000")
    assert cpv_group_ranking(split, grounds)[0] == supplier_id(name_key("Green Spaces"))
    assert incumbent_share(split, cleaned_only=False) == (1, 2)  # Tarmac had won from Chorley before
    assert incumbent_share(split, cleaned_only=True) == (0, 1)
