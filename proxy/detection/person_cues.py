"""Names told apart by the words around them, not by a list: "talked to anjali about it", "priya
from billing called", "beneficiary Mamadou Diallo", "hi, kwame asante-boateng here", "arjun
mehta-iyer, 54M", "佐々木 美穂 様", a user name in an sshd log or a URL's credentials.

A list of names never holds everyone's, and a chat in lower case gives the statistical model
nothing to go on. The cue does: a role or verb before the name, or what people say after one.
The words a cue points at count as a name only when none of them is a common word, so "ask about
the invoice" or "hello team" stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from spacy.lang.en.stop_words import STOP_WORDS

from proxy.detection.found import Found, SpanRecognizer
from proxy.detection.language import LANGUAGES, language_of, stop_words
from proxy.detection.lexicon import COMMON_ZIPF, is_common_in, zipf
from proxy.detection.names import is_common, name_lists, rare_word, sentence_start, word_given_names

SCORE = 0.6
_WORD = r"[^\W\d_]+(?:['’-](?!s\b)[^\W\d_]+)*"
_RUN = rf"(?<![\w'’]){_WORD}(?: {_WORD}){{0,2}}"  # a name never spans a tab (a table's next cell)

#: family and friends, in the languages the proxy reads ("my niece Eilidh", "mi abuelo Ramiro")
_RELATIVES = (
    r"(?:great-grand(?:mother|father|ma|pa)|great-aunt|great-uncle"
    r"|niece|nephew|brother|sister|cousin|uncle|aunt|auntie|grandson|granddaughter|grandmother|grandfather"
    r"|grandma|grandpa|friend|roommate|flatmate|housemate|neighbou?r|boyfriend|girlfriend|my ex|stepson"
    r"|stepdaughter|sohn|tochter|bruder|schwester|onkel|tante|oma|opa|neffe|nichte|freund(?:in)?|nachbar(?:in)?"
    r"|kollegin|kollege|enkel(?:in)?|fils|fille|frère|s(?:œ|oe)ur|oncle|neveu|nièce|ami|amie|voisine?|collègue"
    r"|grand-mère|grand-père|hij[oa]|herman[oa]|t[íi][oa]|abuel[oa]|sobrin[oa]|prim[oa]|amig[oa]|vecin[oa]"
    r"|compañer[oa]|figli[oa]|fratello|sorella|zi[oa]|nonn[oa]|cugin[oa]|amic[oa]|vicin[oa]|collega|zoon"
    r"|dochter|broer|zus|oom|neef|vriend(?:in)?|buurman|buurvrouw)"
    r"(?:[ \t]+(?:is|was|named|called))?[ \t]*,?"
)
#: who signs a note ("Sign it from Tolu", "Firmato Rosaria")
_SIGNED = r"(?:sign(?:ed)?(?: it)?(?: off)?(?: from| as| by)?|firmato|firmad[oa]|signé|gezeichnet|ondertekend)[ \t]*,?"
_BEFORE = (
    r"(?:(?:hi|hello|hey)[ \t]*,?[ \t]*(?:its|it's|this is)|hi|hello|hey|dear|hallo|bonjour|hola|ciao|hej|cc|attn"
    r"|ping|ask|asked|tell|told|remind|reminded|email|call|text|message)"
    r"[ \t]*[,:]?",
    r"(?:my name is|my name's|i am|i'm|im|this is|it's|he's|she's|his name is"
    r"|her name is|je m'appelle|ich heiße|ich bin|me llamo|mi chiamo|ik ben"
    r"|je suis|mein name ist|sono|soy)",
    r"(?:name|nombre|nom|naam|nome|customer|client|patient|pt|tenant|landlord|beneficiary|payee|applicant|candidate"
    r"|employee|claimant|plaintiff|defendant|cardholder|account holder|passenger|guest|spouse|wife|husband"
    r"|daughter|son|mother|father|mum|mom|dad|colleague|coworker|manager|intern|nurse|in the name of"
    r"|check on|talked to|spoke to|spoke with|meeting with|met with|kläger(?:in)?|beklagte[rn]?|mieter(?:in)?"
    r"|patientin|cónyuges?|inquilin[oa]|demandante|demandad[oa]|locataire|salariée?|dipendente|signor[ae]?"
    r"|groom|bride|partner|fianc[ée]e?|next of kin|nok|contact|caller|student|pupil|resident|policyholder|insured"
    r"|debtor|member|driver|owner|witness|paciente|cliente|kunde|kundin|klant|patiënt|huurder|paziente"
    r"|on behalf of|fill (?:it|this|them) (?:in|out) for|(?:signed|approved|requested|submitted|reported|prepared"
    r"|reviewed|referred|assigned to|escalated) by|c'est"
    # account holders and line managers in the other languages ("titulaire Jean-Baptiste Ngoma",
    # "il suo responsabile, Davide,", "un empleado, Iker Etxeberria")
    r"|titulaire|titular|kontoinhaber(?:in)?|intestatari[oa]|rekeninghouder|responsabile|responsable"
    r"|vorgesetzte[rn]?|chef(?:in)?|jef[ea]|leidinggevende|empleado|empleada|mitarbeiter(?:in)?|medewerker"
    r"|collaboratore|collaboratrice)"
    r"(?:[ \t]+(?:is|was|named|called))?[ \t]*[:,]?",
    _RELATIVES,
    _SIGNED,
)
_FAMILY = f"b{_BEFORE.index(_RELATIVES)}"  # the group of a relative's or friend's cue
#: the groups of a greeting's and a signature's cue, after which a given name that is also a word
#: is a name ("Hi Joy,", "sign it from Will"); "Hi Team" and "sign off by Friday" stay
_ADDRESSING = ("b0", f"b{_BEFORE.index(_SIGNED)}")
#: after a relative, a greeting or a verb of talking to someone ("ask priyanka whether", "remind
#: raghav that"), a lower-case word that no language uses is a name, listed or not
_RARE_WORD_CUES = (_FAMILY, "b0")
_AFTER = (
    # first: strong enough for a capitalised common word ("April from payroll", "Joy in legal")
    r"[ \t]+(?:from|in)[ \t]+(?:billing|support|sales|hr|legal|finance|accounts|payroll|it|ops|marketing"
    r"|procurement|the[ \t]+[a-z]+[ \t]+team)\b",
    r"[ \t]+(?:said|says|asked|asks|told|wrote|mentioned|called|emailed|promised|approved|approves|replied"
    r"|reported|complained|confirmed|thinks|wants|here\b)",
    r"['’]s[ \t]+(?:contact|number|phone|email|address|manager|account|file|case|wife|husband|mum|mom|dad|details)",
    r"[ \t]*\([ \t]*(?:[\w.+-]+@|born|geb|née?|aged?\b|[^\W\d_][\w.-]{1,24}[ \t]*[:#]?[ \t]*[A-Z-]{0,4}\d)",
    r",[ \t]*\d{1,3}[ \t]?(?:M|F|yo|y/o)\b",
    # last: a verb after a chat's lower-case given name ("also kwame is vegetarian", "sanne gaat
    # verhuizen"), for a listed given name that is no English word only (see `_a_chat_subject`)
    r"[ \t]+(?:is|was|has|had|will|can|isn't|wasn't|doesn't|gaat|heeft|komt|ist|hat|kommt|est|va|es|está"
    r"|tiene|è|ha|sta)\b",
)
_SUBJECT = f"a{len(_AFTER) - 1}"  # the group of the chat subject's verb
_CUED_BEFORE = re.compile(
    # the name is a lookahead, so a cue inside it is still tried ("NOK: daughter Lindiwe")
    "|".join(rf"(?<![\w-])(?i:{cue})[ \t]+(?=(?P<b{i}>{_RUN})(?![\w-]))" for i, cue in enumerate(_BEFORE))
)
# Cues after a name are found first, then the name is read backwards from each: one pass over the
# text for the cues instead of trying a run of words at every position.
_AFTER_CUE = re.compile("|".join(rf"(?P<a{i}>{cue})" for i, cue in enumerate(_AFTER)))
_RUN_BEFORE_CUE = re.compile(rf"{_RUN}$")
#: a letter's closing line, then the name alone at the end of it or of the next line; in a chat the
#: closing may end a sentence of the line ("krankmeldung schick ich morgen. lg Verena")
_SIGN_OFF = re.compile(
    r"(?im)(?:^|(?<=[.!?][ \t]))[ \t]*"
    r"(?:best(?:[ \t]+(?:regards|wishes))?|kind[ \t]+regards|regards|cheers|thanks|many[ \t]+thanks"
    r"|thank[ \t]+you|sincerely|yours(?:[ \t]+(?:sincerely|truly|faithfully))?|warmly|love|cordiali[ \t]+saluti"
    r"|un[ \t]+saluto|saluti|atentamente|saludos|un[ \t]+abrazo|cordialement|bien[ \t]+à[ \t]+vous|amitiés|bises"
    r"|mit[ \t]+freundlichen[ \t]+grü(?:ß|ss)en|freundliche[ \t]+grü(?:ß|ss)e|viele[ \t]+grü(?:ß|ss)e"
    r"|liebe[ \t]+grü(?:ß|ss)e|met[ \t]+vriendelijke[ \t]+groet(?:en)?|groetjes|groeten"
    r"|lg|glg|vg|mfg|bisous|bises|besos|un[ \t]+beso|baci|un[ \t]+bacio|xx|xoxo)"
    rf"[ \t]*[,!.]?[ \t]*\n?[ \t]*(?P<name>{_RUN})[ \t]*[\"”'.!]*[ \t]*$"
)
LOOK_BACK = 80  # characters before a cue in which its name is read
_CJK = "\u4e00-\u9fff\u3040-\u30ff\u3005"
_CJK_NAME = re.compile(
    rf"(?P<name>[{_CJK}]{{1,4}}[ 　]?[{_CJK}]{{1,4}})[ 　]?(?:様|さん|氏|先生|君|女士)"
    rf"|患者[：:][ 　]*(?P<patient>[{_CJK}]{{1,4}}[ 　]?[{_CJK}]{{1,4}})"
)
SERVICE_ACCOUNTS = frozenset(
    "root admin administrator git ubuntu ec2-user centos debian deploy postgres mysql www-data nobody daemon "
    "jenkins ci build user test guest oauth2 x-access-token token anonymous ftp backup service app api svc web "
    "worker db dbuser readonly reader writer bot runner".split()
)
_USERS = re.compile(
    r"(?:Accepted|Failed)[ \t]+(?:publickey|password|keyboard-interactive\S*)[ \t]+for[ \t]+(?:invalid user[ \t]+)?"
    r"(?P<ssh>[\w.-]{2,64})[ \t]+from"
    r"|(?<![\w+.-])[a-z][a-z0-9+.-]{1,16}://(?P<url>[^\s:/@\"'<>]{2,64}):[^\s/@\"'<>]{1,256}@"
    # the authenticated user of a web server's access log: host, ident, user, then the [date]
    r"|(?m:^)[\w.:-]{2,64}[ \t]+\S+[ \t]+(?P<weblog>[\w.@+-]{2,64})[ \t]+\[\d"
    # a login after its label: "username anwachukwu2", "login: k.osei", "Benutzername: mschulz"
    r"|(?<![\w-])(?i:user[ \t]?name|user[ \t]?id|login|benutzername|nom d'utilisateur|usuario|gebruikersnaam"
    r"|nome utente)[ \t]*[:=]?[ \t]+(?P<label>[A-Za-z][\w.-]{1,63})(?![\w@.-])"
)


# Words of chat and of the cues themselves that are never a name next to a cue.
_NOT_NAMES = frozenset(
    "says said asks asked told tells wrote writes mentions mentioned calls called emailed thinks wants promised "
    "approved approves replied reported complained confirmed ping cc hi hello hey dear thanks team everyone all "
    "guys folks there billing support sales hr legal finance accounts payroll ops marketing procurement "
    "mr mrs ms miss mx dr prof sir madam "
    # assistants and bots one asks, tells or pings ("ask chatgpt", "tell siri")
    "chatgpt gpt copilot gemini siri alexa cortana bixby bard perplexity bot llm ai".split()
)
_DETERMINERS = frozenset("the a an this that these those my our your their his her its which".split())


def _counts(word: str, strong: bool, language: str = "en") -> bool:
    """Whether a word next to a cue may be (part of) a name."""
    if len(word) < 2 or word.lower() in _NOT_NAMES or word.lower() in STOP_WORDS:
        return False
    if word.islower() and word in stop_words().get(language, ()):
        return False  # "il nonno che compie": a function word of the text's language
    if word.islower() and not _listed(word) and is_common_in(word, "en", language):
        return False  # "the oven says", "il nonno che compie": a word of the text, not a name in lower case
    return not is_common(word) or (strong and word[0].isupper())


def _name(
    words: list[str], cue_before: bool, strong: bool = False, rare: bool = False, language: str = "en"
) -> list[str] | None:
    """The words of a cued run that make a name: the uncommon words next to the cue ("anjali" of
    "talked to anjali about it", "priya" of "says priya from billing"), all in one case style. A
    strong cue also takes a capitalised common word ("April from payroll"), and any cue a given name
    that is a word right before another word of the name ("grace o'donnell (b. 1 Aug 1950)")."""
    counts = [_counts(word, strong, language) for word in words]
    for i in range(len(words) - 1):
        if not counts[i] and counts[i + 1] and words[i].casefold() in word_given_names():
            counts[i] = True
    kept: list[str] = []
    for word, counted in zip(*((words, counts) if cue_before else (words[::-1], counts[::-1])), strict=True):
        if not counted or (kept and word.islower() != kept[0].islower()):
            break  # a common word, or a change of case ("für Radoslav"), ends the name
        kept.append(word)
    if not cue_before:
        kept.reverse()
    if not kept:
        return None
    lower = all(word.islower() for word in kept)
    capitalised = all(word[0].isupper() for word in kept)
    if lower and cue_before and kept[0] not in name_lists()[0] and not (rare and _a_rare_name(kept[0])):
        # "the patient stable", "ask accounting": a lower-case word after a role is rarely a name
        # (after a relative, "uncle farouk", a word no language uses is one)
        return None
    if (
        capitalised
        and len(kept) == 1
        and not strong
        and not _listed(kept[0])
        and not ((cue_before or rare) and _rare_everywhere(kept[0]) and not kept[0].isupper())  # "patient MRN"
    ):
        return None  # "Manager Operations", "Postgres says": one capitalised word needs the name lists
    return kept if lower or capitalised else None


def _a_noun_of_the_text(kept: list[str], text: str) -> bool:
    """A capitalised German or Dutch word in no name list that the language uses or that ends like a
    noun: German capitalises every noun ("Beklagte Versicherung", "Pflegeschülerin"), Dutch its job
    titles ("een Teamleider Klantenservice (schaal 9"). Elsewhere a capitalised word by a cue is a
    name even when the language uses it ("cliente Iñaki ...")."""
    capitalised = [word for word in kept if word[0].isupper() and not _listed(word)]
    if not capitalised:
        return False
    language = language_of(text)
    if language not in _NOUN_ENDINGS:
        return False
    return any(is_common_in(word, language) or _NOUN_ENDINGS[language].search(word) for word in capitalised)


#: endings of German and Dutch nouns, job titles among them, that no name list holds ("Ich bin
#: Pflegeschülerin", "Abteilungsleitung", "een Teamleider")
_NOUN_ENDINGS = {
    "de": re.compile(
        r"(?:erin|ung|heit|keit|schaft|tion|ität|ismus|ling|nis|tum|ler|leiter|leitung|kraft|mann|frau|ent|ant|eur"
        r"|ist)$"
    ),
    "nl": re.compile(r"(?:ing|heid|schap|tie|teit|ster|aar|leider|medewerker|ist|ent|ant|eur)$"),
}


def _a_rare_name(word: str) -> bool:
    """A word no language uses, spoken like a name: no three consonants in a row ("kubectl", "npm"
    are commands, "priyanka", "ngozi", "tomasz" are people)."""
    return _rare_everywhere(word) and not _CONSONANT_RUN.search(word)


_CONSONANT_RUN = re.compile(r"[^aeiouyàáâäãåèéêëìíîïòóôöõùúûüýæøœ\W\d_]{3}", re.IGNORECASE)


def _rare_everywhere(word: str) -> bool:
    """A word no language the proxy reads uses: after a relative ("uncle farouk"), a name."""
    return rare_word(word) and not is_common_in(word, *LANGUAGES)


def _listed(word: str) -> bool:
    given, family = name_lists()
    return word.casefold() in given or word.casefold() in family


def _cued(run: str, start: int, before: bool, strong: bool, text: str, rare: bool = False) -> Iterator[Found]:
    """The name in a run of words next to a cue, if any."""
    words = list(re.finditer(r"\S+", run))
    kept = _name([word[0] for word in words], cue_before=before, strong=strong, rare=rare, language=language_of(text))
    if kept is None:
        return
    if not before and len(words) > len(kept):
        previous = words[-len(kept) - 1][0]
        if previous.lower() in _DETERMINERS:
            return  # "the app says": a thing, not a person
        if previous[0].isupper() and all(word.islower() for word in kept):
            return  # "Peter Parker lives here": the lower-case word is what the named person does
    first, last = (words[0], words[len(kept) - 1]) if before else (words[-len(kept)], words[-1])
    if not strong and _a_noun_of_the_text(kept, text):
        return
    if strong and not _listed(kept[0]) and is_common_in(kept[0], "en") and sentence_start(text, start + first.start()):
        return  # "Revenue from sales grew": a sentence's first word, capitalised for that reason alone
    yield Found("PERSON", start + first.start(), start + last.end(), SCORE, "after or before a person cue")


def _one_case_style(run: str) -> bool:
    """Whether the words of a run are all capitalised or all in lower case, as a signature's are."""
    words = run.split()
    return all(word[0].isupper() for word in words) or all(word.islower() for word in words)


