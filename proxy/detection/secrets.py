"""Secrets in prompts: API keys, tokens, private keys and passwords, as Presidio recognizers.

A prompt is a common way secrets leak: people paste a `.env` file, a failing `curl` command, a
docker-compose file or a stack trace into a chat and ask what is wrong, and the vendor then holds a
live credential. Each kind of secret here is one small `PatternRecognizer` subclass, mostly class-level
data in Presidio's own style: `PATTERNS` with scores, `CONTEXT` words, and `KEYWORDS`.

Every request pays for every recognizer, so each one first looks for one of its `KEYWORDS` in the
lower-cased text (a substring every real match contains, like "akia" or "-----begin") and returns
without running a single regex when none is there. Most prompts mention no keyword of most recognizers,
so on ordinary prose the whole set costs well under a millisecond.

Spans: a token is reported whole (`ghp_...`, a JWT, a PEM block, a Slack webhook URL). Where a secret
sits in an assignment or a URL, only the value is reported: the password of `password = "..."`, of
`Password=...;`, of `postgres://user:PASSWORD@host` and of `https://user:PASSWORD@host`; the key name,
the user name and the host stay readable, so a redacted prompt still makes sense.

Placeholders are not secrets: `looks_like_placeholder` is the one rule every recognizer applies to
what it matched (see there). A weak but plausible real value such as `password123`, `admin` or
`postgres` *is* reported: it may well be the deployed password, and a leaked weak password is worse
than a strong one.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from typing import ClassVar

import regex
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from proxy.detection.common_words import COMMON_WORDS
from proxy.detection.found import GatedPatternRecognizer

# --- placeholders ---------------------------------------------------------------------------------

# Template and variable syntax: <YOUR_KEY>, ${VAR}, {{ var }}, $VAR, $(cmd), %VAR%, {name}, %(name)s.
_TEMPLATE = re.compile(r"<[^<>]*>|\$\{[^}]*\}|\{\{.*?\}\}|^\$\(|^\$\w+$|^%\w+%$|^\{\w*\}$|%\(\w+\)s")
# A reference to where the value lives, not the value: settings.DB_PASSWORD, os.environ..., self.token.
_REFERENCE = re.compile(
    r"^(?:self|this|cls|os|process|env|config|conf|cfg|settings|args|opts|options|params|secrets|vars|values)"
    r"\.[\w.]+$",
    re.IGNORECASE,
)
# Masked or elided values: sk-...abcd, ********, hunter…
_MASK = re.compile(r"\*{3,}|\.{3,}|…|•")
# Markers that never occur in a real random key by chance (AKIAIOSFODNN7EXAMPLE is AWS's documented one).
_MARKERS = ("example", "sample", "dummy", "placeholder", "redacted")
# Words that placeholder values are made of ("your-api-key", "YOUR_OPENAI_API_KEY_HERE", "mysecretpassword").
_FILLER_WORDS = frozenset(
    "your my our the here goes put insert enter replace me new some super "
    "api key keys secret secrets token tokens access auth bearer credential credentials "
    "password passwd pass pwd passphrase value string "
    "example examples sample dummy fake test testing placeholder redacted hidden masked "
    "foo bar baz qux todo tbd fixme null none nil true false undefined empty "
    "sk pk rk proj svcacct ant live ghp gho ghu ghs ghr pat glpat xoxb xoxp "
    "openai anthropic github gitlab slack stripe aws gcp google azure storage twilio sendgrid jwt".split()
)
_LONGEST_FILLER = max(map(len, _FILLER_WORDS))
_ELIDED_BELOW = 16  # alphanumerics left over when a value is masked ("sk-...abcd" keeps 6)
_REPEATED_SHARE = 0.6  # AKIAXXXXXXXXXXXXXXXX: one character is 80% of the value


def looks_like_placeholder(value: str) -> bool:
    """True when `value` stands in for a secret rather than being one.

    Excluded: template and variable syntax (`<YOUR_API_KEY>`, `${OPENAI_API_KEY}`, `{{ token }}`,
    `$PASSWORD`), references (`settings.DB_PASSWORD`), masked or elided values (`********`, `sk-...`),
    documentation markers (`AKIAIOSFODNN7EXAMPLE`, `dummy`), values mostly made of one
    repeated character (`AKIAXXXXXXXXXXXXXXXX`, `sk-xxxx...`), and values made only of filler words with
    no digit (`your-api-key`, `test`, `password`, `null`). A digit makes a value plausible: `password123`
    is reported.
    """
    stripped = value.strip().strip("\"'`")
    lowered = stripped.lower()
    alphanumerics = [char for char in lowered if char.isalnum()]
    return (
        not alphanumerics
        or _TEMPLATE.search(stripped) is not None
        or _REFERENCE.match(stripped) is not None
        or (_MASK.search(stripped) is not None and len(alphanumerics) < _ELIDED_BELOW)
        or _marked(lowered)
        or _mostly_one_character(alphanumerics)
        or _only_filler_words(lowered)
    )


def _marked(lowered: str) -> bool:
    """A documentation marker: anywhere in a value with no digit (`your-token`, `sample`), or at the
    end of one (`AKIAIOSFODNN7EXAMPLE`, `...EXAMPLEKEY`). `Sample2024` and `Changeme2024!` are real
    passwords that happen to contain a word, and are reported."""
    if not any(char.isdigit() for char in lowered):
        return lowered.startswith("your") or any(marker in lowered for marker in _MARKERS)
    return any(lowered.endswith((marker, marker + "key")) for marker in _MARKERS)


def _mostly_one_character(alphanumerics: list[str]) -> bool:
    (_, count), *_ = Counter(alphanumerics).most_common(1)
    return count >= _REPEATED_SHARE * len(alphanumerics)


def _only_filler_words(lowered: str) -> bool:
    if any(char.isdigit() for char in lowered):
        return False
    words = re.findall(r"[a-z]+", lowered)
    return bool(words) and all(_splits_into_filler(word) for word in words)


def _splits_into_filler(word: str) -> bool:
    """Whether `word` is filler words run together (yourapikey = your + api + key), by dynamic programming."""
    ends = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        starts = range(max(0, end - _LONGEST_FILLER), end)
        ends[end] = any(ends[start] and word[start:end] in _FILLER_WORDS for start in starts)
    return ends[-1]


# --- the recognizer model -------------------------------------------------------------------------


class SecretRecognizer(GatedPatternRecognizer):
    """One kind of secret: class-level patterns, context and keywords, placeholders invalidated.

    Patterns are case-sensitive (token prefixes such as `AKIA` and `ghp_` are), so they say `(?i:...)`
    where case does not matter. `\\K` (the `regex` module's "keep out") starts the reported span at
    the value of an assignment. Every repetition is bounded and value runs are possessive (`{1,256}+`),
    so a hostile prompt (`"password=" * 20_000`) is scanned in linear time, not in minutes. In the
    `rf"..."` patterns a quantifier's braces are doubled (`{{0,16}}`).
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[tuple[Pattern, ...]]
    CONTEXT: ClassVar[tuple[str, ...]] = ()
    KEYWORDS: ClassVar[tuple[str, ...]]
    REGEX_FLAGS: ClassVar[int] = regex.MULTILINE

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=type(self).__name__,
            supported_language=supported_language,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=self.REGEX_FLAGS,
        )

    def may_match(self, text: str) -> bool:
        return self.mentions_keyword(text)

    def mentions_keyword(self, text: str) -> bool:
        lowered = text.lower()
        return any(keyword in lowered for keyword in self.KEYWORDS)

    def secret_value(self, matched: str) -> str:
        """The part of a match that is the secret itself, for the placeholder check."""
        return matched

    def invalidate_result(self, pattern_text: str) -> bool:
        return looks_like_placeholder(self.secret_value(pattern_text))


