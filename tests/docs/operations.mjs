// A reference page of many operations in headless Chromium, for tests/test_docs_every_shape.py.
//
// Environment:
//   NF_DOCS_URL         the page's address (a file: URL will do: the page loads nothing else)
//   NF_DOCS_SCREENSHOT  where to save a PNG of the window after the last navigation (optional)
//   NF_CHROMIUM         the browser to drive; default /usr/bin/chromium
//   NF_PLAYWRIGHT       the playwright-core package.json to load; default tools/node's
//
// It prints one JSON object on stdout; the pytest module makes the assertions. Recorded:
//   nav       for each link of the navigation, clicked in turn: the hash it set, and whether
//             the operation's title is then in view below the sticky header
//   tabs      for each operation's example tabs, clicked in turn: which of its panels show,
//             which tab is selected in it, and whether any other operation's tabs changed
//   problems  console errors and warnings, uncaught exceptions, CSP violations
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const playwrightFrom =
  process.env.NF_PLAYWRIGHT || path.join(here, "..", "..", "tools", "node", "package.json");
const { chromium } = createRequire(pathToFileURL(playwrightFrom))("playwright-core");

const PAGE = process.env.NF_DOCS_URL;
if (!PAGE) {
  console.error("set NF_DOCS_URL");
  process.exit(2);
}
const TIMEOUT = 10_000;

// Where the operation's title is against the sticky header and the window.
function titleState(id) {
  const section = document.getElementById(id);
  const title = section ? section.querySelector(".operation-title") : null;
  if (!title) return { found: false };
  const box = title.getBoundingClientRect();
  const headerBottom = document.querySelector("header").getBoundingClientRect().bottom;
  const seen = document.elementFromPoint(box.left + 2, box.top + box.height / 2);
  return {
    found: true,
    top: Math.round(box.top),
    headerBottom: Math.round(headerBottom),
    inView: box.top >= headerBottom - 1 && box.bottom <= innerHeight + 1,
    titleSeen: seen !== null && title.contains(seen),
  };
}

function selectedTabs() {
  return Array.from(document.querySelectorAll('[role="tab"][aria-selected="true"]')).map(
    (tab) => tab.id,
  );
}

const browser = await chromium.launch({
  executablePath: process.env.NF_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const result = { problems: [], nav: [], tabs: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) =>
      console.error(`CSP ${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      result.problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => result.problems.push(`uncaught: ${error.message}`));
  await page.goto(PAGE, { waitUntil: "load" });

  // Each operation's tabs, clicked in turn.
  const operations = await page.locator("section.operation").evaluateAll((nodes) =>
    nodes.map((n) => n.id),
  );
  result.operations = operations;
  for (const operation of operations) {
    const examples = page.locator(`[id="${operation}.examples"]`);
    const tabs = examples.locator('[role="tab"]');
    for (let i = 0; i < (await tabs.count()); i += 1) {
      const before = await page.evaluate(selectedTabs);
      const tab = tabs.nth(i);
      await tab.click();
      const after = await page.evaluate(selectedTabs);
      const visible = [];
      for (const id of await examples
        .locator('[role="tabpanel"]')
        .evaluateAll((nodes) => nodes.map((n) => n.id))) {
        if (await page.locator(`[id="${id}"]`).isVisible()) visible.push(id);
      }
      const mine = (ids) => ids.filter((id) => id.startsWith(`${operation}.`));
      const others = (ids) => ids.filter((id) => !id.startsWith(`${operation}.`));
      result.tabs.push({
        operation,
        label: (await tab.textContent()).trim(),
        tab: await tab.getAttribute("id"),
        controls: await tab.getAttribute("aria-controls"),
        visible,
        selected: mine(after),
        othersUnchanged: JSON.stringify(others(before)) === JSON.stringify(others(after)),
      });
    }
  }

  // Each link of the navigation, clicked in turn, from the top of the page.
  const links = page.locator("nav.operations a");
  for (let i = 0; i < (await links.count()); i += 1) {
    await page.evaluate(() => scrollTo(0, 0));
    const link = links.nth(i);
    const href = await link.getAttribute("href");
    await link.click();
    await page.waitForFunction((want) => location.hash === want, href);
    await page.evaluate(
      () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
    );
    result.nav.push({
      href,
      label: (await link.textContent()).replace(/\s+/g, " ").trim(),
      hash: await page.evaluate(() => location.hash),
      scrolled: await page.evaluate(() => scrollY),
      ...(await page.evaluate(titleState, href.slice(1))),
    });
  }
  if (process.env.NF_DOCS_SCREENSHOT) {
    await page.screenshot({ path: process.env.NF_DOCS_SCREENSHOT });
  }
  await context.close();
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
