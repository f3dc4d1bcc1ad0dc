"""Secret detection: every recognizer through the proxy's real Presidio analyzer, placeholders ignored.

The secrets below are fake but well-formed, built from repeating alphabets so that no real-looking
leaked key lives in the repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, cast

import pytest
import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult

from proxy.detection import DetectionEngine
from proxy.detection.noise import without_noise
from proxy.detection.secrets import (
    _ASSIGNED_KEY_START,
    _KEY_START,
    SECRET_ENTITIES,
    GenericSecretRecognizer,
    PasswordAssignmentRecognizer,
    SecretRecognizer,
    looks_like_placeholder,
    secret_recognizers,
)
from proxy.exchange import Finding


def fake(length: int, alphabet: str = "a1B2c3D4e5F6g7H8k9M0") -> str:
    return (alphabet * (length // len(alphabet) + 1))[:length]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(b"\x17sig" * 8)])


def pem(label: str, *headers: str) -> str:
    body = "\n".join([*headers, *(fake(64, "MIIEpAIBAAKCAQEAx7Tq+/9Zr") for _ in range(4)), fake(20, "q8Wv3=")])
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


AWS_ID = "AKIA" + "Z3X9" * 4
AWS_TEMP_ID = "ASIA" + "Q7W2" * 4
AWS_SECRET = fake(40, "a1B2/c3D4+e5F6g7H8i9")
GCP = "AIza" + fake(35, "Sb3C4d5E6f7_g8H9-k")
AZURE = fake(86, "Ab3+Cd4/Ef5Gh6Jk7") + "=="
GITHUB = "ghp_" + "a1B2" * 9
GITHUB_APP = "ghs_" + fake(36)
GITHUB_PAT = "github_pat_" + fake(22) + "_" + fake(59)
GITLAB = "glpat-" + fake(20, "x1Y2z3W4_-v5")
SLACK = "xoxb-1234567890-9876543210987-" + fake(24)
SLACK_HOOK = "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/" + fake(24)
STRIPE_LIVE = "sk_live_" + fake(24)
STRIPE_TEST = "sk_test_" + fake(30)
STRIPE_RESTRICTED = "rk_live_" + fake(24)
OPENAI_PROJECT = "sk-proj-" + fake(48, "a1B2c3_D4e5-F6g7H8")
OPENAI_SERVICE = "sk-svcacct-" + fake(40)
OPENAI_LEGACY = "sk-" + fake(48)
ANTHROPIC = "sk-ant-api03-" + fake(86, "a1B2c3D4e5F6-g7H8_k9")
SENDGRID = "SG." + fake(22) + "." + fake(43, "k9M0_n1P2-q3R4")
TWILIO_KEY = "SK" + "0123456789abcdef" * 2
TWILIO_SID = "AC" + "fedcba9876543210" * 2
JWT = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "4711", "name": "Ada", "iat": 1700000000})
RSA_KEY = pem("RSA PRIVATE KEY")
EC_KEY = pem("EC PRIVATE KEY")
OPENSSH_KEY = pem("OPENSSH PRIVATE KEY")
PKCS8_KEY = pem("PRIVATE KEY")
PGP_KEY = pem("PGP PRIVATE KEY BLOCK", "Version: GnuPG v2", "")
DB_PASSWORD = "Xk9-pL2q7Zr"


def _analyze(
    detector: DetectionEngine, text: str, recognizers: list[EntityRecognizer] | None = None
) -> list[RecognizerResult]:
    return detector.analyzer.analyze(
        text=text,
        language="en",
        entities=list(SECRET_ENTITIES),
        ad_hoc_recognizers=recognizers if recognizers is not None else secret_recognizers(),
    )


def _spans(detector: DetectionEngine, text: str) -> list[tuple[str, str]]:
    """The secrets the proxy would act on: Presidio's results after the noise filter."""
    results = [Finding(0, r.start, r.end, r.entity_type, r.score, "") for r in _analyze(detector, text)]
    return sorted((f.entity_type, text[f.start : f.end]) for f in without_noise(results, text))


