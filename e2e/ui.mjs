#!/usr/bin/env node
// End-to-end test of Rapport's web UI in Debian's Chromium, driven by playwright-core.
//
//   node e2e/ui.mjs BASE_URL [SCREENSHOTS_DIR]
//
// BASE_URL is a running `rapport serve` on a demo database (`rapport demo --no-serve`);
// SCREENSHOTS_DIR defaults to target/e2e-screenshots (ignored by git), or to the tracked
// docs/screenshots when RAPPORT_REFRESH_SCREENSHOTS=1, so that a test run never changes
// tracked files unless asked to. The browser is
// $RAPPORT_CHROMIUM or /usr/bin/chromium; nothing is ever downloaded. The script edits one
// customer, so run it against a throwaway database. Exit status 0 means every check passed;
// on a failure it prints the failed step and what it saw, saves the page to
// e2e/test-results/ and exits 1.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.argv[2] || process.env.BASE_URL || "").replace(/\/+$/, "");
const REFRESH = process.env.RAPPORT_REFRESH_SCREENSHOTS === "1";
const SHOTS = path.resolve(
  process.argv[3] || process.env.SCREENSHOTS_DIR || path.join(here, "..", ...(REFRESH ? ["docs", "screenshots"] : ["target", "e2e-screenshots"])),
);
const RESULTS = path.join(here, "test-results");
const CHROMIUM = process.env.RAPPORT_CHROMIUM || "/usr/bin/chromium";
const ADMIN_EMAIL = process.env.RAPPORT_E2E_EMAIL || "admin@rapport.test";
const ADMIN_PASSWORD = process.env.RAPPORT_E2E_PASSWORD || "rapport-demo-password";
const VIEWPORT = { width: 1280, height: 800 };
// The demo's support agent, who opens a ticket another agent is replying to.
const SECOND_AGENT = process.env.RAPPORT_E2E_SECOND_EMAIL || "sue@rapport.test";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

if (!BASE) {
  console.error("usage: node e2e/ui.mjs BASE_URL [SCREENSHOTS_DIR]   (e.g. http://127.0.0.1:8080 docs/screenshots)");
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(`E2E FAILED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set RAPPORT_CHROMIUM)`);
  process.exit(1);
}

class Failure extends Error {}
let step = "start";
const log = (msg) => console.log(`[e2e] ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}
const url = (p) => BASE + p;
const pathOf = (page) => new URL(page.url()).pathname;
const text = async (loc) => ((await loc.innerText()) || "").replace(/\s+/g, " ").trim();
/** Minor units of an amount as the pages print it, with its two decimals ("1,748.00 USD"). */
const minor = (s) => Number(s.replace(/[^0-9-]/g, "") || 0);

/** The dashboard's figures summed over the table rows `selector` picks: the count in cell
 * `countCell` and the amount in cell `amountCell`. */
async function dashboardSum(selector, countCell, amountCell) {
  await page.goto(url("/dashboard"));
  await page.locator("#sales-chart").waitFor();
  const rows = page.locator(selector);
  let count = 0;
  let amount = 0;
  for (let i = 0; i < (await rows.count()); i++) {
    const cells = rows.nth(i).locator("td");
    count += Number(await text(cells.nth(countCell)));
    amount += minor(await text(cells.nth(amountCell)));
  }
  return { count, amount };
}
const fold = (s) => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  // Park the pointer and caret so that hover styles and a blinking cursor do not vary.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
  log(`screenshot ${path.relative(process.cwd(), file) || file}`);
}

/** Text of the <dd> that follows the <dt> named `label` in the first card of a detail page. */
async function field(page, label) {
  return text(page.locator(`section.card dl dt:text-is("${label}") + dd`).first());
}

/** The pipeline board: drag and drop moves a deal, a stale card is put right, a lost column
 * asks why, a closed card reopens, and the learned win probabilities show. */
async function boardChecks() {
  step = "the Deals board renders its columns and learned win probabilities";
  // Wide enough for every column: a drag that scrolls the board sideways would start on
  // whatever card then lies under the pointer.
  await page.setViewportSize({ width: 1680, height: 900 });
  await page.goto(url("/pipelines/board"));
  check(/^\/pipelines\/\d+\/board$/.test(pathOf(page)), `Deals did not open a board: ${page.url()}`);
  const col = (p, stage) => p.locator(`section.column[data-stage="${stage}"]`);
  // Dropped on the column's head: a long column's middle may be far below, and scrolling
  // there while the drag starts would pick up another card.
  const head = { targetPosition: { x: 60, y: 16 } };
  check((await page.locator("section.column").count()) >= 6, "the Sales board has fewer than six columns");
  await page.locator("#weighted", { hasText: "ROC AUC" }).waitFor();
  await page.locator("article.deal .deal-win", { hasText: /^Win \d+%/ }).first().waitFor();
  log(`board: ${await text(page.locator("#weighted"))}`);

  step = "dragging a card to the next column moves the deal";
  const card = col(page, "qualification").locator("article.deal").first();
  const id = await card.getAttribute("data-id");
  const version = Number(await card.getAttribute("data-version"));
  const other = await context.newPage();
  await other.setViewportSize({ width: 1680, height: 900 });
  await other.goto(page.url());
  await card.dragTo(col(page, "needs_analysis"), head);
  await col(page, "needs_analysis").locator(`#deal-${id}[data-version="${version + 1}"]`).waitFor();
  check((await text(page.locator("#board-status"))).includes("moved to Needs analysis"), "no confirmation of the move");

  step = "a card someone moved first answers 412, says so and shows where the deal is";
  await other.locator(`#deal-${id}`).dragTo(col(other, "proposal"), head);
  await other.locator("#board-status", { hasText: "Someone moved" }).waitFor();
  await col(other, "needs_analysis").locator(`#deal-${id}[data-version="${version + 1}"]`).waitFor();
  await other.close();

  step = "dropping a card on Lost asks for the reason, and a closed card offers Reopen";
  page.once("dialog", (d) => d.accept("Chose a cheaper tool"));
  await page.locator(`#deal-${id}`).dragTo(col(page, "lost"), head);
  const lost = col(page, "lost").locator(`#deal-${id}[data-status="lost"]`);
  await lost.waitFor();
  await shot(page, "board.png");
  await lost.locator("form.reopen button").click();
  await col(page, "qualification").locator(`#deal-${id}[data-status="open"]`).waitFor();

  step = "the deal page shows the moves in its stage history";
  await Promise.all([page.waitForURL(new RegExp(`/opportunities/${id}$`)), page.locator(`#deal-${id} a.deal-name`).click()]);
  const rows = await page.locator("section.card table.list tbody tr").allInnerTexts();
  check(rows.length >= 4 && rows.some((r) => r.includes("Lost")), `the history does not show the moves: ${rows.join(" | ")}`);
  await page.locator("#deal-win", { hasText: "learned" }).waitFor();
  log(`deal ${id}: ${rows.length} history rows; ${await text(page.locator("#deal-win p.win-big"))}`);
  await shot(page, "opportunity.png");
  await page.setViewportSize(VIEWPORT);
}

