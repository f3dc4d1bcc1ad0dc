"""The compliance console in a real browser: Debian's chromium driven by Playwright against
`privacy-proxy serve` in its own process, over a SQLite database holding traffic sent through the
official SDKs. Each page is saved as a screenshot under the test output (`console-screenshots`
in pytest's base temp directory)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import create_engine, func, select

from proxy.config import hash_api_key
from proxy.console.highlight import Segment, Span, highlight
from proxy.store.audit import audit_rows
from proxy.store.tables import requests as requests_table

from .conftest import PROXY_KEY, REPO, make_config
from .mock_vendor import MockVendor
from .processes import free_port, serve

CHROMIUM = "/usr/bin/chromium"
ADMIN_KEY = "pp-console-admin-key-for-the-suite"
HR_KEY = "pp-console-hr-key-for-the-suite"
VIEWER_KEY = "pp-console-viewer-key-for-the-suite"
AUDITOR_KEY = "pp-console-named-auditor-key-for-the-suite"
EMAIL = "maria.gonzalez@gonzalez-family.net"
CARD = "4111 1111 1111 1111"
MARKUP = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
INJECTION = MARKUP + " What does this do?"


@dataclass
class Console:
    url: str
    database: Path
    policies: Path
    shots: Path
    ids: dict[str, str]  # what each recorded request was sent for -> its request id

    def shot(self, page: Page, name: str) -> None:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000


@pytest.fixture(scope="module")
def console(session_vendor: MockVendor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A proxy process with an admin key, and the traffic the pages show."""
    session_vendor.reset()
    tmp = tmp_path_factory.mktemp("console")
    policies = tmp / "policies"
    shutil.copytree(REPO / "policies", policies)
    keys = [
        {"name": "suite", "team": "qa", "sha256": hash_api_key(PROXY_KEY)},
        {"name": "hr-laptop", "team": "hr", "sha256": hash_api_key(HR_KEY)},
    ]
    config = make_config(
        session_vendor.url,  # type: ignore[attr-defined]
        tmp,
        policies=str(policies),
        keys=keys,
        admin={
            "sha256": hash_api_key(ADMIN_KEY),
            "keys": [
                {"name": "ann-viewer", "sha256": hash_api_key(VIEWER_KEY), "role": "viewer"},
                {"name": "bo-auditor", "sha256": hash_api_key(AUDITOR_KEY), "role": "auditor"},
            ],
        },
        detection={"processes": 0},
    )
    path = tmp / "proxy.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)))
    port = free_port()
    process = serve(path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        ids = _send_traffic(url)
        database = tmp / "proxy.db"
        _wait_recorded(database, len(ids))
        shots = tmp_path_factory.mktemp("console-screenshots", numbered=False)
        yield Console(url, database, policies, shots, ids)
    finally:
        process.terminate()
        process.wait(30)


def _send_traffic(url: str) -> dict[str, str]:
    ids = {}
    with openai.OpenAI(base_url=url + "/v1", api_key=PROXY_KEY, max_retries=0) as client:
        for name, text in [
            ("email", f"Please write to Maria Gonzalez at {EMAIL} about the invoice."),
            ("clean", "What is the capital of France?"),
            ("markup", INJECTION),
        ]:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
            )
            ids[name] = raw.headers["x-proxy-request-id"]
        with pytest.raises(openai.BadRequestError) as blocked:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Charge {CARD}"}]
            )
        ids["card"] = blocked.value.response.headers["x-proxy-request-id"]
    with anthropic.Anthropic(base_url=url, api_key=HR_KEY, max_retries=0) as claude:
        raw_message = claude.messages.with_raw_response.create(
            model="claude-3-5-haiku-latest",
            max_tokens=50,
            messages=[{"role": "user", "content": "Call Peter Parker on +1 202 555 0143 about the review."}],
        )
        ids["anthropic"] = raw_message.headers["x-proxy-request-id"]
    return ids


