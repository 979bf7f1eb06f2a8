from matcher.analysis import detect_language, matched_terms, query_stems, split_sentences, tokenize


def test_language_detection_on_typical_profiles() -> None:
    assert detect_language("Vi utvecklar fallsensorer för äldre som bor hemma och samarbetar med kommuner.") == "sv"
    assert detect_language("Vi leverer digitalt tilsyn til kommunene og har levert til over 40 kommuner.") == "no"
    assert detect_language("We build adaptive maths learning platforms for primary schools.") == "en"


def test_stopwords_of_all_three_languages_are_dropped_and_words_stemmed() -> None:
    words = [t.surface for t in tokenize("Vi utvecklar sensorer och larm för hemtjänsten", "sv")]
    assert "och" not in words and "för" not in words
    assert {t.stem for t in tokenize("kommunerna", "sv")} == {t.stem for t in tokenize("kommuner", "sv")} == {"kommun"}


def test_matched_terms_use_the_documents_spelling() -> None:
    query = query_stems("LoRaWAN sensors for indoor climate")
    assert matched_terms(query, "Our LoRaWAN sensor measures CO2 and temperature.") == ["lorawan", "sensor"]


def test_matched_terms_put_distinctive_words_first_and_drop_common_words_and_numbers() -> None:
    query = query_stems("40 municipalities need LoRaWAN sensors")
    idf = {"lorawan": 4.0, "sensor": 2.0, "municip": 0.2}.get
    doc = "Sensor networks on LoRaWAN for 40 municipalities."
    common = {"municip"}
    assert matched_terms(query, doc, weight=lambda s: idf(s, 0.0), distinctive=lambda s: s not in common) == ["lorawan", "sensor"]


def test_sentences_are_split_and_tiny_fragments_joined() -> None:
    text = "We make sensors. They work at night! Ok. Delivered to 40 municipalities."
    assert split_sentences(text) == ("We make sensors.", "They work at night! Ok.", "Delivered to 40 municipalities.")