POSITIVES = [
    pytest.param(
        f"Why does my app crash on start? Here is my .env:\n\nOPENAI_API_KEY={OPENAI_PROJECT}\nAWS_ACCESS_KEY_ID={AWS_ID}\n"
        f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\nSTRIPE_SECRET_KEY={STRIPE_LIVE}\nDB_PASSWORD=Gh7-kL2pQ9\nDEBUG=true\n",
        [
            ("AWS_ACCESS_KEY", AWS_ID),
            ("AWS_SECRET_KEY", AWS_SECRET),
            ("OPENAI_API_KEY", OPENAI_PROJECT),
            ("PASSWORD_ASSIGNMENT", "Gh7-kL2pQ9"),
            ("STRIPE_KEY", STRIPE_LIVE),
        ],
        id="env-file",
    ),
    pytest.param(
        f"[default]\naws_access_key_id = {AWS_TEMP_ID}\naws_secret_access_key = {AWS_SECRET}\n",
        [("AWS_ACCESS_KEY", AWS_TEMP_ID), ("AWS_SECRET_KEY", AWS_SECRET)],
        id="aws-credentials-file",
    ),
    pytest.param(
        f'This JSON came back from sts: {{"AccessKeyId": "{AWS_TEMP_ID}", "SecretAccessKey": "{AWS_SECRET}"}}',
        [("AWS_ACCESS_KEY", AWS_TEMP_ID), ("AWS_SECRET_KEY", AWS_SECRET)],
        id="aws-sts-json",
    ),
    pytest.param(
        f'Fix this please:\n\nimport anthropic\nclient = anthropic.Anthropic(api_key="{ANTHROPIC}")\ngh = Github("{GITHUB}")\n',
        [("ANTHROPIC_API_KEY", ANTHROPIC), ("GITHUB_TOKEN", GITHUB)],
        id="python-snippet",
    ),
    pytest.param(
        f'Why 401? curl -H "Authorization: Bearer {JWT}" https://api.acme-corp.net/v1/orders',
        [("JWT", JWT)],
        id="curl-bearer-jwt",
    ),
    pytest.param(
        f"services:\n  api:\n    environment:\n      DATABASE_URL: postgres://app:{DB_PASSWORD}@db:5432/app\n      POSTGRES_PASSWORD: {DB_PASSWORD}\n",
        [("CONNECTION_STRING_PASSWORD", DB_PASSWORD), ("PASSWORD_ASSIGNMENT", DB_PASSWORD)],
        id="docker-compose-postgres",
    ),
    pytest.param(
        f"My deploy fails with this key:\n{RSA_KEY}\nwhat is wrong?", [("PRIVATE_KEY", RSA_KEY)], id="rsa-key"
    ),
    pytest.param(f"ssh says invalid format:\n{OPENSSH_KEY}\n", [("PRIVATE_KEY", OPENSSH_KEY)], id="openssh-key"),
    pytest.param(
        f"{EC_KEY}\n\n{PKCS8_KEY}", [("PRIVATE_KEY", EC_KEY), ("PRIVATE_KEY", PKCS8_KEY)], id="ec-and-pkcs8-keys"
    ),
    pytest.param(f"gpg export:\n{PGP_KEY}", [("PRIVATE_KEY", PGP_KEY)], id="pgp-key"),
    pytest.param(
        '{"type": "service_account", "private_key": "' + PKCS8_KEY.replace("\n", "\\n") + '\\n"}',
        [("PRIVATE_KEY", PKCS8_KEY.replace("\n", "\\n"))],
        id="key-in-service-account-json",
    ),
    pytest.param(f"maps.googleapis.com/maps/api/js?key={GCP}&callback=init", [("GCP_API_KEY", GCP)], id="gcp-key"),
    pytest.param(
        f"DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={AZURE};EndpointSuffix=core.windows.net",
        [("AZURE_STORAGE_KEY", AZURE)],
        id="azure-storage-connection-string",
    ),
    pytest.param(
        f"GH_TOKEN={GITHUB_APP} and GITHUB_PAT={GITHUB_PAT}",
        [("GITHUB_TOKEN", GITHUB_APP), ("GITHUB_TOKEN", GITHUB_PAT)],
        id="github-tokens",
    ),
    pytest.param(
        f"git clone https://oauth2:{GITLAB}@gitlab.acme-corp.net/team/repo.git",
        [("GITLAB_TOKEN", GITLAB), ("URL_CREDENTIALS", GITLAB)],
        id="gitlab-token-in-clone-url",
    ),
    pytest.param(f"SLACK_BOT_TOKEN={SLACK}", [("SLACK_TOKEN", SLACK)], id="slack-bot-token"),
    pytest.param(f"post alerts to {SLACK_HOOK} please", [("SLACK_TOKEN", SLACK_HOOK)], id="slack-webhook"),
    pytest.param(
        f"stripe.api_key = '{STRIPE_TEST}'; restricted: {STRIPE_RESTRICTED}",
        [("STRIPE_KEY", STRIPE_RESTRICTED), ("STRIPE_KEY", STRIPE_TEST)],
        id="stripe-keys",
    ),
    pytest.param(
        f"keys: {OPENAI_SERVICE}, old one {OPENAI_LEGACY}.",
        [("OPENAI_API_KEY", OPENAI_LEGACY), ("OPENAI_API_KEY", OPENAI_SERVICE)],
        id="openai-service-and-legacy",
    ),
    pytest.param(f"sg = SendGridAPIClient('{SENDGRID}')", [("SENDGRID_API_KEY", SENDGRID)], id="sendgrid-key"),
    pytest.param(
        f"from twilio.rest import Client\nclient = Client('{TWILIO_SID}', 'tok')\napi_key = '{TWILIO_KEY}'",
        [("TWILIO_API_KEY", TWILIO_KEY), ("TWILIO_API_KEY", TWILIO_SID)],
        id="twilio-sid-and-key",
    ),
    pytest.param(
        "mirror from https://deploy:Tr0ub4dor-x9@files.acme-corp.net/pub/",
        [("URL_CREDENTIALS", "Tr0ub4dor-x9")],
        id="https-url-credentials",
    ),
    pytest.param("ftp://backup:W8q!rT5z@10.0.0.7/dumps", [("URL_CREDENTIALS", "W8q!rT5z")], id="ftp-url-credentials"),
    pytest.param(
        "MONGO_URI=mongodb+srv://svc:q8Rt5Wz3Lm@cluster0.ab1cd.mongodb.net/app and REDIS_URL=redis://:r3d1s-Pw7@cache:6379/0",
        [("CONNECTION_STRING_PASSWORD", "q8Rt5Wz3Lm"), ("CONNECTION_STRING_PASSWORD", "r3d1s-Pw7")],
        id="mongodb-and-redis-urls",
    ),
    pytest.param(
        "engine = create_engine('postgresql+psycopg://etl:Pq4-Zt8w@warehouse/etl'); broker amqps://bus:Bn6xK2@mq.acme-corp.net",
        [("CONNECTION_STRING_PASSWORD", "Bn6xK2"), ("CONNECTION_STRING_PASSWORD", "Pq4-Zt8w")],
        id="sqlalchemy-and-amqp-urls",
    ),
    pytest.param(
        '"Server=tcp:sql1.acme-corp.net,1433;Initial Catalog=Sales;User ID=svc_sales;Password=Zq7!vR2#pL9m;Encrypt=True;"',
        [("CONNECTION_STRING_PASSWORD", "Zq7!vR2#pL9m")],
        id="ado-connection-string",
    ),
    pytest.param(
        "Pwd=Hx8q2Lz0;Driver={ODBC Driver 18};Server=db1",
        [("CONNECTION_STRING_PASSWORD", "Hx8q2Lz0")],
        id="odbc-password-first",
    ),
    pytest.param(
        "jdbc:mysql://db.acme-corp.net:3306/shop?user=shop&password=Mq4vT8wZ2x",
        [("CONNECTION_STRING_PASSWORD", "Mq4vT8wZ2x")],
        id="jdbc-url-query",
    ),
    pytest.param(
        'db = connect(host="db1", password="c0rrect-h0rse")',
        [("PASSWORD_ASSIGNMENT", "c0rrect-h0rse")],
        id="python-keyword-argument",
    ),
    pytest.param(
        "SMTP_PASSWORD = 'it\"s-Mx3'", [("PASSWORD_ASSIGNMENT", 'it"s-Mx3')], id="python-assignment-other-quote"
    ),
    pytest.param(
        '{"username": "ada", "password": "Vz5*nQ1!t"}', [("PASSWORD_ASSIGNMENT", "Vz5*nQ1!t")], id="json-member"
    ),
    pytest.param(
        "smtp:\n  user: mailer\n  passwd: Lq3wE8rT  # rotated monthly\n",
        [("PASSWORD_ASSIGNMENT", "Lq3wE8rT")],
        id="yaml-value",
    ),
    pytest.param(
        "mysql -u root --password=K9dF2mX shop < dump.sql", [("PASSWORD_ASSIGNMENT", "K9dF2mX")], id="cli-flag"
    ),
    pytest.param(
        "$config = ['passphrase' => 'Qw9-Er8-Ty7'];", [("PASSWORD_ASSIGNMENT", "Qw9-Er8-Ty7")], id="php-passphrase"
    ),
    pytest.param(
        "PASSWORD=password123", [("PASSWORD_ASSIGNMENT", "password123")], id="weak-password-is-still-reported"
    ),
    pytest.param("My password: hunter2", [("PASSWORD_ASSIGNMENT", "hunter2")], id="password-at-end-of-line"),
    pytest.param(
        "DB_PASSWORD=changeme", [("PASSWORD_ASSIGNMENT", "changeme")], id="changeme-is-a-deployed-default-password"
    ),
    pytest.param(
        "the admin password on the staging box is Qu4rtz!Lagoon, can you check the sshd config?",
        [("PASSWORD", "Qu4rtz!Lagoon")],
        id="password-told-in-prose",
    ),
    pytest.param("mein Kennwort lautet Birke7Wald und geht nicht", [("PASSWORD", "Birke7Wald")], id="german-password"),
    pytest.param("wifi pw: orchard-22 for guests", [("PASSWORD", "orchard-22")], id="short-password-label"),
    pytest.param("for the guests: the door code is 8213#, wifi on the fridge", [("PASSWORD", "8213#")], id="door-code"),
    pytest.param(
        "i changed the password to Mango_Tree_77 but my sister still uses it",
        [("PASSWORD", "Mango_Tree_77")],
        id="password-changed-to",
    ),
    pytest.param(
        "I've set a temp password of Red-Kestrel-5528! for her first login",
        [("PASSWORD", "Red-Kestrel-5528!")],
        id="password-of",
    ),
    pytest.param(
        "La password del wifi è\nGirasole2031 e il codice del portone è 8842. Grazie",
        [("PASSWORD", "8842"), ("PASSWORD", "Girasole2031")],
        id="italian-password-across-a-line-break-and-gate-code",
    ),
    pytest.param(
        "le mot de passe est Falaise!48 et le digicode 7C19.",
        [("PASSWORD", "7C19"), ("PASSWORD", "Falaise!48")],
        id="french-password-and-digicode",
    ),
    pytest.param(
        "la contraseña es Pimiento88 y el código del portal es 3391",
        [("PASSWORD", "3391"), ("PASSWORD", "Pimiento88")],
        id="spanish-password-and-door-code",
    ),
    pytest.param("het wachtwoord is Tulpen!61, bel me", [("PASSWORD", "Tulpen!61")], id="dutch-password"),
    pytest.param(
        "user admin pw Lantern55 thanks, Türcode 2277 und PIN 0815",
        [("PASSWORD", "0815"), ("PASSWORD", "2277"), ("PASSWORD", "Lantern55")],
        id="bare-pw-label-door-code-and-pin",
    ),
    pytest.param(
        "Key safe is round the back by the shed,\ncode 6203, and the alarm code is 1957 then press enter.",
        [("PASSWORD", "1957"), ("PASSWORD", "6203")],
        id="code-near-a-key-safe",
    ),
    pytest.param("der Türcode lautet 5190B, bitte nicht weitergeben", [("PASSWORD", "5190B")], id="german-door-code"),
    pytest.param(
        "curl -H 'Authorization: Basic " + b64url(b"mila:Ferns-and-9-owls") + "' https://api.internal/v2",
        [("HTTP_CREDENTIALS", b64url(b"mila:Ferns-and-9-owls"))],
        id="basic-auth-header",
    ),
    pytest.param(
        "curl -u deploy:Tr3e-h0use https://ci.internal/job", [("HTTP_CREDENTIALS", "Tr3e-h0use")], id="curl-u"
    ),
    pytest.param(
        'curl -H "X-Api-Key: live_8Hq3LmV0xR5tZ9wB4nK7cJ2y" https://api.partner.example/v1',
        [("HTTP_CREDENTIALS", "live_8Hq3LmV0xR5tZ9wB4nK7cJ2y")],
        id="api-key-header",
    ),
    pytest.param(
        "curl -H 'X-Auth-Token: 7f3a9c2e1b8d4f60a5e2' -H 'Accept: */*' https://ci.example/api",
        [("HTTP_CREDENTIALS", "7f3a9c2e1b8d4f60a5e2")],
        id="auth-token-header",
    ),
    pytest.param(
        "requests.get(url, headers={'Authorization': 'Token 9d8c7b6a5f4e3d2c1b0a'})",
        [("HTTP_CREDENTIALS", "9d8c7b6a5f4e3d2c1b0a")],
        id="token-authorization",
    ),
    pytest.param(
        'SMTP_HOST = "smtp.relay.example"\nSMTP_USER = "mailer"\nSMTP_PASS = "Harbour_Lights_1999"\n',
        [("PASSWORD_ASSIGNMENT", "Harbour_Lights_1999")],
        id="short-password-word-as-the-last-segment",
    ),
    pytest.param("db:\n  dbPassword: Tr1cky-Fox\n", [("PASSWORD_ASSIGNMENT", "Tr1cky-Fox")], id="camel-case-key"),
    pytest.param(
        "define( 'DB_USER', 'shop' );\ndefine( 'DB_PASSWORD', 'Gl4cier&Moss!2' );",
        [("PASSWORD_ASSIGNMENT", "Gl4cier&Moss!2")],
        id="php-define",
    ),
    pytest.param(
        'os.environ.setdefault("SESSION_SECRET", "pT4nW8qZ1rL6")',
        [("GENERIC_SECRET", "pT4nW8qZ1rL6")],
        id="key-and-value-as-a-call-s-arguments",
    ),
    pytest.param("mysql --pass=Qp7-Lm2x shop", [("PASSWORD_ASSIGNMENT", "Qp7-Lm2x")], id="pass-flag"),
    pytest.param('SIM_PIN = "4821"', [("PASSWORD_ASSIGNMENT", "4821")], id="pin-assignment"),
    pytest.param(
        'TIDEWATCH_KEY = "9c2e7a1f03bd46e8a5c1f07b2d9e6a34"',
        [("GENERIC_SECRET", "9c2e7a1f03bd46e8a5c1f07b2d9e6a34")],
        id="key-shaped-value-under-a-plain-key",
    ),
    pytest.param(
        '{"client_id": "web", "client_secret": "qWfjdkslaPqmzn"}',
        [("GENERIC_SECRET", "qWfjdkslaPqmzn")],
        id="client-secret-of-any-shape",
    ),
    pytest.param("export PAYRIX_TOKEN=tok9Xq2LmB7", [("GENERIC_SECRET", "tok9Xq2LmB7")], id="exported-token"),
    pytest.param(
        'SECRET_KEY_BASE = "a8f3c91d7e2b4056f1a9c3e7d2b8f4a6"',
        [("GENERIC_SECRET", "a8f3c91d7e2b4056f1a9c3e7d2b8f4a6")],
        id="secret-word-before-the-last-segment",
    ),
    pytest.param(
        "MAILER_API_KEY=Mq7zR2vX9pL4kT8wN3cB6yH1",
        [("GENERIC_SECRET", "Mq7zR2vX9pL4kT8wN3cB6yH1")],
        id="unknown-vendor-key",
    ),
    pytest.param(
        "my session id is 4fJ9kQ2mZ7xR1pW8vL3t, is it expired?",
        [("GENERIC_SECRET", "4fJ9kQ2mZ7xR1pW8vL3t")],
        id="session-id-in-prose",
    ),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_when_a_secret_is_pasted_into_a_prompt_then_exactly_its_span_is_reported(
    detector: DetectionEngine, text: str, expected: list[tuple[str, str]]
) -> None:
    assert _spans(detector, text) == sorted(expected)


PLACEHOLDERS = [
    pytest.param("OPENAI_API_KEY=<YOUR_API_KEY>", id="angle-brackets"),
    pytest.param("export OPENAI_API_KEY=${OPENAI_API_KEY}", id="shell-variable"),
    pytest.param('password: "{{ token }}"', id="jinja"),
    pytest.param("OPENAI_API_KEY=sk-...", id="elided-openai-key"),
    pytest.param('ANTHROPIC_API_KEY="sk-ant-api03-..."', id="elided-anthropic-key"),
    pytest.param("OPENAI_API_KEY=sk-" + "x" * 48, id="x-filled-openai-key"),
    pytest.param("OPENAI_API_KEY=sk-proj-" + "x" * 40, id="x-filled-project-key"),
    pytest.param("aws_access_key_id = AKIAXXXXXXXXXXXXXXXX", id="x-filled-aws-key"),
    pytest.param(
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        id="aws-documented-example",
    ),
    pytest.param('password = "your-api-key"', id="your-api-key"),
    pytest.param("STRIPE_KEY=sk_live_YOUR_STRIPE_SECRET_KEY_HERE", id="your-stripe-key-here"),
    pytest.param('password: "********"', id="asterisks"),
    pytest.param("password=example", id="example"),
    pytest.param("password: dummy", id="dummy"),
    pytest.param("PASSWORD=test", id="test"),
    pytest.param("password: <password>", id="angle-password"),
    pytest.param("PASSWORD=$PASSWORD", id="dollar-variable"),
    pytest.param("PASSWORD=%DB_PASSWORD%", id="windows-variable"),
    pytest.param("password: aaaaaaaa", id="one-repeated-character"),
    pytest.param("POSTGRES_PASSWORD=mysecretpassword", id="filler-words-run-together"),
    pytest.param("password: null", id="null"),
    pytest.param("password: settings.DB_PASSWORD", id="reference-to-a-setting"),
    pytest.param("DATABASE_URL=postgres://user:password@localhost:5432/app", id="postgres-url-placeholder"),
    pytest.param("mongodb+srv://<user>:<password>@cluster0.mongodb.net/test", id="mongodb-template"),
    pytest.param("https://user:pass@host.acme-corp.net/", id="url-user-pass"),
    pytest.param("https://ada:****@host.acme-corp.net/", id="url-masked"),
    pytest.param("Server=db1;User Id=sa;Password=<your_password>;", id="connection-string-template"),
    pytest.param(
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", id="slack-documented-webhook"
    ),
    pytest.param("SLACK_TOKEN=xoxb-your-token", id="slack-your-token"),
    pytest.param("SLACK_TOKEN=xoxb-XXXXXXXXXXXX-XXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX", id="slack-x-filled"),
    pytest.param("ghp_" + "x" * 36, id="github-x-filled"),
    pytest.param("-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----", id="elided-private-key"),
    pytest.param(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg...\n-----END PRIVATE KEY-----", id="truncated-private-key"
    ),
]


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_when_a_credential_is_a_placeholder_then_nothing_is_reported(detector: DetectionEngine, text: str) -> None:
    assert _spans(detector, text) == []


def _base64_image() -> str:
    data = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(120))
    return "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + data).decode()


