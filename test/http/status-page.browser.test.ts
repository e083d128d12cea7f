// The status page in a real browser (Debian's headless Chromium through playwright-core): the browser's own
// Basic-auth prompt answered with ADMIN_TOKEN, the access point rows rendered, a dead letter replayed with the
// page's button. Skipped when /usr/bin/chromium is not installed (`apt-get install -y chromium`).
//
// Screenshot: docs/status-page.png is written when it does not exist yet or UPDATE_SCREENSHOT=1; otherwise the
// screenshot goes to the temp directory, so running the suite does not keep rewriting a committed binary.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { type AdminScenario, startAdminScenario } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const DOC_SHOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/status-page.png');

test('status page in headless Chromium: Basic-auth prompt, access point rows, replay button, screenshot', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip(`${CHROMIUM} not installed (apt-get install -y chromium); browser check skipped`);
    return;
  }
  // Chromium's start-up takes every core for a moment; at the lowest CPU priority (inherited by the browser
  // processes) it cannot starve timing-sensitive tests that the runner executes alongside this file.
  try { setPriority(19); } catch { /* not permitted: run at normal priority */ }
  const { chromium } = await import('playwright-core');
  let s: AdminScenario | undefined;
  const profile = mkdtempSync(join(tmpdir(), 'tpcc-chromium-'));
  let ctx: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    s = await startAdminScenario();
    await s.addDeadLetter('HTTP 503 from TTS after 3 attempts');
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // Sent only after the server's 401 + WWW-Authenticate: Basic, i.e. exactly the browser prompt path.
      httpCredentials: { username: 'operator', password: s.token },
      viewport: { width: 1280, height: 720 },
      deviceScaleFactor: 1,
      timeout: 60_000,
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const cspErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()); });

    const res = await page.goto(`${s.adminUrl}/`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    const row = page.locator(`tr[data-ap="${s.apId}"]`);
    assert.equal(await row.isVisible(), true, 'access point row visible');
    assert.match(await row.innerText(), /Acme farms[\s\S]*the-things-stack[\s\S]*ok/);
    assert.equal(await row.locator('[data-testid="webhook-url"]').innerText(), s.hookUrl);
    const evil = page.locator(`tr[data-ap="${s.evilApId}"]`);
    assert.ok((await evil.innerText()).includes('Tenant <script>alert("x")</script> & "co"'), 'markup shown as text');
    assert.match(await evil.innerText(), /needs re-auth/);
    assert.deepEqual(cspErrors, [], 'no CSP violations or script errors');

    const shot = process.env.UPDATE_SCREENSHOT === '1' || !existsSync(DOC_SHOT) ? DOC_SHOT : join(profile, 'status-page.png');
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 5000, 'screenshot written');
    t.diagnostic(`screenshot: ${shot}`);

    // The replay button: a same-origin form post, back to the page with a message.
    await Promise.all([page.waitForURL(/\?replayed=/), page.locator('form.replay button').first().click()]);
    assert.match(await page.locator('.flash.ok').innerText(), /put back on its queue/);
  } finally {
    await ctx?.close().catch(() => undefined);
    await s?.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