def _a_chat_subject(run: re.Match[str], text: str) -> Iterator[Found]:
    """The last word before "is", "gaat", ... when it is a lower-case listed given name that English
    does not use as a word ("kwame is", not "max is 5" or "will is"), after no determiner."""
    words = run[0].split()
    word = words[-1]
    if not word.islower() or word not in name_lists()[0] or zipf(word, "en") >= COMMON_ZIPF:
        return
    if len(words) > 1 and words[-2].lower() in _DETERMINERS:
        return
    yield Found("PERSON", run.end() - len(word), run.end(), SCORE, "a chat's subject")


def _a_word(login: str, text: str) -> bool:
    """A label's value that is a word of the text's language or of English, not a login."""
    return login.isalpha() and (is_common_in(login, "en", language_of(text)) or login.lower() in STOP_WORDS)


def _starts_with_a_word_name(run: str) -> bool:
    """Whether a run begins with a capitalised given name that is also a word ("Joy", "Will")."""
    first = run.split(maxsplit=1)[0]
    return first[0].isupper() and (first.casefold() in word_given_names() or first.casefold() in name_lists()[0])


def cued_names(text: str) -> Iterator[Found]:
    """PERSON spans that a cue points at, in CJK script before an honorific, and user names."""
    yield from _names_after_cues(text)
    yield from _names_before_cues(text)
    yield from _signatures(text)
    for match in _CJK_NAME.finditer(text):
        group = "name" if match["name"] else "patient"
        yield Found("PERSON", *match.span(group), SCORE, "before an honorific")
    yield from _logins(text)