LOOK_ALIKES = [
    pytest.param(
        "Request 550e8400-e29b-41d4-a716-446655440000 and 3f2504e0-4f89-11d3-9a0c-0305e82c3301 failed", id="uuids"
    ),
    pytest.param("The bug came in with commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (short 9fceb02).", id="git-sha"),
    pytest.param(f"What is in this picture? ![img]({_base64_image()})", id="base64-image"),
    pytest.param(
        "I forgot my password and the reset link is broken. What password rules do you recommend?",
        id="prose-about-passwords",
    ),
    pytest.param("Password: must be at least 12 characters long.\nForgot password?\n", id="password-label-in-prose"),
    pytest.param(
        "See https://example.com/path?q=1 and https://ada@example.com/ for details.", id="urls-without-passwords"
    ),
    pytest.param(
        "Keys start with sk- and the sk-learn docs never mention them; ask the risk desk.", id="sk-in-a-sentence"
    ),
    pytest.param("eyJ" + fake(20) + ".eyJ" + fake(20) + "." + fake(20), id="jwt-shape-without-json"),
    pytest.param("checksum: " + AWS_SECRET, id="aws-secret-shape-without-context"),
    pytest.param("account AC" + "0123456789abcdef" * 2 + " in the ledger", id="twilio-sid-shape-without-twilio"),
    pytest.param("PWD=/home/alice\nOLDPWD=/home\nSHELL=/bin/bash", id="pwd-in-an-env-dump"),
    pytest.param("password_min_length: 12\npassword_file=/run/secrets/db", id="password-settings-not-passwords"),
    pytest.param('password = get_password()\npassword=os.environ["DB_PASSWORD"]', id="code-reading-a-password"),
    pytest.param("postgres://app@db:5432/app and redis://cache:6379/0", id="database-urls-without-passwords"),
    pytest.param("-----BEGIN PUBLIC KEY-----\n" + fake(64) + "\n-----END PUBLIC KEY-----", id="public-key"),
    pytest.param("publishable key pk_live_" + fake(24), id="stripe-publishable-key"),
    pytest.param("Your password is incorrect. The password must be at least 8 characters.", id="password-rules"),
    pytest.param("the token is expired and the api key was rotated yesterday", id="secret-words-without-values"),
    pytest.param("the access code is printed on the card; your PIN is private", id="code-words-without-values"),
    pytest.param("max_tokens=1024, session_timeout=3600, cookie_domain=shop.example", id="secret-like-settings"),
    pytest.param(
        "Dec  4 sshd[2187]: Accepted publickey for jdoe from 10.0.0.4; home /home/jdoe, PWD=/home/jdoe",
        id="sshd-log-with-a-home-path",
    ),
    pytest.param('primary_key = "id"\nsort_key = "created_at"\nkeyboard = "qwertz"', id="key-words-holding-names"),
    pytest.param('token_count = 42\nSMTP_HOST = "smtp.relay.example"\nauth: basic\n', id="secret-like-settings-2"),
    pytest.param(
        'LED_PIN = 13\nbypass = "x1y2z3w4"\nmonkey = "k1n9k0n9"', id="pins-of-a-board-and-words-ending-in-one"
    ),
    pytest.param('api_key = "v1_user_profile_cache_2024"', id="secret-key-holding-words"),
    pytest.param(
        "PAYRIX_PUBLISHABLE_KEY=pb_9fK2mQ7xL4vR8tZ3\nrsaPublicKey: Mx4Lq8Rz2Tv6Wp0Ky3Nj", id="public-keys-are-public"
    ),
    pytest.param('fetch(url, {"credentials": "include"})', id="fetch-credentials-option"),
    pytest.param('cache_key = "user:{id}:profile"\nsession_store = "redis"', id="cache-key-template"),
    pytest.param(
        "error code 4040 at the front door, area code 212, zip code 90210, postcode 1234, status code 5003",
        id="codes-that-are-no-secrets",
    ),
    pytest.param("code review of the source code, see code 3 of the spec", id="code-as-a-word"),
    pytest.param(
        "I need the password to log in, I reset my password in 2023 with a password manager", id="password-talk"
    ),
    pytest.param("the password to the router is on the sticker", id="password-to-a-thing"),
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_when_text_only_resembles_a_secret_then_nothing_is_reported(detector: DetectionEngine, text: str) -> None:
    assert _spans(detector, text) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<YOUR_API_KEY>", True),
        ("${OPENAI_API_KEY}", True),
        ("{{ token }}", True),
        ("sk-...", True),
        ("sk-" + "x" * 48, True),
        ("AKIAXXXXXXXXXXXXXXXX", True),
        ("AKIAIOSFODNN7EXAMPLE", True),
        ("your-api-key", True),
        ("YOUR_OPENAI_API_KEY_HERE", True),
        ("changeme", False),
        ("********", True),
        ("example", True),
        ("dummy", True),
        ("test", True),
        ("<password>", True),
        ("$PASSWORD", True),
        ("zzzzzzzzzz", True),
        ("sk-...abcd", True),
        ("password123", False),
        ("hunter2", False),
        ("admin", False),
        (DB_PASSWORD, False),
        (GITHUB, False),
        (STRIPE_TEST, False),
        (AWS_SECRET, False),
    ],
)
def test_when_a_value_is_checked_then_placeholders_are_told_from_real_values(value: str, expected: bool) -> None:
    assert looks_like_placeholder(value) is expected