# An assignment's value, quoted or bare, after `key = `, `key: `, `"key": `, `key := ` or `key => `.
# A bare value after `=` needs no space before the `=` (`PASSWORD=x`, `--password=x`), since in code
# `password = x` assigns a variable; a bare value after `:` (YAML) must end its line or its JSON member.
# Each value is (what comes before `\K`, the value itself), so a caller can require a shape in between.
_SEPARATOR = r"[\"']?[ \t]{0,16}(?::=|=>|=|:)[ \t]{0,16}"
_QUOTED_VALUE = (r"([\"'])\K", r"(?:(?!\1)[^\r\n]){1,256}+(?=\1)")
_BARE_AFTER_EQUALS = (r"[\"']?=\K", r"[^\s\"'`,;&(){}\[\]]{1,256}+(?=\s|,|$)")
# A key and its value as the first two arguments of a call that sets one: PHP's `define('DB_PASSWORD',
# '...')`, `setenv("API_TOKEN", "...")`, `os.environ.setdefault("SECRET_KEY", "...")`. Other calls
# (`_('password', 'Mot de passe')`, `add_field('password', 'required')`) name a field, not its value.
_CALL_START = r"(?<=(?i:define|setenv|putenv|setdefault|set|setitem|setproperty|put)[ \t]{0,4}\([ \t]{0,16})"
_ARGUMENT_SEPARATOR = r"[\"'][ \t]{0,16},[ \t]{0,16}"
_BARE_AFTER_COLON = (r"[\"']?:[ \t]{1,16}\K", r"[^\s\"'`#,{}\[\]]{1,256}+(?=[ \t]{0,16}(?:[,}#]|$))")


def _assignment_patterns(name: str, key: str, score: float, shape: str = "") -> tuple[Pattern, ...]:
    """The value of `key` in code, `.env` and YAML; `shape` is a lookahead the value must satisfy."""
    assigned = _assigned(key)
    return (
        Pattern(f"{name} (quoted)", assigned + _SEPARATOR + shape.join(_QUOTED_VALUE), score),
        Pattern(f"{name} (env)", assigned + shape.join(_BARE_AFTER_EQUALS), score),
        Pattern(f"{name} (yaml)", assigned + shape.join(_BARE_AFTER_COLON), score),
        Pattern(f"{name} (call)", _CALL_START + key + _ARGUMENT_SEPARATOR + shape.join(_QUOTED_VALUE), score),
    )