def _names_after_cues(text: str) -> Iterator[Found]:
    """Names after a cue: "ask priyanka", "my niece Eilidh", "titulaire Jean-Baptiste Ngoma"."""
    for match in _CUED_BEFORE.finditer(text):
        group = next(name for name, value in match.groupdict().items() if value is not None)
        if match[0].rstrip().lower() == "im" and language_of(text) != "en":
            continue  # German "im" (in the), not a chat's "im" (I'm)
        strong = group in _ADDRESSING and _starts_with_a_word_name(match[group])
        # a rare word counts right after the cue, not after a comma ("full_name, email, dob": a list)
        rare = group == _FAMILY or (group in _RARE_WORD_CUES and not match[0].rstrip().endswith((",", ":")))
        yield from _cued(match[group], match.start(group), before=True, strong=strong, text=text, rare=rare)


def _names_before_cues(text: str) -> Iterator[Found]:
    """Names before a cue: "priya from billing", "Tendai's mum", "also kwame is vegetarian"."""
    for cue in _AFTER_CUE.finditer(text):
        run = _RUN_BEFORE_CUE.search(text, max(0, cue.start() - LOOK_BACK), cue.start())
        if run is not None and cue.lastgroup == _SUBJECT:
            yield from _a_chat_subject(run, text)
        elif run is not None:
            strong, relative = cue.lastgroup == "a0", cue.lastgroup == "a2"  # "Tendai's mum": a relative's cue
            yield from _cued(run[0], run.start(), before=False, strong=strong, text=text, rare=relative)


def _signatures(text: str) -> Iterator[Found]:
    """The name alone after a letter's or a chat's closing words ("Kind regards,\nName", "lg Verena")."""
    for match in _SIGN_OFF.finditer(text):
        if _one_case_style(match["name"]):  # "Love Actually is great" is a title, then a verb
            yield from _cued(match["name"], match.start("name"), before=True, strong=True, text=text)


def _logins(text: str) -> Iterator[Found]:
    """User names of sshd logins, URL credentials, access logs and labels, not service accounts."""
    for match in _USERS.finditer(text):
        group = next(name for name, value in match.groupdict().items() if value is not None)
        login = match[group]
        if login.lower() in SERVICE_ACCOUNTS or (group == "label" and _a_word(login, text)):
            continue  # "login failed", "username: admin": no one's login
        yield Found("PERSON", *match.span(group), SCORE, "a login name")


class PersonCueRecognizer(SpanRecognizer):
    """PERSON by context (see the module docstring)."""

    NAME = "PersonCueRecognizer"
    ENTITIES = ("PERSON",)

    def find(self, text: str) -> Iterator[Found]:
        return cued_names(text)