def test_when_the_positive_table_is_read_then_every_secret_entity_is_covered() -> None:
    covered = {entity for case in POSITIVES for entity, _ in cast(list[tuple[str, str]], case.values[1])}
    assert covered == set(SECRET_ENTITIES)


def test_when_recognizers_are_built_then_each_reports_its_own_entity() -> None:
    recognizers = secret_recognizers()
    assert [r.supported_entities for r in recognizers] == [[entity] for entity in SECRET_ENTITIES]
    assert len(set(SECRET_ENTITIES)) == len(SECRET_ENTITIES)


class _CountingRegex:
    """A compiled regex that counts its scans."""

    def __init__(self, compiled: Any, calls: list[str], name: str) -> None:
        self._compiled, self._calls, self._name = compiled, calls, name

    def finditer(self, *args: Any, **kwargs: Any) -> Any:
        self._calls.append(self._name)
        return self._compiled.finditer(*args, **kwargs)


NO_KEYWORDS = "The quarterly report is ready for review; the numbers look good and the team is happy with them."


@pytest.mark.parametrize("recognizer", secret_recognizers(), ids=lambda r: r.name)
def test_when_no_keyword_occurs_then_the_recognizer_runs_no_regex(
    detector: DetectionEngine, monkeypatch: pytest.MonkeyPatch, recognizer: SecretRecognizer
) -> None:
    calls: list[str] = []
    for pattern in recognizer.PATTERNS:
        compiled = regex.compile(pattern.regex, flags=recognizer.global_regex_flags)
        monkeypatch.setattr(pattern, "compiled_regex", _CountingRegex(compiled, calls, pattern.name))
        monkeypatch.setattr(pattern, "compiled_with_flags", recognizer.global_regex_flags)
    assert not recognizer.mentions_keyword(NO_KEYWORDS)

    assert _analyze(detector, NO_KEYWORDS, [recognizer]) == []
    assert calls == []

    # The spy sees the scans (the analyzer may also hold these recognizers in its registry: they share patterns).
    _analyze(detector, f"{NO_KEYWORDS} {recognizer.KEYWORDS[0]}", [recognizer])
    assert set(calls) == {pattern.name for pattern in recognizer.PATTERNS}