/** Converting a lead: the Convert button on its row, the prefilled form, the deal on the board
 * dragged to Won, and the person's timeline showing the conversion and the win. */
async function convertChecks(leadName) {
  step = "the lead's Convert button opens the prefilled conversion form";
  await page.goto(url("/leads?q=" + encodeURIComponent(leadName)));
  const row = page.locator("#results table.list tbody tr", { hasText: leadName });
  await Promise.all([page.waitForURL(/\/customers\/\d+\/convert$/), row.locator("a.button", { hasText: "Convert" }).click()]);
  const personPath = pathOf(page).replace(/\/convert$/, "");
  const convert = page.locator("form#convert-form");
  check((await convert.locator('input[name="name"]').inputValue()) === `${leadName} deal`, "the deal's name is not prefilled");
  check((await convert.locator('select[name="pipeline_id"] option:checked').innerText()).trim() === "Sales", "the default pipeline is not chosen");

  step = "a wrong amount is shown beside its field, and nothing is converted";
  await convert.locator('input[name="amount_minor"]').fill("lots");
  await convert.locator('input[name="currency"]').fill("EUR");
  await Promise.all([page.waitForNavigation(), convert.locator('button[type="submit"]').click()]);
  check(await page.locator('form#convert-form .field-error[data-field="amount_minor"]').isVisible(), "no error beside the amount");

  step = "converting opens the new deal's page";
  // The largest deal of its column, so that it heads the board's first column.
  await page.locator('form#convert-form input[name="amount_minor"]').fill("9999999.00");
  await page.locator('form#convert-form input[name="company_name"]').fill(`Wanda Works ${leadName.slice(-6)}`);
  await Promise.all([page.waitForURL(/\/opportunities\/\d+$/), page.locator('form#convert-form button[type="submit"]').click()]);
  const id = pathOf(page).split("/").pop();
  check((await text(page.locator("h1"))).startsWith(`${leadName} deal`), "the deal page does not show the new deal");
  log(`lead "${leadName}" converted into deal ${id}`);

  // The leaderboard counts the deals won this quarter (the dashboard's default span), in every
  // currency: their minor units are summed only to see the change by one deal.
  const wonRows = "#leaderboard tbody tr[data-user]";
  const wonBefore = await dashboardSum(wonRows, 2, 3);

  step = "the converted deal is on the board, and dragging it to Won wins it";
  await page.setViewportSize({ width: 1680, height: 900 });
  await page.goto(url("/pipelines/board"));
  const col = (stage) => page.locator(`section.column[data-stage="${stage}"]`);
  const card = col("qualification").locator(`#deal-${id}`);
  await card.waitFor();
  await card.dragTo(col("won"), { targetPosition: { x: 60, y: 16 } });
  await col("won").locator(`#deal-${id}[data-status="won"]`).waitFor();
  await page.setViewportSize(VIEWPORT);

  step = "the won deal is on the dashboard's leaderboard";
  const wonAfter = await dashboardSum(wonRows, 2, 3);
  check(
    wonAfter.count === wonBefore.count + 1 && wonAfter.amount === wonBefore.amount + 999999900,
    `won deals went from ${JSON.stringify(wonBefore)} to ${JSON.stringify(wonAfter)}, not by one deal of 9,999,999.00`,
  );
  log(`dashboard: won deals ${JSON.stringify(wonBefore)} -> ${JSON.stringify(wonAfter)}`);

  step = "the person's timeline shows the conversion and the win, newest first";
  await page.goto(url(personPath));
  const events = page.locator("#timeline ol.events li.event");
  await events.first().waitFor();
  const kinds = await events.evaluateAll((els) => els.map((e) => e.dataset.kind));
  const won = kinds.indexOf("opportunity_won");
  const converted = kinds.indexOf("lead_status_changed");
  check(won >= 0 && converted > won, `the timeline does not show the win above the conversion: ${kinds.join(", ")}`);
  check((await text(events.nth(converted))).includes("Converted into a deal"), "the conversion event does not say so");
  check((await text(events.nth(won))).includes("Won"), "the win event does not say so");
  await shot(page, "timeline.png");
  log(`timeline: ${kinds.join(", ")}`);
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "rapport-e2e-chromium-"));
const problems = []; // JavaScript errors and 5xx responses seen on any page
let context;
let page;

/** Issue 11 §8: a customer opens a ticket on the public form, an agent assigns it, replies and
 * resolves it, the customer answers the survey from their ticket's page, and the rating shows
 * on the service dashboard. */
