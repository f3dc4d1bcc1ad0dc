"""URLs that point at one person: a repository whose owner is a login of the same text, and a
relative link carrying an e-mail address in its query."""

from __future__ import annotations

import pytest

from proxy.detection.personal_urls import personal_urls


def _urls(text: str) -> list[str]:
    return sorted({text[f.start : f.end] for f in personal_urls(text)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "remote: Permission to okafor-n/lab-notes.git denied to okafor-n.\n"
            "fatal: unable to access 'https://github.com/okafor-n/lab-notes.git/': 403",
            ["https://github.com/okafor-n/lab-notes.git/"],
        ),
        (
            "https://gitlab.com/anna.kowal/thesis is where @anna.kowal keeps it.",
            ["https://gitlab.com/anna.kowal/thesis"],
        ),
        (
            "@lenaberg pushed to https://gitlab.com/lenaberg/dotfiles yesterday",
            ["https://gitlab.com/lenaberg/dotfiles"],
        ),
        (
            '10.1.2.3 - - "GET /newsletter/unsubscribe?email=j.moreau%40exemple.fr HTTP/1.1" 302',
            ["/newsletter/unsubscribe?email=j.moreau%40exemple.fr"],
        ),
        ("open /reset?user=ana.silva@correio.pt&t=1 in the browser", ["/reset?user=ana.silva@correio.pt&t=1"]),
    ],
)
def test_a_named_users_repository_and_a_relative_link_with_an_e_mail_are_personal(
    text: str, expected: list[str]
) -> None:
    assert _urls(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pip install from https://github.com/psf/requests and read /docs/install?lang=en",
        "user alice cloned https://github.com/pallets/flask",
        "the route /search?q=cats returns 200",
    ],
)
def test_project_urls_and_relative_links_without_an_e_mail_are_not_personal(text: str) -> None:
    assert _urls(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "her real account is instagram.com/ana.dekker_ and the fake one instagram.com/ana.dekker.official.",
            ["instagram.com/ana.dekker.official", "instagram.com/ana.dekker_"],
        ),
        ("mi usuario es el mismo que en twitch.tv/pablo_pixel", ["twitch.tv/pablo_pixel"]),
        ("tiktok.com/@mia.rose and x.com/miarose", ["tiktok.com/@mia.rose", "x.com/miarose"]),
        ("linkedin.com/in/jan-de-wit/ and github.com/jdewit", ["github.com/jdewit", "linkedin.com/in/jan-de-wit/"]),
        ("www.instagram.com/ana.silva", ["www.instagram.com/ana.silva"]),
    ],
)
def test_a_profile_written_without_its_scheme_is_personal(text: str, expected: list[str]) -> None:
    assert _urls(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "see github.com/python/cpython and github.com/org/repo/issues/12",
        "how do I report a fake account to instagram.com or on x.com/explore?",
        "write to ana@instagram.com/x",
        "the docs at https://docs.github.com/en say so",
    ],
)
def test_a_bare_site_its_own_pages_and_repositories_without_a_scheme_are_not_personal(text: str) -> None:
    assert _urls(text) == []
