from harness.textnorm import contains, mentions, normalize


def test_units_and_thousands_are_normalised() -> None:
    assert normalize("Inspect every 2,000 h") == normalize("inspect every 2000 running hours")
    assert contains("do the bolts up to 45 newton metres", "45 N·m")
    assert contains("rated to 85 degrees Celsius", "85 °C")
    assert contains("rated to 85 ℃", "85 °C")
    assert not contains("rated to 850 °C", "85 °C")
    assert not contains("KV-P1200", "KV-P120")


def test_mentions_keeps_the_writers_spelling() -> None:
    assert mentions("every 2000 hours", "hours")
    assert not mentions("every 2,000 h", "hours")
    assert mentions("The Flow Cartridge bolts", "flow cartridge")
    assert not mentions("flow cartridges", "flow cartridge")