PATHOLOGICAL = [
    pytest.param("password=" * 7_000 + ")", id="nested-assignments"),
    pytest.param("Pwd=" * 15_000, id="nested-connection-strings"),
    pytest.param(";" + " " * 60_000 + "password", id="long-whitespace"),
    pytest.param("a" * 60_000 + " password", id="long-word"),
    pytest.param(("-----BEGIN RSA PRIVATE KEY-----\n" + "QUJD" * 16 + "\n") * 600, id="unterminated-pem-blocks"),
    pytest.param(("eyJ" + "a" * 30 + ".") * 1_800, id="jwt-fragments"),
    pytest.param("x://a:" + "b" * 60_000, id="url-without-host"),
    pytest.param("a_" * 30_000 + "key=x", id="many-key-segments"),
    pytest.param("password to " * 6_000 + "door code " * 6_000, id="many-labels-without-values"),
]


@pytest.mark.parametrize("text", PATHOLOGICAL)
def test_when_a_prompt_is_pathological_then_scanning_stays_linear(text: str) -> None:
    """Every open-ended repetition is bounded or possessive: before that, 'password=' * 20_000 took a minute."""
    started = time.perf_counter()
    for recognizer in cast(list[SecretRecognizer], secret_recognizers()):
        recognizer.analyze(text, recognizer.supported_entities)
    assert time.perf_counter() - started < 2.0