def _wait_recorded(database: Path, count: int) -> None:
    engine = create_engine(f"sqlite:///{database}")
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                if connection.execute(select(func.count()).select_from(requests_table)).scalar_one() >= count:
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("the proxy did not record the traffic")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def signed_in(browser: Browser, console: Console) -> Iterator[Page]:
    """A fresh browser context, signed in through the form."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, console.url, ADMIN_KEY)
    yield page
    context.close()


def _sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url + "/console")
    page.get_by_label("Admin key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def _cookie(context: BrowserContext) -> dict[str, object]:
    [cookie] = [dict(c) for c in context.cookies() if c["name"] == "privacy_proxy_console"]
    return cookie


def test_sign_in_refuses_a_wrong_key_and_sets_an_httponly_cookie_for_the_admin_key(
    browser: Browser, console: Console
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(console.url + "/console/requests")
    expect(page).to_have_url(re.compile(r"/console/login$"))  # no session: the sign-in page
    console.shot(page, "sign-in")
    _sign_in(page, console.url, PROXY_KEY)  # a proxy key is not an admin key
    expect(page.get_by_role("alert")).to_have_text("That admin key was not accepted.")
    assert not [c for c in context.cookies() if c["name"] == "privacy_proxy_console"]
    _sign_in(page, console.url, ADMIN_KEY)
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    cookie = _cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert ADMIN_KEY not in str(cookie["value"])
    copy = browser.new_context()  # the same cookie, copied into another browser, works until sign-out
    copy.add_cookies([{"name": "privacy_proxy_console", "value": str(cookie["value"]), "url": console.url}])
    stolen = copy.new_page()
    stolen.goto(console.url + "/console/requests")
    expect(stolen.get_by_role("heading", name="Requests")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto(console.url + "/console/requests")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    stolen.goto(console.url + "/console/requests")  # the copy still carries the signed cookie: refused
    expect(stolen).to_have_url(re.compile(r"/console/login$"))
    refused = httpx.get(
        console.url + "/console/requests", cookies={"privacy_proxy_console": str(cookie["value"])}, timeout=10
    )
    assert refused.status_code == 303 and refused.headers["location"] == "/console/login"
    copy.close()
    context.close()


def test_requests_are_listed_and_filtered_by_decision_team_and_entity_type(signed_in: Page, console: Console) -> None:
    page = signed_in
    rows = page.locator("table.requests tbody tr")
    expect(rows).to_have_count(len(console.ids))
    console.shot(page, "requests")
    page.get_by_label("Decision").select_option("block")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("CREDIT_CARD")
    expect(rows.first).to_contain_text("default/payment-cards")
    # the card in any written form; not its first four digits alone, which a random hex token on
    # the page (the CSRF token, a request id) contains now and then
    content = page.content()
    assert CARD not in content and not re.search(r"4111[ -]?1111[ -]?1111", content)
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Team").fill("hr")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("claude-3-5-haiku-latest")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Entity type").fill("EMAIL_ADDRESS")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    assert "entity=EMAIL_ADDRESS" in page.url and EMAIL not in page.url
    console.shot(page, "requests-filtered")
    for name, value, expected in [
        ("Rule (policy/rule)", "payment-cards", "card"),
        ("Rule (policy/rule)", "default/payment-cards", "card"),
        ("Policy (id or id@version)", "hr@2", "anthropic"),
        ("Policy (id or id@version)", "hr", "anthropic"),
    ]:
        page.get_by_role("link", name="Clear").click()
        page.get_by_label(name).fill(value)
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/console/requests/{console.ids[expected]}")
    page.get_by_label("Policy (id or id@version)").fill("h%")  # a LIKE wildcard is a character, not a pattern
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_text(["No request matches these filters."])


def test_request_detail_marks_findings_and_shows_the_original_only_when_asked_with_an_audit_row(
    signed_in: Page, console: Console
) -> None:
    page = signed_in
    request_id = console.ids["email"]
    page.goto(f"{console.url}/console/requests/{request_id}")
    marks = page.locator("section.slot mark")
    expect(marks).to_have_count(2)
    expect(marks.nth(0)).to_contain_text("<PERSON_1>")
    expect(marks.nth(0)).to_contain_text("default/contact-details")
    expect(marks.nth(1)).to_contain_text("<EMAIL_ADDRESS_1>")
    assert EMAIL not in page.content() and "Maria Gonzalez" not in page.content()
    console.shot(page, "request-detail")
    page.get_by_role("link", name=re.compile(r"^the text of this set")).click()
    expect(page.locator("pre.policy-text").first).to_contain_text("contact-details")
    page.go_back()
    before = len(audit_rows(create_engine(f"sqlite:///{console.database}"), action="read_original"))
    page.once("dialog", lambda dialog: dialog.accept())  # the page asks before an audited read
    page.get_by_role("button", name="Show original (audited)").click()
    expect(page.locator("pre.original").first).to_contain_text(EMAIL)
    assert EMAIL not in page.url
    console.shot(page, "request-original")
    rows = audit_rows(create_engine(f"sqlite:///{console.database}"), action="read_original")
    assert len(rows) == before + 1
    assert rows[0]["target"] == request_id and rows[0]["actor"].startswith("admin:")
    assert EMAIL not in str(rows[0])


def test_recorded_markup_is_shown_as_text_and_never_runs(signed_in: Page, console: Console) -> None:
    page = signed_in
    response = page.goto(f"{console.url}/console/requests/{console.ids['markup']}")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("section.slot").first).to_contain_text(MARKUP)
    assert page.evaluate("window.pwned") is None
    assert page.locator("section.slot img, section.slot script").count() == 0


def test_a_post_without_the_forms_csrf_token_is_refused(signed_in: Page, console: Console) -> None:
    cookies = {c["name"]: c["value"] for c in signed_in.context.cookies()}
    target = f"{console.url}/console/requests/{console.ids['email']}/original"
    refused = httpx.post(target, cookies=cookies, data={"csrf": "forged"})
    assert refused.status_code == 403 and EMAIL not in refused.text
    cross_site = httpx.post(target, cookies=cookies, data={}, headers={"origin": "https://evil.example"})
    assert cross_site.status_code == 403


def test_the_csv_download_holds_the_filtered_requests(signed_in: Page, console: Console) -> None:
    page = signed_in
    page.get_by_label("Decision").select_option("transform")
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    lines = Path(download_info.value.path()).read_text().splitlines()
    assert lines[0].startswith("id,created_at,team")
    assert {line.split(",")[0] for line in lines[1:]} == {console.ids["email"], console.ids["anthropic"]}
    assert EMAIL not in "".join(lines)


def test_the_requests_page_works_from_the_keyboard_and_on_a_narrow_window(browser: Browser, console: Console) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    _sign_in(page, console.url, ADMIN_KEY)
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(40):  # tab through the filters to the first request's link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('table') !== null && document.activeElement.tagName === 'A'"):
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/console/requests/[\w-]+$"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a narrow window"
    console.shot(page, "request-detail-narrow")
    context.close()


def test_the_playground_runs_the_proxys_scan_on_a_text_and_on_a_whole_body(signed_in: Page, console: Console) -> None:
    page = signed_in
    page.get_by_role("link", name="Playground").click()
    page.get_by_label("Text or body").fill(f"Please write to Maria Gonzalez at {EMAIL} today.")
    page.get_by_role("button", name="Scan").click()
    expect(page.get_by_role("heading", name="Decision: transform")).to_be_visible()
    marks = page.locator("section.slot mark")
    expect(marks).to_have_count(2)
    expect(marks.nth(1)).to_contain_text("<EMAIL_ADDRESS_1>")
    findings = page.locator("table.findings tbody")
    expect(findings).to_contain_text("default/contact-details")
    assert EMAIL not in findings.inner_text()  # values are masked in the findings
    console.shot(page, "playground")
    page.get_by_label("Team", exact=True).fill("hr")
    page.get_by_label("Model", exact=True).fill("claude-3-5-haiku-latest")  # not "Text at model", a slot
    page.get_by_label("Endpoint", exact=True).select_option("anthropic-messages")
    page.get_by_label("a whole request body (JSON)").check()
    body = {
        "model": "claude-3-5-haiku-latest",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": f"Card {CARD}"}],
    }
    page.get_by_label("Text or body").fill(json.dumps(body))
    page.get_by_role("button", name="Scan").click()
    expect(page.get_by_role("heading", name="Decision: block")).to_be_visible()
    expect(page.locator(".result")).to_contain_text("hr@2")
    expect(page.locator(".result")).to_contain_text("payment-cards")
    console.shot(page, "playground-blocked")
    page.get_by_label("Text or body").fill("{not json")
    page.get_by_role("button", name="Scan").click()
    expect(page.get_by_role("alert")).to_have_text("The request body is not valid JSON (line 1, column 2).")
    page.get_by_label("Text or body").fill(
        '{"model": "gpt-4o", "messages": []' + ', "m": ' + "[" * 100 + "]" * 100 + "}"
    )
    page.get_by_role("button", name="Scan").click()
    expect(page.get_by_role("alert")).to_contain_text("more than 64 levels deep")


def test_trends_count_requests_blocks_and_findings_per_day_team_and_rule(signed_in: Page, console: Console) -> None:
    page = signed_in
    page.get_by_role("link", name="Trends").click()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    page.get_by_text("Requests per day (table)").click()
    row = page.locator("table.per-day tbody tr", has=page.get_by_role("rowheader", name=today))
    cells = row.locator("td").all_inner_texts()
    assert sum(int(c) for c in cells) == len(console.ids) and cells[2] == "1"  # allow, transform, block, none
    expect(page.locator("svg.chart").first.locator("rect title").first).to_contain_text(today)
    expect(page.locator("table.teams tbody tr", has_text="qa")).to_contain_text("1")
    expect(page.locator("table.teams tbody tr", has=page.get_by_role("rowheader", name="hr"))).to_have_text(
        re.compile(r"hr\s*1\s*0")
    )
    expect(page.locator("table.entities")).to_contain_text("CREDIT_CARD")
    expect(page.locator("table.rules")).to_contain_text("default/payment-cards")
    console.shot(page, "trends")
    page.locator("table.teams").get_by_role("link", name="hr", exact=True).click()  # per day, one team
    expect(page.get_by_role("status")).to_contain_text("Only team hr")
    page.get_by_text("Requests per day (table)").click()
    cells = row.locator("td").all_inner_texts()
    assert sum(int(c) for c in cells) == 1 and cells[2] == "0"  # hr sent one request, not blocked
    expect(page.locator("table.teams tbody tr")).to_have_count(1)
    page.get_by_label("Last").select_option("7")
    page.get_by_role("button", name="Show").click()
    assert "team=hr" in page.url and "days=7" in page.url
    page.get_by_role("link", name="Show every team and model").click()
    page.get_by_label("Last").select_option("1")
    page.get_by_role("button", name="Show").click()
    assert "days=1" in page.url
    expect(page.locator("table.per-day tbody tr")).to_have_count(1)


def test_policies_show_versions_and_rules_and_a_failed_reload_names_the_file_and_keeps_them(
    signed_in: Page, console: Console
) -> None:
    page = signed_in
    page.get_by_role("link", name="Policies").click()
    expect(page.get_by_role("heading", name=re.compile(r"^default@\d+ "))).to_be_visible()
    hr = page.locator("#policy-hr")
    expect(hr).to_contain_text("teams: hr, people")
    expect(hr.locator("table.rules")).to_contain_text("contact-details")
    console.shot(page, "policies")
    broken = console.policies / "broken.yaml"
    broken.write_text("id: broken\nrules:\n  - id: x\n    detect: [NO_SUCH_ENTITY]\n    action: mask\n")
    try:
        page.get_by_role("button", name="Reload the policy files now").click()
        expect(page.get_by_role("alert")).to_have_text("The reload failed; the policies below stay in force.")
        expect(page.locator("pre.reload-error")).to_contain_text("broken.yaml")
        expect(page.get_by_role("heading", name=re.compile(r"^default@\d+ "))).to_be_visible()
        console.shot(page, "policies-reload-failed")
    finally:
        broken.unlink()
    page.get_by_role("button", name="Reload the policy files now").click()
    expect(page.get_by_role("status")).to_have_text("Reloaded: the policies below are in force.")
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Action").fill("policy_reload")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit tbody tr").first).to_contain_text("admin:")
    # each click is one audit row naming who clicked (the watcher's own reloads are `serve:reload`)
    engine = create_engine(f"sqlite:///{console.database}")
    clicked = [
        row["action"]
        for action in ("policy_reload", "policy_reload_failed", "reload_policies")
        for row in audit_rows(engine, action=action)
        if row["actor"].startswith("admin:")
    ]
    assert clicked == ["policy_reload", "policy_reload_failed"]


def test_the_audit_page_lists_reads_of_originals_with_a_link_to_the_request(signed_in: Page, console: Console) -> None:
    page = signed_in
    page.goto(f"{console.url}/console/requests/{console.ids['anthropic']}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Show original (audited)").click()
    expect(page.locator("pre.original").first).to_contain_text("Peter Parker")
    page.get_by_role("link", name="Audit").click()
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    assert "Peter Parker" not in page.content()
    # the policy watcher may write its own rows meanwhile (an earlier test edited the files)
    page.get_by_label("Action").fill("read_original")
    page.get_by_role("button", name="Filter").click()
    first = page.locator("table.audit tbody tr").first
    expect(first).to_contain_text("read_original")
    expect(first.get_by_role("link")).to_have_attribute("href", f"/console/requests/{console.ids['anthropic']}")
    assert "Peter Parker" not in page.content()
    console.shot(page, "audit")


def test_a_replay_of_a_draft_shows_what_would_change_per_rule_and_is_audited(
    signed_in: Page, console: Console, tmp_path: Path
) -> None:
    draft = tmp_path / "draft"
    shutil.copytree(console.policies, draft)
    default = draft / "default.yaml"
    text = default.read_text()
    rule = re.compile(r"(- id: contact-details\n(?:    .*\n)*?    action: )pseudonymize")
    assert rule.search(text)
    default.write_text(rule.sub(r"\1allow", text, count=1))
    page = signed_in
    page.get_by_role("link", name="Replay").click()
    page.get_by_label("Draft policy folder (on the proxy's host)").fill(str(draft))
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("heading", name=re.compile(r"^1 of \d+ requests would change$"))).to_be_visible()
    expect(page.locator("table.decisions tr.changed")).to_have_text(re.compile(r"transform\s*allow\s*1"))
    by_rule = page.locator("table.by-rule tbody")
    expect(by_rule).to_contain_text("contact-details")
    expect(by_rule.locator("tr", has_text="EMAIL_ADDRESS")).to_have_text(
        re.compile(r"EMAIL_ADDRESS\s*pseudonymize\s*allow\s*1")
    )
    assert EMAIL not in page.content()
    console.shot(page, "replay")
    rows = audit_rows(create_engine(f"sqlite:///{console.database}"), action="read_original")
    assert rows[0]["target"] == f"policy replay {draft}" and rows[0]["details"]["changed"] == 1
    page.get_by_label("Draft policy folder (on the proxy's host)").fill(str(tmp_path / "missing"))
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("alert")).to_contain_text("must be a folder of policy files")
    month_ago = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 30 * 86400))
    page.get_by_label("Draft policy folder (on the proxy's host)").fill(str(draft))
    page.get_by_label("From (UTC)").fill(month_ago)
    page.get_by_role("button", name="Replay").click()  # too long to wait for: the CLI's job
    expect(page.get_by_role("alert")).to_contain_text("at most 7 days")
    expect(page.get_by_role("alert")).to_contain_text("privacy-proxy policy replay")
    assert len(audit_rows(create_engine(f"sqlite:///{console.database}"), action="read_original")) == len(rows)


def test_a_viewer_browses_but_may_not_open_originals_and_a_named_auditor_is_audited_by_name(
    browser: Browser, console: Console
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, console.url, VIEWER_KEY)
    expect(page.locator(".actor")).to_have_text("admin:ann-viewer")
    request_id = console.ids["email"]
    page.goto(f"{console.url}/console/requests/{request_id}")
    expect(page.get_by_text("only an auditor's admin key may open them")).to_be_visible()
    expect(page.get_by_role("button", name="Show original (audited)")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    engine = create_engine(f"sqlite:///{console.database}")
    before = len(audit_rows(engine, action="read_original"))
    forced = page.request.post(f"{console.url}/console/requests/{request_id}/original", form={"csrf": csrf or ""})
    assert forced.status == 403 and "auditor" in forced.text() and EMAIL not in forced.text()
    context.close()
    api = f"{console.url}/admin/requests/{request_id}"
    viewer = httpx.get(api, params={"include_original": "true"}, headers={"authorization": f"Bearer {VIEWER_KEY}"})
    assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "role_not_allowed"
    assert httpx.get(api, headers={"authorization": f"Bearer {VIEWER_KEY}"}).status_code == 200
    assert len(audit_rows(engine, action="read_original")) == before
    auditor = httpx.get(api, params={"include_original": "true"}, headers={"authorization": f"Bearer {AUDITOR_KEY}"})
    assert auditor.status_code == 200 and EMAIL in auditor.text
    assert audit_rows(engine, action="read_original")[0]["actor"] == "admin:bo-auditor"


def test_policy_history_lists_loaded_sets_shows_a_versions_text_and_diffs_two_versions(
    signed_in: Page, console: Console
) -> None:
    page = signed_in
    extra = console.policies / "trial.yaml"
    rule = "id: trial\nversion: {v}\napplies_to: {{teams: [nobody]}}\nrules:\n  - id: ids\n    detect: [US_SSN]\n    action: {a}\n"
    try:
        for version, action in ((1, "mask"), (2, "redact")):
            extra.write_text(rule.format(v=version, a=action))
            page.goto(console.url + "/console/policies")
            page.get_by_role("button", name="Reload the policy files now").click()
            expect(page.get_by_role("status")).to_have_text("Reloaded: the policies below are in force.")
        history = page.locator("table.history tbody tr")
        expect(history.first).to_contain_text("trial@2")
        expect(history.nth(1)).to_contain_text("trial@1")
        for name, label in (("Older version", "trial@1 "), ("Newer version", "trial@2 ")):
            choice = page.get_by_label(name)
            choice.select_option(choice.locator("option", has_text=label).get_attribute("value"))
        page.get_by_role("button", name="Show the differences").click()
        expect(page.locator("pre.diff del").filter(has_text="action: mask")).to_have_count(1)
        expect(page.locator("pre.diff ins").filter(has_text="action: redact")).to_have_count(1)
        console.shot(page, "policy-diff")
        page.goto(console.url + "/console/policies")
        page.locator("#policy-trial").get_by_role("link").first.click()
        expect(page.locator("pre.policy-text")).to_contain_text("action: redact")
    finally:
        extra.unlink()
        page.goto(console.url + "/console/policies")
        page.get_by_role("button", name="Reload the policy files now").click()
        expect(page.get_by_role("status")).to_be_visible()
    missing = page.goto(console.url + "/console/policies/text/0000")
    assert missing is not None and missing.status == 404


@pytest.mark.parametrize(
    ("original", "forwarded", "spans", "expected"),
    [
        (
            "Mail ann@x.org now",
            "Mail <EMAIL_ADDRESS_1> now",
            [Span(5, 14, "E")],
            ["Mail ", ("<EMAIL_ADDRESS_1>", "E"), " now"],
        ),
        ("Ann Lee", "<PERSON_1>", [Span(0, 7, "P")], [("<PERSON_1>", "P")]),
        (
            "a Bo Cy z",
            "a <P_1> <P_2> z",
            [Span(2, 4, "P"), Span(5, 7, "P")],
            ["a ", ("<P_1>", "P"), " ", ("<P_2>", "P"), " z"],
        ),
        ("card 4111-1111", "card ****-1111", [Span(5, 14, "M"), Span(5, 9, "N")], ["card ", ("****-1111", "N; M")]),
        ("keep Ann", "keep Ann", [Span(5, 8, "A")], ["keep ", ("Ann", "A")]),  # an `allow` finding is marked too
        ("no findings", "no findings", [], ["no findings"]),
        ("Ann", "something else entirely", [Span(0, 2, "P")], None),  # not the original rewritten: unmarked
        ("no findings", "but changed", [], None),
    ],
)
def test_when_findings_are_rewritten_then_their_pieces_of_the_forwarded_text_are_marked(
    original: str, forwarded: str, spans: list[Span], expected: list[str | tuple[str, str]] | None
) -> None:
    segments = highlight(original, forwarded, spans)
    if expected is None:
        assert segments is None
    else:
        assert segments == [Segment(*e) if isinstance(e, tuple) else Segment(e) for e in expected]


def _metric(url: str, name: str, label: str) -> float:
    lines = httpx.get(url + "/metrics", timeout=10).text.splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(f'{name}_total{{result="{label}"}}'))


def test_repeated_wrong_keys_from_one_client_are_refused_with_retry_after_and_counted(
    browser: Browser, console: Console
) -> None:
    """Its own client address (uvicorn takes X-Forwarded-For from loopback), so other tests
    signing in from 127.0.0.1 are not throttled."""
    guess = "pp-console-guessed-key-0123456789"
    before = _metric(console.url, "privacy_proxy_console_sign_ins", "throttled")
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.77"})
    page = context.new_page()
    for _ in range(5):
        _sign_in(page, console.url, guess)
        expect(page.get_by_role("alert")).to_have_text("That admin key was not accepted.")
    with page.expect_response(lambda r: r.url.endswith("/console/login") and r.request.method == "POST") as sent:
        _sign_in(page, console.url, ADMIN_KEY)  # even the right key waits: guessing must not go on
    refused = sent.value
    assert refused.status == 429 and 250 <= int(refused.headers["retry-after"]) <= 300
    expect(page.get_by_role("alert")).to_contain_text("Too many refused sign-ins from this address")
    assert not [c for c in context.cookies() if c["name"] == "privacy_proxy_console"]
    console.shot(page, "sign-in-throttled")
    assert _metric(console.url, "privacy_proxy_console_sign_ins", "throttled") == before + 1
    assert guess not in httpx.get(console.url + "/metrics", timeout=10).text
    assert guess not in (console.database.parent / "serve.log").read_text()
    context.close()
    other = browser.new_context()  # another client still signs in
    page = other.new_page()
    _sign_in(page, console.url, ADMIN_KEY)
    expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    other.close()


def test_requests_are_filtered_by_key_model_and_time(signed_in: Page, console: Console) -> None:
    page = signed_in
    rows = page.locator("table.requests tbody tr")
    tomorrow = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 86400))
    yesterday = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() - 86400))
    for label, value, count in [
        ("Key", "hr-laptop", 1),
        ("Key", "suite", len(console.ids) - 1),
        ("Model", "claude-3-5-haiku-latest", 1),
        ("From (UTC)", yesterday, len(console.ids)),
        ("From (UTC)", tomorrow, 0),
        ("Until (UTC)", yesterday, 0),
    ]:
        page.get_by_role("link", name="Clear").click()
        page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name="Filter").click()
        if count:
            expect(rows).to_have_count(count)
        else:
            expect(rows).to_have_text(["No request matches these filters."])
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Key", exact=True).fill("hr-laptop")
    page.get_by_role("button", name="Filter").click()
    expect(rows.first.get_by_role("link")).to_have_attribute("href", f"/console/requests/{console.ids['anthropic']}")
