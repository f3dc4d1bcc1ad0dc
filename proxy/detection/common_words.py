"""Common English words: a name list entry that is also one of these is no evidence of a name
on its own ("Will", "May", "Green", "Young"). Faker's English lorem list is the thousand most
common words; the calendar and a few office words are added."""

from __future__ import annotations

from faker.providers.lorem.en_US import Provider as EnglishWords

CALENDAR = (
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday"
).split()
OFFICE = (
    "salary order invoice ticket account customer client patient employee manager team office support "
    "service server version release update build deploy config error status summary report review "
    "contract payment transfer refund delivery address phone email note letter draft reply please "
    "thanks hello dear regards best kind bank card number code key token password user admin "
    "convert parse clean validate explain summarise summarize write translate compare rank fix "
    "grace hope joy faith honor honour summer autumn winter spring dawn sky star sterling major "
    "info sales billing noreply contact jobs careers press marketing legal hr it ops dev mail web "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed weds thu thur thurs fri sat sun "
    "recipient discloser landlord tenant buyer seller lessor lessee witness plaintiff defendant applicant "
    "candidate employer attorney beneficiary herr herrn frau "
    "moon sun earth mars mercury venus river mountain ocean island "
    "king queen prince princess lord lady baron duke bishop pope saint chase bond banks price cash "
    "lorem ipsum dolor amet"
).split()
COMMON_WORDS = frozenset(w.casefold() for w in (*EnglishWords.word_list, *CALENDAR, *OFFICE))