async function serviceChecks() {
  step = "the service dashboard shows its charts";
  await page.goto(url("/service"));
  await page.locator("#service-csat svg").waitFor();
  const answersBefore = Number(await text(page.locator("#csat-count")));
  check(answersBefore > 0, "the demo's surveys are not on the dashboard");

  step = "a customer opens a ticket on the public support form";
  const subject = `Printer on fire ${Date.now()}`;
  await page.goto(url("/support"));
  await page.locator('#support-form input[name="name"]').fill("Erika Mustermann");
  await page.locator('#support-form input[name="email"]').fill(`erika.${Date.now()}@example.com`);
  await page.locator('#support-form input[name="subject"]').fill(subject);
  await page.locator('textarea[name="message"]').fill("Smoke comes out of tray 2.");
  await Promise.all([page.waitForLoadState(), page.locator('#support-form button[type="submit"]').click()]);
  const link = await page.locator("#ticket-link").getAttribute("href");
  check(link && /^\/support\/tickets\/\d+\//.test(link), `no ticket link after submitting the form: ${link}`);
  const id = link.split("/")[3];

  step = "a second agent sees that another agent is replying";
  await page.goto(url(`/tickets/${id}`));
  check((await text(page.locator("#ticket-status"))) === "new", "the public form's ticket is not new");
  // Focusing the reply box tells the server (service.js); the other agent's page shows it.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/tickets/${id}/presence`) && r.request().method() === "POST" && r.ok()),
    page.locator('#reply textarea[name="body"]').focus(),
  ]);
  const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), "rapport-e2e-chromium-"));
  const other = await chromium.launchPersistentContext(otherDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: VIEWPORT });
  try {
    other.setDefaultTimeout(15_000);
    const sue = other.pages()[0] || (await other.newPage());
    await sue.goto(url(`/login?next=/tickets/${id}`));
    await sue.locator('form#login-form input[name="email"]').fill(SECOND_AGENT);
    await sue.locator('form#login-form input[name="password"]').fill(ADMIN_PASSWORD);
    await Promise.all([sue.waitForURL(new RegExp(`/tickets/${id}$`)), sue.locator('form#login-form button[type="submit"]').click()]);
    const notice = sue.locator("#replying");
    await notice.waitFor({ state: "visible" });
    const said = await text(notice);
    check(said === "Ada Admin is replying…", `the second agent sees "${said}", not that Ada Admin is replying`);
    check(!(await page.locator("#replying").isVisible()), "the replying agent is told about themselves");
    await shot(sue, "ticket-replying.png");
    log(`presence: Sue sees "${said}" on ticket #${id}`);
  } finally {
    await other.close().catch(() => {});
    fs.rmSync(otherDir, { recursive: true, force: true });
  }

  step = "an agent assigns the ticket and resolves it with a macro";
  await Promise.all([page.waitForURL(new RegExp(`/tickets/${id}$`)), page.locator('#ticket-actions button[value="assign"]').click()]);
  await page.locator('#macro-picker select[name="macro_id"]').selectOption({ label: "Solved, please confirm" });
  await Promise.all([page.waitForURL(new RegExp(`/tickets/${id}#conversation$`)), page.locator("#macro-picker button.primary").click()]);
  check((await text(page.locator("#ticket-status"))) === "resolved", "the macro did not resolve the ticket");
  check((await page.locator("#conversation").innerText()).includes("is solved"), "the macro's reply is not in the conversation");

  step = "the customer answers the survey from their ticket's page";
  await page.goto(url(link));
  check((await page.locator("#conversation, #support-ticket").innerText()).includes("is solved"), "the customer does not see the reply");
  await Promise.all([page.waitForURL(/\/support\/surveys\//), page.locator("#survey-link").click()]);
  await page.locator('input[name="csat"][value="5"]').check();
  await page.locator('input[name="nps"][value="9"]').check();
  await page.locator('textarea[name="comment"]').fill("Quick and friendly.");
  await page.locator('input[name="decision"][value="confirm"]').check();
  await Promise.all([page.waitForURL(/\/thanks$/), page.locator("#survey-submit").click()]);
  check((await text(page.locator("#survey-csat"))) === "5", "the thank-you page does not show the rating");
  check((await text(page.locator("#survey-ticket-status"))) === "closed", "confirming did not close the ticket");
  await shot(page, "survey-thanks.png");

  step = "the rating shows on the service dashboard";
  await page.goto(url("/service"));
  await page.locator("#service-csat svg").waitFor();
  const answersAfter = Number(await text(page.locator("#csat-count")));
  check(answersAfter === answersBefore + 1, `the dashboard counted ${answersBefore} then ${answersAfter} survey answers, not one more`);
  check((await text(page.locator("#csat-average"))) !== "—", "the dashboard shows no CSAT average");
  await shot(page, "service-dashboard.png");
  log(`service: ticket #${id} rated 5; dashboard answers ${answersBefore} -> ${answersAfter}`);

  step = "an admin adds a working calendar on /admin/sla";
  const calendar = `Berlin office ${Date.now()}`;
  await page.goto(url("/admin/sla"));
  const form = page.locator("#calendar-form");
  await form.locator('input[name="name"]').fill(calendar);
  await form.locator('input[name="time_zone"]').fill("Europe/Berlin");
  for (const day of ["monday", "tuesday", "wednesday", "thursday", "friday"])
    await form.locator(`input[name="week.${day}"]`).fill("09:00-12:00 13:00-17:00");
  await Promise.all([page.waitForURL((u) => u.pathname === "/admin/sla"), form.locator('button[type="submit"]').click()]);
  const row = page.locator("#calendars tbody tr", { hasText: calendar });
  check((await text(row)).includes("friday 09:00-12:00 13:00-17:00"), `the new calendar's hours are not listed: ${await text(row)}`);

  step = "an admin edits the calendar: a wrong period is named beside its field, the fix is saved";
  await Promise.all([page.waitForURL(/\/admin\/sla\/calendars\/\d+/), row.locator("a.edit-calendar").click()]);
  check((await form.locator('input[name="week.friday"]').inputValue()) === "09:00-12:00 13:00-17:00", "the edit form does not hold Friday's hours");
  await form.locator('input[name="week.friday"]').fill("9-1");
  await Promise.all([page.waitForLoadState(), form.locator('button[type="submit"]').click()]);
  const err = page.locator('#calendar-form .field-error[data-field="week.friday"]');
  check(await err.isVisible(), "no error beside Friday's hours");
  check((await text(err)).includes("9-1"), `Friday's error does not name the period: ${await text(err)}`);
  await shot(page, "sla-calendar-error.png");
  await form.locator('input[name="week.friday"]').fill("09:00-13:00");
  await form.locator('textarea[name="holidays"]').fill("2026-12-24\n2026-12-25");
  await Promise.all([page.waitForURL((u) => u.pathname === "/admin/sla"), form.locator('button[type="submit"]').click()]);
  const saved = await text(page.locator("#calendars tbody tr", { hasText: calendar }));
  check(saved.includes("friday 09:00-13:00") && saved.includes("2026-12-24, 2026-12-25"), `the edit was not saved: ${saved}`);
  log(`sla: calendar "${calendar}" added and edited`);
}

/** Issue 12: a segment built in the builder with its live count (a wrong value shown beside
 * its rule first), an email campaign for it, sent through the harness's SMTP receiver
 * (RAPPORT_E2E_MAILDIR), and a tracked link clicked in the recipient's browser: an immediate
 * click is a scanner's and moves nothing; a person's click later shows in the funnel and on
 * the person's timeline. */
async function marketingChecks() {
  const MAILDIR = process.env.RAPPORT_E2E_MAILDIR;
  const stamp = Date.now();
  const tag = `e2e-mk-${stamp}`;
  const email = `mk.${stamp}@example.com`;

  step = "a person to reach, tagged";
  await page.goto(url("/customers/new"));
  await page.locator('#customer-form input[name="name"]').fill(`Mara Kampagne ${stamp}`);
  await page.locator('#customer-form input[name="email"]').fill(email);
  await page.locator('#customer-form input[name="tags"]').fill(tag);
  await Promise.all([page.waitForURL(/\/customers\/\d+$/), page.locator('#customer-form button[type="submit"]').click()]);
  const personPath = pathOf(page);

  step = "the segment builder counts live and shows a wrong rule beside it";
  await page.goto(url("/marketing/segments/new"));
  const rule = page.locator("#rule-builder .rule").first();
  await rule.waitFor();
  await rule.locator("select.rule-field").selectOption("orders.total_spend");
  await rule.locator("input.rule-value").fill("lots");
  const error = rule.locator(".rule-error");
  await error.waitFor({ state: "visible" });
  check(/number/.test(await text(error)), `the wrong value's error beside its rule: "${await text(error)}"`);
  check((await text(page.locator("#live-count"))) === "—", "no count while the rule is wrong");
  await rule.locator("select.rule-field").selectOption("tag");
  await rule.locator("select.rule-op").selectOption("has");
  await rule.locator("input.rule-value").fill(tag);
  await page.waitForFunction(() => document.getElementById("live-count").textContent.trim() === "1");
  check(await error.isHidden(), "the error went once the rule was right");
  const segmentName = `Tagged ${stamp}`;
  await page.locator('#segment-form input[name="name"]').fill(segmentName);
  await Promise.all([page.waitForURL(/\/segments\/\d+$/), page.locator("#save-segment").click()]);
  check((await text(page.locator("#live-count"))) === "1", "the saved segment counts its one person");
  await shot(page, "segment-builder.png");
  await Promise.all([page.waitForURL(/\/customers\?segment_id=\d+/), page.locator("#see-people").click()]);
  const listed = await page.locator("#results table.list tbody tr").count();
  check(listed === 1 && (await text(page.locator("#results"))).includes(`Mara Kampagne ${stamp}`), `the people list filtered by the segment shows ${listed} rows`);

  step = "an email template with a link";
  await page.goto(url("/marketing/templates"));
  const tpl = page.locator('form[action="/marketing/templates"]');
  await tpl.locator('input[name="name"]').fill(`Offer ${stamp}`);
  await tpl.locator('input[name="subject"]').fill("An offer for {{first_name}}");
  await tpl.locator('textarea[name="text_body"]').fill(`Hello {{name}}, see ${BASE}/healthz\nUnsubscribe: {{unsubscribe_url}}`);
  await tpl.locator('textarea[name="html_body"]').fill(`<p>Hello {{name}}</p><a href="${BASE}/healthz">See the offer</a> <a href="{{unsubscribe_url}}">Unsubscribe</a>`);
  await Promise.all([page.waitForURL(/\/marketing\/templates\/\d+$/), tpl.locator('button[type="submit"]').click()]);

  step = "an email campaign for the segment";
  await page.goto(url("/marketing/campaigns"));
  await Promise.all([page.waitForURL(/\/campaigns\/new$/), page.locator("a.button.primary", { hasText: "New campaign" }).click()]);
  const form = page.locator("#campaign-form");
  await form.locator('input[name="name"]').fill(`Spring offer ${stamp}`);
  await form.locator('select[name="channel"]').selectOption("email");
  await form.locator('input[name="starts_on"]').fill("2026-01-01");
  await form.locator('input[name="ends_on"]').fill("2026-12-31");
  await form.locator('input[name="budget_minor"]').fill("500.00");
  await form.locator('input[name="currency"]').fill("USD");
  await form.locator('input.lookup[data-for="segment_id"]').fill(segmentName);
  await page.waitForFunction(() => document.querySelector('#campaign-form input[name="segment_id"]').value !== "");
  await Promise.all([page.waitForURL(/\/campaigns\/\d+$/), form.locator('button[type="submit"]').click()]);
  const campaignPath = pathOf(page);
  check((await text(page.locator("#campaign-status"))) === "planned", "a new campaign is planned");
  const buttons = await page.locator("#status-buttons form button").allInnerTexts();
  check(JSON.stringify(buttons.slice(0, 2)) === JSON.stringify(["Start", "Cancel campaign"]), `a planned campaign's buttons: ${buttons}`);
  await Promise.all([page.waitForNavigation(), page.locator("#status-buttons button", { hasText: "Start" }).click()]);
  check((await text(page.locator("#campaign-status"))) === "active", "started");
  await Promise.all([page.waitForNavigation(), page.locator("#add-audience").click()]);
  check((await text(page.locator("#members-count"))) === "1", "the segment's person joined");

  step = "send the campaign: the mail arrives at the SMTP receiver";
  await page.locator('#send-form select[name="template_id"]').selectOption({ label: `Offer ${stamp}` });
  await Promise.all([page.waitForNavigation(), page.locator('#send-form button[type="submit"]').click()]);
  check(pathOf(page) === campaignPath, `after sending, the campaign's page: ${page.url()}`);
  let raw = null;
  for (const until = Date.now() + 30_000; !raw && Date.now() < until; ) {
    for (const f of fs.existsSync(MAILDIR || "") ? fs.readdirSync(MAILDIR).filter((n) => n.endsWith(".eml")) : []) {
      const body = fs.readFileSync(path.join(MAILDIR, f), "utf8");
      if (body.includes(email)) raw = body;
    }
    if (!raw) await page.waitForTimeout(250);
  }
  check(raw, `no mail to ${email} reached the SMTP receiver in ${MAILDIR}`);
  const decoded = raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
  check(/List-Unsubscribe-Post: List-Unsubscribe=One-Click/i.test(decoded), "the mail carries one-click unsubscribe");
  const link = (decoded.match(new RegExp(`${BASE.replace(/[.:/]/g, "\\$&")}/m/c/[A-Za-z0-9._-]+/\\d+`)) || [])[0];
  check(link, "the mail's link is a tracked click redirect");
  const progress = async () => {
    await page.reload();
    return (await page.locator("#send-progress").count()) ? text(page.locator("#send-progress")) : "";
  };
  let sent = await progress();
  for (const until = Date.now() + 15_000; !sent.startsWith("1 of 1 mails sent") && Date.now() < until; ) sent = await progress();
  check(sent.startsWith("1 of 1 mails sent"), `the sending's progress: "${sent}"`);
  const reached = async (state) => Number(await text(page.locator(`#funnel-counts tr[data-state="${state}"] td.num`)));
  check((await reached("sent")) === 1, "the funnel counts the mail sent");

  step = "the recipient clicks the tracked link; the funnel shows the person's click";
  const inboxDir = fs.mkdtempSync(path.join(os.tmpdir(), "rapport-e2e-inbox-"));
  const inbox = await chromium.launchPersistentContext(inboxDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
  });
  try {
    const reader = inbox.pages()[0] || (await inbox.newPage());
    // The redirect goes on to the mail's own link. So soon after delivery a click is taken for
    // a link scanner's (recorded apart, not counted); a person who reads first and clicks
    // later counts, which the loop waits for.
    await reader.goto(link);
    check(new URL(reader.url()).pathname === "/healthz", `the click went on to the mail's link: ${reader.url()}`);
    await page.reload();
    let clicked = await reached("clicked");
    for (const until = Date.now() + 40_000; clicked === 0 && Date.now() < until; ) {
      await reader.waitForTimeout(1000);
      await reader.goto(link);
      await page.reload();
      clicked = await reached("clicked");
    }
    check(clicked === 1, "the person's click never showed in the funnel");
  } finally {
    await inbox.close().catch(() => {});
    fs.rmSync(inboxDir, { recursive: true, force: true });
  }
  check((await reached("opened")) === 1, "a click is an open too");
  await page.locator("#funnel svg").waitFor();
  await shot(page, "campaign.png");
  log(`marketing: segment "${segmentName}", ${campaignPath} sent to ${email}, clicked`);

  step = "the person's timeline logs the message";
  await page.goto(url(personPath));
  const events = await text(page.locator("#timeline-events"));
  check(events.includes("Clicked a link") && events.includes("Sent") && events.includes(`Spring offer ${stamp}`), `the timeline: ${events}`);
}

async function main() {
  step = "launch Chromium";
  // launchPersistentContext so that Chromium gets our own fresh, empty --user-data-dir.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    locale: "en-US",
    timezoneId: "UTC",
    reducedMotion: "reduce",
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  context.on("weberror", (e) => problems.push(`JavaScript error: ${e.error().message}`));
  context.on("response", (r) => {
    const req = r.request();
    if (r.status() >= 500) problems.push(`HTTP ${r.status()} from ${req.method()} ${r.url()}`);
    // A missing stylesheet, script or image (but the favicon, which no page links to).
    else if (r.status() === 404 && req.resourceType() !== "document" && !r.url().endsWith("/favicon.ico"))
      problems.push(`HTTP 404 for ${req.resourceType()} ${r.url()}`);
  });
  page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => {
    // Failed loads are judged above by status (a wrong password rightly answers 401).
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource"))
      problems.push(`console error on ${page.url()}: ${m.text()}`);
  });

  // ---------------------------------------------------------------- login page, wrong password
  step = "unauthenticated /customers redirects to the login page";
  await page.goto(url("/customers"));
  check(pathOf(page) === "/login", `expected a redirect to /login, landed on ${page.url()}`);
  const loginForm = page.locator("form#login-form");
  await loginForm.waitFor();
  await shot(page, "login.png");

  step = "wrong password shows an error on the login page";
  await loginForm.locator('input[name="email"]').fill(ADMIN_EMAIL);
  await loginForm.locator('input[name="password"]').fill("not-the-password");
  const [bad] = await Promise.all([page.waitForNavigation(), loginForm.locator('button[type="submit"]').click()]);
  check(pathOf(page) === "/login", `a wrong password should stay on /login, landed on ${page.url()}`);
  check(bad && bad.status() === 401, `a wrong password should answer 401, got ${bad && bad.status()}`);
  const alert = page.locator('form#login-form [role="alert"]');
  check(await alert.isVisible(), "no error message (role=alert) on the login page after a wrong password");
  const alertText = await text(alert);
  check(/wrong|invalid|incorrect/i.test(alertText), `unexpected login error text: "${alertText}"`);
  check(
    (await page.locator('form#login-form input[name="email"]').inputValue()) === ADMIN_EMAIL,
    "the email should be kept in the form after a failed login",
  );
  check((await page.context().cookies()).every((c) => c.name !== "rapport_session"), "a failed login set a session cookie");
  log(`wrong password → "${alertText}"`);

  // ---------------------------------------------------------------- login
  step = "log in as the demo admin";
  await page.locator('form#login-form input[name="email"]').fill(ADMIN_EMAIL);
  await page.locator('form#login-form input[name="password"]').fill(ADMIN_PASSWORD);
  await Promise.all([page.waitForURL((u) => u.pathname === "/customers"), page.locator('form#login-form button[type="submit"]').click()]);
  check(await page.locator("table.list tbody tr td a").first().isVisible(), "the people list is empty after login");
  log(`logged in, landed on ${pathOf(page)}`);

  // ---------------------------------------------------------------- live search, accents
  step = 'live search for "zoe" finds a "Zoë …" row';
  const search = page.locator('form#filters input[name="q"]');
  await search.click();
  await search.pressSequentially("zoe", { delay: 60 });
  // app.js replaces div#results after a 200 ms pause in typing and records the query in the URL.
  await page.waitForURL((u) => u.searchParams.get("q") === "zoe");
  const zoeLink = page.locator("#results table.list tbody tr td:first-child a", { hasText: /^Zoë(\s|$)/ }).first();
  await zoeLink.waitFor();
  const names = await page.locator("#results table.list tbody tr td:first-child a").allInnerTexts();
  check(names.length > 0, 'no results for "zoe"');
  log(`search "zoe": ${names.length} rows, e.g. ${names.slice(0, 4).join(", ")}`);
  const unrelated = [];
  for (const row of await page.locator("#results table.list tbody tr").all()) {
    if (!fold(await row.innerText()).includes("zoe")) unrelated.push(await text(row));
  }
  check(unrelated.length === 0, `rows that do not mention "zoe" anywhere: ${unrelated.slice(0, 3).join(" | ")}`);
  check((await search.inputValue()) === "zoe", "the search box lost its text after the live refresh");
  await shot(page, "customers.png");

  step = "plain (no JavaScript) search submit gives the same first results";
  const plain = await context.newPage();
  await plain.goto(url("/customers?q=" + encodeURIComponent("ZOE")));
  const plainNames = await plain.locator("#results table.list tbody tr td:first-child a").allInnerTexts();
  check(plainNames.some((n) => /^Zoë(\s|$)/.test(n)), `/customers?q=ZOE lists no "Zoë …" row: ${plainNames.slice(0, 5).join(", ")}`);
  await plain.close();

  // ---------------------------------------------------------------- customer detail
  step = "open the Zoë customer";
  const zoeName = (await zoeLink.innerText()).trim();
  await Promise.all([page.waitForURL(/\/customers\/\d+$/), zoeLink.click()]);
  const id = pathOf(page).split("/").pop();
  const h1 = await text(page.locator("h1"));
  check(h1.startsWith(zoeName), `detail page heading "${h1}" does not start with "${zoeName}"`);
  const before = {
    email: await field(page, "Email"),
    notes: await field(page, "Notes"),
    version: await text(page.locator("p.small")),
  };
  log(`opened customer ${id} "${zoeName}" <${before.email}>`);

  // ---------------------------------------------------------------- edit with an invalid email
  step = "edit form opens from the Edit link";
  await Promise.all([page.waitForURL(new RegExp(`/customers/${id}/edit$`)), page.getByRole("link", { name: "Edit", exact: true }).click()]);
  const form = page.locator("form#customer-form");
  const emailInput = form.locator('input[name="email"]');
  const notesInput = form.locator('textarea[name="notes"]');
  check((await emailInput.inputValue()) === before.email, `edit form email "${await emailInput.inputValue()}" != detail "${before.email}"`);
  check((await form.locator('input[name="name"]').inputValue()) === zoeName, "edit form name differs from the detail page");

  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  let newEmail = "zoe.updated@example.com";
  if (before.email === newEmail) newEmail = `zoe.updated.${stamp}@example.com`;
  let newNote = "Called after the trade fair: wants a quote for 40 seats, follow up in two weeks.";
  if (before.notes.includes(newNote)) newNote += ` (${stamp})`;

  step = "an invalid email is refused with a field error next to the email input";
  await emailInput.fill("zoe at example");
  await notesInput.fill(newNote); // must not be saved either: a rejected form saves nothing
  const [invalid] = await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  check(invalid && invalid.status() === 422, `an invalid email should answer 422, got ${invalid && invalid.status()} at ${page.url()}`);
  const err = page.locator('form#customer-form span.field-error[data-field="email"]');
  check(await err.isVisible(), 'no visible span.field-error[data-field="email"] after an invalid email');
  const errText = await text(err);
  check(errText.length > 0, "the email field error is empty");
  const emailLabel = page.locator("form#customer-form label.invalid", { has: page.locator('input[name="email"]') });
  check((await emailLabel.count()) === 1, 'the email input is not inside a label.invalid');
  check((await emailLabel.locator('span.field-error[data-field="email"]').count()) === 1, "the email error is not in the email field's label");
  const ib = await page.locator('form#customer-form input[name="email"]').boundingBox();
  const eb = await err.boundingBox();
  check(ib && eb && Math.abs(eb.y - (ib.y + ib.height)) < 40 && Math.abs(eb.x - ib.x) < 200, `the email error is not next to the input (input ${JSON.stringify(ib)}, error ${JSON.stringify(eb)})`);
  check(
    (await page.locator('form#customer-form input[name="email"]').inputValue()) === "zoe at example",
    "the re-rendered form lost what the user typed in the email field",
  );
  check((await page.locator("form#customer-form span.field-error").count()) === 1, "fields other than email were flagged too");
  log(`invalid email → 422, "${errText}"`);
  await shot(page, "customer-edit-error.png");

  step = "the refused edit saved nothing";
  const check422 = await context.newPage();
  await check422.goto(url(`/customers/${id}`));
  check((await field(check422, "Email")) === before.email, `email changed after a refused edit: ${await field(check422, "Email")}`);
  check((await field(check422, "Notes")) === before.notes, "notes changed after a refused edit");
  check((await text(check422.locator("p.small"))) === before.version, "the version changed after a refused edit");
  await check422.close();

  // ---------------------------------------------------------------- fix and save
  step = "a valid email and a new note are saved";
  await page.locator('form#customer-form input[name="email"]').fill(newEmail);
  await page.locator('form#customer-form textarea[name="notes"]').fill(newNote);
  await Promise.all([page.waitForURL(new RegExp(`/customers/${id}$`)), page.locator('form#customer-form button[type="submit"]').click()]);
  check((await field(page, "Email")) === newEmail, `detail shows email "${await field(page, "Email")}", expected "${newEmail}"`);
  const notesAfter = await field(page, "Notes");
  check(notesAfter === newNote, `detail shows notes "${notesAfter}", expected "${newNote}"`);
  check((await text(page.locator("h1"))).startsWith(zoeName), "the name changed although it was not edited");
  const versionAfter = await text(page.locator("p.small"));
  check(versionAfter !== before.version, "the version/updated line did not change after saving");
  log(`saved: <${newEmail}>, ${versionAfter}`);
  await shot(page, "customer.png");

  step = "the saved customer is found by its new email";
  await page.goto(url("/customers?q=" + encodeURIComponent(newEmail)));
  check(
    (await page.locator(`#results table.list tbody tr td:first-child a[href="/customers/${id}"]`).count()) === 1,
    `searching for ${newEmail} does not list customer ${id}`,
  );

  // ---------------------------------------------------------------- companies
  step = "companies list renders";
  await page.goto(url("/companies"));
  const companyLinks = page.locator("#results table.list tbody tr td:first-child a");
  const companyCount = await companyLinks.count();
  check(companyCount > 0, "the companies list is empty");
  check((await page.locator("h1").innerText()).trim() === "Companies", "companies page heading missing");
  await shot(page, "companies.png");

  step = "company detail renders";
  const first = companyLinks.first();
  const companyName = (await first.innerText()).trim();
  await Promise.all([page.waitForURL(/\/companies\/\d+$/), first.click()]);
  check((await text(page.locator("h1"))) === companyName, `company heading "${await text(page.locator("h1"))}" != "${companyName}"`);
  check(await page.locator("section.card h2", { hasText: /^People \(\d+\)$/ }).isVisible(), "company detail has no People (n) card");
  log(`companies: ${companyCount} rows on the first page; opened "${companyName}"`);

  // ---------------------------------------------------------------- sales: tasks, web form, leads
  step = "add a task from a person's page, prefilled with the person";
  await page.goto(url(`/customers/${id}`));
  await Promise.all([page.waitForURL(/\/activities\/new\?/), page.locator("#activities a", { hasText: "Add a task" }).click()]);
  const taskForm = page.locator("form#activity-form");
  check((await taskForm.locator('select[name="kind"]').inputValue()) === "task", "the task link did not choose the kind");
  check((await taskForm.locator('input.lookup[data-for="customer_id"]').inputValue()).startsWith(zoeName.split(" ")[0]), "the task form does not name the person");
  const taskSubject = `Send the quote ${stamp}`;
  await taskForm.locator('input[name="subject"]').fill(taskSubject);
  await taskForm.locator('input[name="due_at"]').fill(new Date().toISOString().slice(0, 10));
  await Promise.all([page.waitForURL(/\/activities\/\d+$/), taskForm.locator('button[type="submit"]').click()]);
  check((await text(page.locator("h1"))).startsWith(taskSubject), "the new task's page does not show its subject");
  log(`task "${taskSubject}" added`);

  step = "the task list shows the task due today and checks it off in place";
  await page.goto(url("/tasks"));
  const taskRow = page.locator("#tasks tbody tr", { hasText: taskSubject });
  check((await taskRow.count()) === 1, `"${taskSubject}" is not in today's tasks`);
  await shot(page, "tasks.png");
  await taskRow.locator("form[data-inplace] button").click();
  await taskRow.waitFor({ state: "detached" });
  check(pathOf(page) === "/tasks", `checking a task off left the page: ${page.url()}`);
  await page.reload();
  check((await page.locator("#tasks tbody tr", { hasText: taskSubject }).count()) === 0, "the task is still open after a reload");
  log("task checked off in place");

  step = "the public lead form works without signing in";
  const visitor = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const anon = await (await visitor.newContext({ viewport: VIEWPORT })).newPage();
  await anon.goto(url("/forms/lead"));
  check(new URL(anon.url()).pathname === "/forms/lead", `the lead form redirected to ${anon.url()}`);
  const hp = await anon.locator('input[name="website"]').boundingBox();
  check(!hp || hp.x + hp.width <= 0 || hp.width <= 1, `the honeypot field is where people see it: ${JSON.stringify(hp)}`);
  const leadName = `Wanda Web ${stamp}`;
  await anon.locator('form#lead-form input[name="name"]').fill(leadName);
  await anon.locator('form#lead-form input[name="email"]').fill(`wanda.${stamp}@example.com`);
  await anon.locator('form#lead-form textarea[name="message"]').fill("A quote for 12 seats, please.");
  await shot(anon, "lead-form.png");
  await Promise.all([anon.waitForNavigation(), anon.locator('form#lead-form button[type="submit"]').click()]);
  check(await anon.locator("#lead-thanks").isVisible(), "no thank-you after submitting the lead form");
  await visitor.close();

  step = "the new lead is on the lead list with status new";
  await page.goto(url("/leads?q=" + encodeURIComponent(leadName)));
  const leadRow = page.locator("#results table.list tbody tr", { hasText: leadName });
  check((await leadRow.count()) === 1, `/leads does not list "${leadName}"`);
  check((await text(leadRow.locator("span.stage"))) === "new", "the web lead's status is not new");
  await page.goto(url("/leads"));
  await shot(page, "leads.png");
  log(`web lead "${leadName}" listed as new`);

  step = "enter an order with two lines from a person's page, priced live";
  await page.goto(url(`/customers/${id}`));
  await Promise.all([page.waitForURL(/\/orders\/new\?/), page.locator("#orders a", { hasText: "New order" }).click()]);
  const orderForm = page.locator("form#order-form");
  check((await orderForm.locator('input.lookup[data-for="customer_id"]').inputValue()).startsWith(zoeName.split(" ")[0]), "the order form does not name the person");
  const lineRows = orderForm.locator(".order-lines tbody tr");
  await lineRows.nth(0).locator(".line-product").fill("Pro plan");
  await lineRows.nth(0).locator(".line-price").filter({ hasText: "199.00 USD" }).waitFor();
  await lineRows.nth(0).locator(".line-quantity").fill("2");
  await orderForm.locator("button.add-line").click();
  await lineRows.nth(1).locator(".line-product").fill("Onboarding");
  await lineRows.nth(1).locator(".line-price").filter({ hasText: "1,500.00 USD" }).waitFor();
  await lineRows.nth(1).locator(".line-discount").fill("10");
  // 2 × 199.00 + 1,500.00 less 10 % = 1,748.00, no tax.
  await orderForm.locator("#order-total", { hasText: "1,748.00 USD" }).waitFor();
  await shot(page, "order-form.png");
  await Promise.all([page.waitForURL(/\/orders\/\d+$/), orderForm.locator('button[type="submit"]').click()]);
  check((await page.locator("#order-lines tbody tr").count()) === 2, "the order does not have its two lines");
  check((await text(page.locator("#order-totals"))).includes("Total 1,748.00 USD"), `the order's total is not 1,748.00 USD: ${await text(page.locator("#order-totals"))}`);
  await Promise.all([page.waitForURL(/\/orders\/\d+$/), page.locator('button[value="confirm"]').click()]);
  check((await text(page.locator("#order-status"))) === "confirmed", "confirming the order did not confirm it");
  const orderPath = pathOf(page);
  await shot(page, "order.png");
  log("order entered with two lines, 1,748.00 USD, and confirmed");

  step = "the person's timeline shows the new order with its total";
  await page.goto(url(`/customers/${id}`));
  const orderEvent = page.locator('#timeline li.event[data-kind="order_created"]', { hasText: "1,748.00 USD" });
  check((await orderEvent.count()) === 1, "the person's timeline does not show the order");

  step = "paying the order puts it in the dashboard's monthly sales";
  // Paid now: this month's row (UTC, as the server stamps it) grows by the order, net of tax.
  const thisMonth = `#monthly-sales tbody tr[data-month="${new Date().toISOString().slice(0, 7)}"][data-currency="USD"]`;
  const salesBefore = await dashboardSum(thisMonth, 2, 1);
  await page.goto(url(orderPath));
  await Promise.all([page.waitForURL(/\/orders\/\d+$/), page.locator('button[value="pay"]').click()]);
  check((await text(page.locator("#order-status"))) === "paid", "paying the order did not pay it");
  const salesAfter = await dashboardSum(thisMonth, 2, 1);
  check(
    salesAfter.count === salesBefore.count + 1 && salesAfter.amount === salesBefore.amount + 174800,
    `this month's sales went from ${JSON.stringify(salesBefore)} to ${JSON.stringify(salesAfter)}, not by one order of 1,748.00 USD`,
  );
  await shot(page, "dashboard.png");
  log(`dashboard: this month's sales ${JSON.stringify(salesBefore)} -> ${JSON.stringify(salesAfter)}`);

  await boardChecks();
  await convertChecks(leadName);
  await serviceChecks();
  await marketingChecks();

  step = "no JavaScript errors or server errors";
  check(problems.length === 0, problems.join("\n  "));
}

let code = 0;
try {
  await main();
  log("all checks passed");
} catch (e) {
  code = 1;
  console.error(`\nE2E FAILED at step: ${step}\n  ${e instanceof Failure ? e.message : e && e.stack ? e.stack : e}`);
  if (problems.length) console.error(`  also seen:\n  ${problems.join("\n  ")}`);
  if (page) {
    try {
      fs.mkdirSync(RESULTS, { recursive: true });
      console.error(`  page: ${page.url()}`);
      await page.screenshot({ path: path.join(RESULTS, "failure.png"), fullPage: true });
      fs.writeFileSync(path.join(RESULTS, "failure.html"), await page.content());
      console.error(`  saved ${path.join(RESULTS, "failure.png")} and failure.html`);
    } catch {
      /* the browser may be gone */
    }
  }
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