def test_an_assignment_looking_ahead_for_its_separator_finds_what_it_found_without() -> None:
    texts = [
        'DB_PASSWORD="hunter2x"; db.pwd : \'Qu4rtz!\' "password": "s3cr3t", smtpPass := "abcdef12"',
        "client_secret = 'Xk29fPq81LmZ7tRv' OPENWEATHER_KEY => \"a1b2c3d4e5f6a7b8c9d0\" pub_key: 'x'",
        "token_count = 42, 'api_key'  :  \"sk-abc123def456ghi789\", x-password=\"p4ss\" ;password='pw12'",
        "pin: 4821, LED_PIN = 13, 'SECRET_KEY_BASE': 'b4s3b4s3b4s3b4s3', é_password = 'x1x2x3x4'",
        "password=" * 50 + "'" * 50 + ' "key" = "v4lu3v4lu3"',
    ]
    patterns = [
        pattern
        for recognizer in (PasswordAssignmentRecognizer, GenericSecretRecognizer)
        for pattern in recognizer.PATTERNS
        if _ASSIGNED_KEY_START in pattern.regex
    ]
    assert len(patterns) == 10  # quoted, env and yaml of three keys, and the PIN
    found = 0
    for pattern in patterns:
        before = regex.compile(pattern.regex.replace(_ASSIGNED_KEY_START, _KEY_START), SecretRecognizer.REGEX_FLAGS)
        after = regex.compile(pattern.regex, SecretRecognizer.REGEX_FLAGS)
        for text in texts:
            spans = [m.span() for m in after.finditer(text)]
            assert spans == [m.span() for m in before.finditer(text)], (pattern.name, text)
            found += len(spans)
    assert found >= 10