# Keys are read by segment, as split on `_`, `-`, `.` and camelCase humps: `SMTP_PASS`, `dbPassword`,
# `OPENWEATHER_KEY` end in a secret word, `bypass`, `monkey` and `keyboard` do not. `_KEY_START` is
# where a key may begin; `_SEGMENT` runs up to the start of a segment (or is empty), `_MORE_SEGMENTS`
# are the segments after a word that is not the key's last (`SECRET_KEY_BASE`, `tokenUrl`).
_KEY_START = r"(?<![\w.&?;-])[\"']?"
_SEGMENT = r"(?:[A-Za-z0-9_.-]{0,64}?(?:(?<=[_.-])|(?<=[a-z0-9])(?=[A-Z])))?"
_MORE_SEGMENTS = r"(?:[_.-]|(?<=[a-z])(?=[A-Z]))[A-Za-z0-9_.-]{0,64}+"
# A key runs to the end of its word (no key character may come before it or between its last word and
# the `=` or `:`), so at each word an assignment first looks ahead past the word for its `=` or `:`.
# Without that, the `regex` module tried every secret word at every letter of every word of
# prose: 0.4 ms of CPU per pattern on a 1.5 KB request. The word is scanned once, possessively.
_ASSIGNED_KEY_START = r"(?<![\w.&?;-])(?=[\"']?[\w.-]*+[\"']?[ \t]{0,16}[:=])[\"']?"


def _assigned(key: str) -> str:
    """`key` (which starts at `_KEY_START`) looking ahead for its `=` or `:` first."""
    assert _KEY_START in key
    return key.replace(_KEY_START, _ASSIGNED_KEY_START, 1)


# A value shaped like a key: 16 characters or more without a space, letters and digits among them.
_KEY_SHAPED = r"(?=[^\s\"'`]{16})(?=[^\s\"'`]{0,256}?\d)(?=[^\s\"'`]{0,256}?[A-Za-z])"
# What a secret-named key holds when it is a setting, not a secret: a flag, a number under four
# digits, a path, a URL without a password (`token_count = 42`, `password_file = /run/secrets/db`).
_NOT_A_SECRET = re.compile(
    r"(?i:true|false|yes|no|on|off|null|none|nil|undefined)|\d{1,3}|(?:[/~]|\.\.?/|[A-Za-z]:\\).*"
    r"|[A-Za-z][\w+.-]{0,15}://[^\s@]*"
)


def obviously_not_secret(value: str) -> bool:
    """A flag, a small number, a path or a plain URL (see `_NOT_A_SECRET`)."""
    return _NOT_A_SECRET.fullmatch(value.strip().strip("\"'`")) is not None


# --- cloud providers ------------------------------------------------------------------------------


class AwsAccessKeyRecognizer(SecretRecognizer):
    ENTITY = "AWS_ACCESS_KEY"
    PATTERNS = (Pattern("AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", 0.8),)
    CONTEXT = ("aws", "access", "key", "iam", "credential")
    KEYWORDS = ("akia", "asia")


class AwsSecretKeyRecognizer(SecretRecognizer):
    """A 40-character secret access key is only told apart from other base64 by its name."""

    ENTITY = "AWS_SECRET_KEY"
    PATTERNS = (
        Pattern(
            "AWS secret access key assignment",
            r"(?i:(?:aws[_-]?)?secret[_-]?access[_-]?key|aws[_-]?secret(?:[_-]?key)?)"
            r"[\"']?[ \t]{0,16}(?:=|:|=>)[ \t]{0,16}[\"']?\K[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
            0.9,
        ),
    )
    CONTEXT = ("aws", "secret", "credential")
    KEYWORDS = ("aws_secret", "aws-secret", "secret_access", "secretaccess", "secret-access")


class GcpApiKeyRecognizer(SecretRecognizer):
    ENTITY = "GCP_API_KEY"
    PATTERNS = (Pattern("Google API key", r"\bAIza[0-9A-Za-z_-]{35}(?![\w-])", 0.85),)
    CONTEXT = ("google", "gcp", "api", "key", "firebase", "maps")
    KEYWORDS = ("aiza",)


class AzureStorageKeyRecognizer(SecretRecognizer):
    """The 64-byte account key of a storage connection string (`...;AccountKey=<88 chars>;...`)."""

    ENTITY = "AZURE_STORAGE_KEY"
    PATTERNS = (
        Pattern("Azure storage account key", r"(?i:AccountKey)[ \t]{0,16}=[ \t]{0,16}\K[A-Za-z0-9+/]{86}==", 0.9),
    )
    CONTEXT = ("azure", "storage", "account", "connection")
    KEYWORDS = ("accountkey",)


# --- developer platforms --------------------------------------------------------------------------


class GitHubTokenRecognizer(SecretRecognizer):
    ENTITY = "GITHUB_TOKEN"
    PATTERNS = (
        Pattern("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,251}\b", 0.95),
        Pattern("GitHub fine-grained token", r"\bgithub_pat_[A-Za-z0-9_]{50,244}\b", 0.95),
    )
    CONTEXT = ("github", "token", "git")
    KEYWORDS = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")


