"""Function words of languages the analyser does not stem are never cited as shared words (issue 12,
item 14): Spanish "para" used to be explained as evidence between two Spanish texts."""

from collections.abc import Iterator

import pytest

from indexer.lexical import LexicalIndex
from matcher.analysis import tokenize
from service import shortlists, writes
from service.container import Services
from store.models import SupplierCreate
from store.repository import SUPPLIERS
from tests.builders import SUPPLIERS as BUILDER_SUPPLIERS

FUNCTION_WORDS_ES = {"para", "de", "los", "las", "con", "del", "el", "la", "en", "que", "por", "y"}
SPANISH = [
    {
        "id": "ES-CIF-A00000001",
        "name": "Nieves del Norte SL",
        "description": (
            "Fabricamos quitanieves eléctricos para los ayuntamientos de montaña, con mantenimiento "
            "incluido durante el invierno y formación para los operarios de las brigadas municipales."
        ),
        "country": "ES",
    },
    {
        "id": "ES-CIF-B00000002",
        "name": "Limpiezas Urbanas SA",
        "description": (
            "Servicios de limpieza de calles para los ayuntamientos, con barredoras eléctricas y "
            "personal propio en las ciudades del sur."
        ),
        "country": "ES",
    },
]
NEED_ES = "Buscamos quitanieves eléctricos para los caminos de montaña, con mantenimiento durante el invierno."


@pytest.mark.parametrize(
    ("text", "dropped", "kept"),
    [
        (NEED_ES, {"para", "los", "con", "de", "el"}, {"quitanieves", "caminos", "mantenimiento"}),
        ("Fourniture de capteurs pour la détection des chutes chez les personnes âgées.", {"pour", "des", "les"}, {"capteurs"}),
        (
            "Lieferung von Sensoren für die Sturzerkennung bei älteren Menschen, die zu Hause leben.",
            {"für", "die", "bei"},
            {"sensoren"},
        ),
        (
            "Levering van sensoren voor de detectie van vallen door ouderen die thuis wonen.",
            {"van", "voor", "door"},
            {"sensoren"},
        ),
        ("Furnizare de senzori pentru detectarea căderilor și alarmă către servicii.", {"pentru", "și", "către"}, {"senzori"}),
        (
            "Dostawa czujników do wykrywania upadków osób, które mieszkają w domu, oraz alarm dla opieki.",
            {"które", "oraz", "dla"},
            {"czujników"},
        ),
    ],
)
def test_a_foreign_texts_function_words_are_dropped(text: str, dropped: set[str], kept: set[str]) -> None:
    words = {t.surface for t in tokenize(text)}
    assert not words & dropped and kept <= words


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Door locks and door access control for schools over the whole estate.", "door"),  # Dutch "door" = through
        ("Dog training and dog walking for the municipality's animal shelters.", "dog"),  # Danish "dog" = yet
        ("Home care for the elderly, with alarms that reach the care team.", "care"),  # Romanian "care" = which
        ("Quitanieves para carreteras", "para"),  # one function word in a title decides nothing
    ],
)
def test_a_word_that_is_a_function_word_elsewhere_is_kept_where_it_is_not(text: str, word: str) -> None:
    assert word in {t.surface for t in tokenize(text)}


def test_words_most_documents_of_a_small_index_use_are_not_distinctive() -> None:
    """The language-neutral floor, for languages with no list (here Czech, stems given as is)."""
    index = LexicalIndex()
    index.upsert_stems(1, ["pro", "nebo", "sněhová", "fréza"])
    index.upsert_stems(2, ["pro", "nebo", "úklid", "ulic"])
    index.upsert_stems(3, ["pro", "zimní", "údržba"])
    assert not index.is_distinctive("pro") and not index.is_distinctive("nebo")  # 3 and 2 of 3 documents
    assert index.is_distinctive("fréza")
    index.upsert_stems(4, ["údržba", "silnic"])
    assert index.is_distinctive("nebo") and index.is_distinctive("údržba"), "2 of 4: as many use it as not"
    alone = LexicalIndex()
    alone.upsert_stems(1, ["fréza"])
    assert alone.is_distinctive("fréza"), "one document: its words are all it has"


@pytest.fixture
def mixed_services(services: Services) -> Iterator[Services]:
    """The builders' sv/no/en suppliers and two Spanish ones: Spanish is a minority of the index."""
    for record in [*BUILDER_SUPPLIERS, *SPANISH]:
        writes.create(services, SUPPLIERS, SupplierCreate.model_validate(record))
    yield services


def test_spanish_function_words_are_not_shared_words_but_a_rare_word_is(mixed_services: Services) -> None:
    results = shortlists.suppliers_for_text(mixed_services, NEED_ES, k=5)
    explained = {r.row.id: r.explanation.matched_terms for r in results if r.explanation}
    assert "quitanieves" in explained["ES-CIF-A00000001"]
    for supplier, terms in explained.items():
        assert not set(terms) & FUNCTION_WORDS_ES, (supplier, terms)