class GitLabTokenRecognizer(SecretRecognizer):
    ENTITY = "GITLAB_TOKEN"
    PATTERNS = (Pattern("GitLab token", r"\bgl(?:pat|ptt|dt|rt)-[A-Za-z0-9_-]{20,255}", 0.95),)
    CONTEXT = ("gitlab", "token")
    KEYWORDS = ("glpat-", "glptt-", "gldt-", "glrt-")


class SlackTokenRecognizer(SecretRecognizer):
    """Slack API tokens, and incoming-webhook URLs (reported whole: the URL is the credential)."""

    ENTITY = "SLACK_TOKEN"
    PATTERNS = (
        Pattern("Slack token", r"\bxox[abprs]-[A-Za-z0-9]{6,64}(?:-[A-Za-z0-9]{1,64}){1,8}\b", 0.9),
        Pattern(
            "Slack webhook",
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9]{1,32}/[A-Za-z0-9]{1,32}/[A-Za-z0-9]{16,64}",
            0.9,
        ),
    )
    CONTEXT = ("slack", "token", "webhook")
    KEYWORDS = ("xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "hooks.slack.com")

    def secret_value(self, matched: str) -> str:
        return matched.rsplit("/", 1)[-1] if matched.startswith("https://") else matched


class StripeKeyRecognizer(SecretRecognizer):
    """Secret and restricted keys; publishable keys (`pk_`) are public by design."""

    ENTITY = "STRIPE_KEY"
    PATTERNS = (Pattern("Stripe secret key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{20,247}\b", 0.95),)
    CONTEXT = ("stripe", "key", "secret")
    KEYWORDS = ("sk_live_", "rk_live_", "sk_test_", "rk_test_")


class SendGridApiKeyRecognizer(SecretRecognizer):
    ENTITY = "SENDGRID_API_KEY"
    PATTERNS = (Pattern("SendGrid API key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])", 0.95),)
    CONTEXT = ("sendgrid", "api", "key", "mail")
    KEYWORDS = ("sg.",)


class TwilioApiKeyRecognizer(SecretRecognizer):
    """API key SIDs (`SK` + 32 hex) anywhere; account SIDs (`AC` + 32 hex) only within 200 characters
    after the word "twilio", since on their own they look like any other hex id."""

    ENTITY = "TWILIO_API_KEY"
    PATTERNS = (
        Pattern("Twilio API key", r"\bSK[0-9a-f]{32}\b", 0.6),
        Pattern("Twilio account SID", r"\bAC(?<=(?i:twilio)[\s\S]{0,200}AC)[0-9a-f]{32}\b", 0.8),
    )
    CONTEXT = ("twilio", "sid", "key")
    KEYWORDS = ("sk", "twilio")  # "sk" is in "ask" and "task": a weak filter, but the regexes are cheap


# --- LLM vendors ----------------------------------------------------------------------------------


class OpenAiApiKeyRecognizer(SecretRecognizer):
    ENTITY = "OPENAI_API_KEY"
    PATTERNS = (
        Pattern("OpenAI project key", r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,400}", 0.95),
        Pattern("OpenAI legacy key", r"\bsk-[A-Za-z0-9]{48}\b", 0.8),
    )
    CONTEXT = ("openai", "api", "key")
    KEYWORDS = ("sk-",)


class AnthropicApiKeyRecognizer(SecretRecognizer):
    ENTITY = "ANTHROPIC_API_KEY"
    PATTERNS = (Pattern("Anthropic API key", r"\bsk-ant-[A-Za-z0-9_-]{20,400}", 0.95),)
    CONTEXT = ("anthropic", "claude", "api", "key")
    KEYWORDS = ("sk-ant-",)


# --- formats --------------------------------------------------------------------------------------


_B64URL = "[A-Za-z0-9_-]"


class JwtRecognizer(SecretRecognizer):
    """Three base64url segments whose first two decode to JSON objects (header and claims)."""

    ENTITY = "JWT"
    PATTERNS = (
        Pattern("JSON web token", rf"\beyJ{_B64URL}{{8,8192}}\.eyJ{_B64URL}{{8,8192}}\.{_B64URL}{{1,8192}}", 0.6),
    )
    CONTEXT = ("jwt", "token", "bearer", "authorization")
    KEYWORDS = ("eyj",)

    def validate_result(self, pattern_text: str) -> bool:
        header, claims, _ = pattern_text.split(".", 2)
        return _is_json_object(header) and _is_json_object(claims)


def _is_json_object(segment: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return isinstance(json.loads(decoded), dict)
    except (binascii.Error, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False


_PEM_LABEL = r"(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?"
_PEM_ARMOUR = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")


class PrivateKeyRecognizer(SecretRecognizer):
    """A whole PEM block: RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8 or PGP, across lines."""

    ENTITY = "PRIVATE_KEY"
    PATTERNS = (
        Pattern(
            "PEM private key",
            rf"-----BEGIN {_PEM_LABEL}-----[\s\S]{{0,20000}}?-----END {_PEM_LABEL}-----",
            0.95,
        ),
    )
    CONTEXT = ("private", "key", "ssh", "pem")
    KEYWORDS = ("-----begin",)

    def secret_value(self, matched: str) -> str:
        """The base64 body, without the armour lines and headers such as `Proc-Type:` or `Comment:`.
        A key inside JSON (a service-account file) has literal `\\n` escapes instead of line breaks."""
        body = _PEM_ARMOUR.sub("", matched).replace("\\n", "\n")
        return "".join(line.strip() for line in body.splitlines() if ":" not in line)


# --- passwords ------------------------------------------------------------------------------------

_DATABASE_SCHEMES = r"(?i:postgres(?:ql)?|mysql|mariadb|mongodb|rediss?|amqps?|mssql)(?:\+[A-Za-z0-9]+)?://"
# `Password=...;` in ADO.NET, ODBC and JDBC strings (the value stops at `;`, `&` or a quote).
_CONNECTION_PASSWORD = r"(?i:password|pwd)[ \t]{0,16}=[ \t]{0,16}\K[^\s;\"'&]{1,256}+"
# The userinfo of a URL: a user name (possibly empty), a colon, then the reported password up to the `@`.
_URL_PASSWORD = r"[^\s:/?#@\"'<>]{0,256}+:\K[^\s/?#@\"'<>]{1,256}+(?=@[A-Za-z0-9\[])"


class UrlCredentialsRecognizer(SecretRecognizer):
    """`scheme://user:password@host` for any scheme except databases (see the next recognizer).
    Reports the password only."""

    ENTITY = "URL_CREDENTIALS"
    PATTERNS = (
        Pattern(
            "URL with a password",
            rf"(?<![A-Za-z0-9+.-])(?!{_DATABASE_SCHEMES})[A-Za-z][A-Za-z0-9+.-]{{0,32}}://{_URL_PASSWORD}",
            0.8,
        ),
    )
    CONTEXT = ("url", "password", "credential", "login")
    KEYWORDS = ("://",)


class ConnectionStringPasswordRecognizer(SecretRecognizer):
    """The password of a database URL, or of an ADO.NET/JDBC/ODBC `Password=...;` string. Reports
    the password only. `Password=` counts when it follows `;`, `?` or `&`, or is followed by `;` and
    another `Key=`, so a lone `PASSWORD=...` line is left to `PasswordAssignmentRecognizer`."""

    ENTITY = "CONNECTION_STRING_PASSWORD"
    PATTERNS = (
        Pattern("database URL password", rf"(?<![A-Za-z0-9+.-]){_DATABASE_SCHEMES}{_URL_PASSWORD}", 0.8),
        Pattern("connection string password", rf"[;?&][ \t]{{0,16}}{_CONNECTION_PASSWORD}", 0.8),
        Pattern(
            "connection string password (first)",
            rf"(?<![\w.-]){_CONNECTION_PASSWORD}(?=;[ \t]{{0,16}}[A-Za-z][A-Za-z ]{{0,64}}=)",
            0.8,
        ),
    )
    CONTEXT = ("connection", "database", "server", "password")
    KEYWORDS = ("postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "password", "pwd")


# Words for a password that name one wherever they end a key (`DBPASSWORD`, `mysql_passwd`), and short
# ones that must be a segment of their own (`SMTP_PASS`, `db.pwd`, but not `bypass`).
_PASSWORD_WORDS = r"(?i:password|passwd|passphrase|passwort|kennwort|wachtwoord|contrasena|motdepasse)"
_PASSWORD_SEGMENTS = r"(?i:pass|pwd|mdp)"
_PASSWORD_KEY = (
    r"(?<![;?&][ \t]{0,16})"
    + _KEY_START
    + rf"(?:[A-Za-z0-9_.-]{{0,64}}?{_PASSWORD_WORDS}|{_SEGMENT}{_PASSWORD_SEGMENTS})"
)


class PasswordAssignmentRecognizer(SecretRecognizer):
    """`password = "..."`, `passwd: ...`, `"password": "..."`, `DB_PASSWORD=...`, `SMTP_PASS = "..."`,
    `dbPassword: ...`, `pin: 4821`; reports the value.

    The key's last segment must be a word for a password (`password_min_length: 8` is not one), and
    its value no setting: `PWD=/home/me` is the shell's working directory in every pasted `env`. A
    PIN is digits (`LED_PIN = 13` is a pin of a board).
    """

    ENTITY = "PASSWORD_ASSIGNMENT"
    PATTERNS = (
        *_assignment_patterns("password", _PASSWORD_KEY, 0.7),
        Pattern("PIN", _ASSIGNED_KEY_START + _SEGMENT + r"(?i:pin)" + _SEPARATOR + r"[\"']?\K\d{4,12}(?![\w.])", 0.7),
    )
    CONTEXT = ("password", "credential", "login")
    KEYWORDS = ("pass", "pwd", "mdp", "kennwort", "wachtwoord", "contrasena", "motdepasse", "pin")

    def invalidate_result(self, pattern_text: str) -> bool:
        return looks_like_placeholder(pattern_text) or obviously_not_secret(pattern_text)


# Words that follow "password is" in talk about passwords rather than in a password.
_NOT_A_PASSWORD = frozenset(
    "required incorrect wrong invalid expired reset correct changed set missing empty weak strong long short "
    "too not the a an still now also being case-sensitive stored hashed saved encrypted shown visible ok fine "
    "same different protected needed mandatory optional".split()
)


def is_common_word(word: str) -> bool:
    return word.casefold() in COMMON_WORDS


def _shannon(value: str) -> float:
    """Bits per character: a random key scores 4 or more, an English word about 2.5 to 3."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


# A value told in prose; the sentence's punctuation after it is trimmed off ("is Qu4rtz!Lagoon, can").
_TOLD_VALUE = r"[^\s\"'`”]{4,128}+"
_SENTENCE_PUNCTUATION = ".,;:)"


# Between a label and the value told: spaces, and at most one line break (prose is wrapped).
_GAP = r"(?=\s)[ \t]{0,16}(?:\r?\n[ \t]{0,16})?"
_TOLD_AS = r"(?i:is|was|ist|lautet|est|es|è|=|is now|will be)"
# A value told without "is": it holds a digit and a letter ("password to Mango_77", not "password to the router").
_STRONG = r"(?=[^\s\"'`”]{0,128}?\d)(?=[^\s\"'`”]{0,128}?[^\W\d_])"
# Things a door, a box or an alarm has a code for, in six languages: "code" near one of them is a code
# to keep ("Key safe is by the porch, code 4719").
_CODE_CUES = (
    r"(?i:door|gate|alarm|key ?safe|key ?box|lock ?box|padlock|garage|intercom|buzzer|entrance|front door"
    r"|portone|cancello|allarme|citofono|porte|portail|alarme|immeuble|puerta|portal|port[óo]n|alarma"
    r"|t[üu]r|haust[üu]r|schl[üu]ssel(?:safe|kasten)|deur|voordeur|poort|kluis|sleutelkluis)"
)
# "code" after these is no secret: "error code 4040", "area code 212", "zip code", "status code".
_NOT_A_CODE = (
    r"(?i:error|status|area|zip|post|postal|country|exit|return|source|http|response|promo|discount|voucher"
    r"|coupon|tracking|product|sort|bank|swift|tax|iso|qr|bar|colou?r|fault|reason|dialing|dial)"
)


class PasswordInProseRecognizer(SecretRecognizer):
    """Passwords told in words: "the root password on the build box is Gr4nite!Harbor", "my
    password is tulip2003#", "La password del wifi è ...", "I changed the password to Mango_77",
    "a temp password of Blue-Heron-44!", "pw hunter22", "Passwort lautet ...", "mot de passe : ...",
    and codes told the same way ("the door code is 4471#", "PIN: 9051", "digicode 4B27", "il codice
    del portone è 5127", "the key safe by the porch, code 4719"). A value that is a common word
    ("password is incorrect") or a path (`PWD=/home/jdoe`) is not one, nor a code named for
    something else ("error code 4040")."""

    ENTITY = "PASSWORD"
    _LABEL = (
        r"(?i:password|passwort|passwd|passphrase|passcode|pass ?word|pw|pwd|kennwort|mot de passe|mdp"
        r"|contraseña|contrasena|clave|wachtwoord|senha|hasło|haslo)"
    )
    # codes that open a door, an alarm or a phone, told like a password ("the door code is 4471#")
    _CODE = (
        r"(?i:(?:door|gate|alarm|access|entry|keypad|lock|safe|lockbox|key ?safe|garage)[ -]?code|pin(?:[ -]?code)?"
        r"|(?:t[üu]r|tor|alarm|tresor|garagen)code|zugangscode|digicode"
        r"|code (?:d['’]acc[èe]s|de (?:la porte|l['’]immeuble|l['’]alarme)|du portail|d['’]entr[ée]e)"
        r"|c[óo]digo (?:de |del )?(?:acceso|la puerta|entrada|portal|port[óo]n|la alarma)"
        r"|codice (?:d['’]accesso|d['’]ingresso|del (?:portone|cancello|citofono)|della porta|dell['’]allarme)"
        r"|(?:deur|poort|alarm|toegangs|kluis)code|kod (?:do drzwi|dost[ęe]pu)|c[óo]digo da porta)"
    )
    PATTERNS = (
        Pattern(
            "password told in prose",
            rf"(?<![\w-]){_LABEL}(?![\w-])[ \t]+{_TOLD_AS}[ \t]*:?{_GAP}[\"'`“]?\K" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "password told in prose, some words later",
            rf"(?<![\w-]){_LABEL}(?![\w-])(?:[ \t]+(?!(?i:and|but|or|so|because|which|that|if|when)\b)"
            rf"[\w.@-]{{1,24}}){{1,4}}[ \t]+{_TOLD_AS}[ \t]*:?{_GAP}"
            r"[\"'`“]?\K(?=[^\s\"'`”]*[^a-z\s\"'`”.,;!?])" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "password changed to",
            rf"(?<![\w-]){_LABEL}(?![\w-])(?:[ \t]+[\w'’-]{{1,24}}){{0,2}}?[ \t]+"
            rf"(?i:to|into|in|en|a|auf|naar|op|para|por|per|of|de|di|van|von){_GAP}[\"'`“]?\K{_STRONG}" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "code told in prose",
            rf"(?<![\w-]){_CODE}(?![\w-])[ \t]*(?:{_TOLD_AS}[ \t]*)?:?{_GAP}"
            r"[\"'`“]?\K(?=[^\s\"'`”]*\d)" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "code near a door",
            rf"(?<![\w-])(?i:code|codice|c[óo]digo)(?<!{_NOT_A_CODE}[ \t-]?(?i:code|codice|c[óo]digo))"
            rf"(?<={_CODE_CUES}[^.!?]{{0,80}}(?i:code|codice|c[óo]digo))(?![\w-])[ \t]*(?:{_TOLD_AS}[ \t]*)?:?"
            rf"{_GAP}[\"'`“]?\K(?=[^\s\"'`”]*\d)" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "short or foreign password label",
            r"(?<![\w-])(?i:pw|pwd|pass|kennwort|passwort|mot de passe|mdp|contraseña|wachtwoord|senha)"
            r"[ \t]*[:=][ \t]*[\"'`]?\K" + _TOLD_VALUE,
            0.7,
        ),
        Pattern(
            "password label and value",
            rf"(?<![\w-]){_LABEL}(?![\w-])[ \t]+[\"'`“]?\K{_STRONG}" + _TOLD_VALUE,
            0.7,
        ),
    )
    CONTEXT = ("password", "login", "credential")
    KEYWORDS = (
        "pass",
        "pw",
        "kennwort",
        "mdp",
        "contrase",
        "clave",
        "wachtwoord",
        "senha",
        "has",
        "code",
        "codice",
        "digo",
        "pin",
        "kod",
    )

    def secret_value(self, matched: str) -> str:
        return matched.rstrip(".,;:!?)")

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            while result.end > result.start and text[result.end - 1] in _SENTENCE_PUNCTUATION:
                result.end -= 1
        return results

    def invalidate_result(self, pattern_text: str) -> bool:
        return not plausible_password(self.secret_value(pattern_text))


def plausible_password(value: str) -> bool:
    """Whether a value told or keyed as a password could be one: not a placeholder, a path
    (`PWD=/home/jdoe`), code (`os.environ["X"]`) or a common word ("password is incorrect")."""
    return not (
        value.lower() in _NOT_A_PASSWORD
        or obviously_not_secret(value)
        or value.startswith(("/", "~", "./", "http"))
        or any(char in value for char in "([{")
        or (value.isalpha() and value.islower() and is_common_word(value))
        or looks_like_placeholder(value)
    )


class HttpCredentialsRecognizer(SecretRecognizer):
    """`Authorization: Basic|Bearer|Token ...` headers (and `Proxy-Authorization`), API-key headers
    (`X-Api-Key:`, `Api-Key:`, `X-Auth-Token:`, `Private-Token:`) and `curl -u user:password`: reports
    the credential only."""

    ENTITY = "HTTP_CREDENTIALS"
    PATTERNS = (
        Pattern(
            "authorization header",
            r"(?i:authorization)[\"']?[ \t]{0,16}[:=][ \t]{0,16}[\"']?(?i:basic|bearer|token|digest|apikey)[ \t]+"
            r"\K[A-Za-z0-9+/=._~-]{8,4096}+",
            0.85,
        ),
        Pattern("curl user", r"(?<![\w-])(?:-u|--user)[ \t]+[\"']?[^\s:\"']{1,64}:\K[^\s\"']{1,256}+", 0.8),
        # the headers API gateways and vendors read a key from (detect-secrets' keyword plugin names the
        # same words): the header's name says the value is a credential, whatever its shape
        Pattern(
            "API key header",
            r"(?<![\w-])(?i:(?:x-)?api-?key|x-(?:auth|access|api)-token|private-token|ocp-apim-subscription-key"
            r"|x-goog-api-key|x-functions-key)[\"']?[ \t]{0,16}:[ \t]{0,16}[\"']?\K[A-Za-z0-9+/=._~-]{8,4096}+",
            0.85,
        ),
    )
    CONTEXT = ("authorization", "basic", "bearer", "curl", "header")
    KEYWORDS = ("authorization", "-u ", "--user", "api-key", "apikey", "-token", "subscription-key", "functions-key")


# A key's last segment that names a secret whatever the value's shape (`client_secret`, `STRIPE_TOKEN`,
# `credentials`, `api_key`, `SECRET_KEY`) ...
_SECRET_WORDS = (
    r"(?i:secret|token|credentials?|api[_-]?key|(?:secret|access|private|auth|client|signing|master|encryption)"
    r"[_-]?key)"
)
# ... and words that name a secret only when the value is shaped like a key (`sort_key`, `primary_key
# = "id"`, `auth: basic`, `session: redis` are settings). Any of them before the key's last segment
# (`SECRET_KEY_BASE`, `session_timeout`, `token_count`) needs a key-shaped value too.
_KEY_WORDS = r"(?i:key|auth|cookie|session(?:[_-]?id)?|sid|signature)"
_ANY_SECRET_WORD = rf"(?:{_SECRET_WORDS}|{_KEY_WORDS})"
# A public key is public: `STRIPE_PUBLISHABLE_KEY`, `public_key`, `pubKey`.
_NOT_PUBLIC = r"(?![A-Za-z0-9_.-]{0,64}?(?i:public|publishable|pub)[_.-]?(?i:key))"
_SECRET_KEY = _KEY_START + _NOT_PUBLIC + _SEGMENT + _SECRET_WORDS
_KEY_NAMED_KEY = _KEY_START + _NOT_PUBLIC + _SEGMENT + rf"(?:{_KEY_WORDS}|{_ANY_SECRET_WORD}{_MORE_SEGMENTS})"
# A segment of a value that is a word or a short code, not random: `created_at`, `prod-db-secret`, `v2`.
_VALUE_SEGMENTS = re.compile(r"[^_\-.:/\s]+")


def made_of_words(value: str) -> bool:
    """Whether `value` is words and short numbers joined (`created_at`, `user-profile-cache-2024`): a
    name a program gives something, not a secret."""
    return all(_word_like(segment) for segment in _VALUE_SEGMENTS.findall(value))


def _word_like(segment: str) -> bool:
    """A short code (`db`, `v2`), a number of up to four digits, or letters in one case as words are
    written (`cache`, `Profile`, `PROD`); a random key mixes cases (`qWfjdPqmzn`) or digits."""
    if segment.isdigit():
        return len(segment) <= 4
    plain_case = segment.islower() or segment.isupper() or segment.istitle()
    return len(segment) <= 3 or segment.isalpha() and len(segment) <= 15 and plain_case


class GenericSecretRecognizer(SecretRecognizer):
    """A value under a key named like a secret (`"client_secret": "..."`, `export STRIPE_TOKEN=...`), a
    key-shaped value under a key named like a key (`OPENWEATHER_KEY = "<32 hex>"`, `"session_id":
    "..."`), or a key told in prose ("the session token is ..."), in the spirit of detect-secrets'
    keyword and entropy plugins: no placeholder, setting or words, some entropy; in prose at least 12
    characters, letters and digits."""

    ENTITY = "GENERIC_SECRET"
    PATTERNS = (
        *_assignment_patterns("secret-named key", _SECRET_KEY, 0.7),
        *_assignment_patterns("key-named key", _KEY_NAMED_KEY, 0.7, _KEY_SHAPED),
        Pattern(
            "secret told in prose",
            r"(?<![\w-])(?i:token|api key|secret|session id|session|cookie|key)(?![\w-])(?:[ \t]+[\w.-]{1,24}){0,3}?"
            r"[ \t]+(?i:is|was|=|:)[ \t]+[\"'`]?\K(?=[A-Za-z0-9+/=._~-]{0,512}?\d)"
            r"(?=[A-Za-z0-9+/=._~-]{0,512}?[A-Za-z])[A-Za-z0-9+/=._~-]{12,512}+",
            0.6,
        ),
    )
    CONTEXT = ("secret", "token", "key", "session")
    KEYWORDS = ("key", "secret", "token", "session", "sid", "cookie", "signature", "credential", "auth")

    def invalidate_result(self, pattern_text: str) -> bool:
        return not plausible_secret(pattern_text)


_MIN_SECRET_LENGTH = 6
_MIN_SECRET_ENTROPY = 2.5
_KEY_SHAPED_VALUE = regex.compile(_KEY_SHAPED + r"\S+")


def plausible_secret(value: str, key_shaped: bool = False) -> bool:
    """Whether a value under a key named like a secret could be one: not a placeholder, a setting
    (`obviously_not_secret`) or words (`made_of_words`), some entropy, and shaped like a key when
    the key's name says only "key", "cookie" or "session" (`key_shaped`)."""
    value = value.strip().strip("\"'")
    return not (
        len(value) < _MIN_SECRET_LENGTH
        or _shannon(value) < _MIN_SECRET_ENTROPY
        or made_of_words(value)
        or obviously_not_secret(value)
        or looks_like_placeholder(value)
        or (key_shaped and _KEY_SHAPED_VALUE.fullmatch(value) is None)
    )


_RECOGNIZERS: tuple[type[SecretRecognizer], ...] = (
    AwsAccessKeyRecognizer,
    AwsSecretKeyRecognizer,
    GcpApiKeyRecognizer,
    AzureStorageKeyRecognizer,
    GitHubTokenRecognizer,
    GitLabTokenRecognizer,
    SlackTokenRecognizer,
    StripeKeyRecognizer,
    OpenAiApiKeyRecognizer,
    AnthropicApiKeyRecognizer,
    SendGridApiKeyRecognizer,
    TwilioApiKeyRecognizer,
    JwtRecognizer,
    PrivateKeyRecognizer,
    UrlCredentialsRecognizer,
    ConnectionStringPasswordRecognizer,
    PasswordAssignmentRecognizer,
    PasswordInProseRecognizer,
    HttpCredentialsRecognizer,
    GenericSecretRecognizer,
)

SECRET_ENTITIES: tuple[str, ...] = tuple(recognizer.ENTITY for recognizer in _RECOGNIZERS)


def secret_recognizers(language: str = "en") -> list[EntityRecognizer]:
    """One instance of every secret recognizer, to pass as Presidio ad-hoc recognizers or register."""
    return [recognizer(supported_language=language) for recognizer in _RECOGNIZERS]
