// The reference page (generated/docs/index.html) in headless Chromium, for tests/test_docs_page.py.
//
// Environment:
//   NF_DOCS_URL         the page's address, e.g. http://127.0.0.1:PORT/docs (required)
//   NF_DOCS_SCREENSHOT  where to save a full-page PNG, every <details> open (required)
//   NF_CHROMIUM         the browser to drive; default /usr/bin/chromium (the system's, never a
//                       downloaded one)
//   NF_PLAYWRIGHT       the playwright-core package.json to load; default tools/node's
//   NF_DOCS_DEEP_LINK   the row to deep-link to, a whole anchor; default
//                       createBuildService.body.buildSettings.dockerfile.dockerFilePath
//
// Every anchor of the page starts with its operation's id: <operationId>.request-body,
// <operationId>.body.name, <operationId>.code.curl ...
//
// It records what the page does and shows, and prints one JSON object on stdout; the
// pytest module makes the assertions. Recorded:
//   requests        every request either browser context made (the page must make none but itself)
//   problems        console errors, uncaught exceptions and Content-Security-Policy violations
//   tabs            per operation, for each example tab clicked: which of its panels are
//                   visible, which hidden
//   expand          per section with tree tools: <details> open before, after "Expand all" and
//                   after "Collapse all"
//   fields          every li.field: anchor, name, type, badges, path, description, constraints,
//                   enum values, and whether it is visible once every <details> is open
//   code            the text of every example block, the response example, the error examples
//   deepLink        a load of PAGE#<deep link> and a hash change to it: is the row shown
//   copy            per operation, the Copy button of its first tab: its label after the click
//                   and the clipboard's text
//   layout          page width against the window's at 1440 px and 800 px (one column), and
//                   the rows whose own text runs out of its box
//   noScript        the page with JavaScript disabled: panels shown, controls hidden, <details>
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const playwrightFrom =
  process.env.NF_PLAYWRIGHT || path.join(here, "..", "..", "tools", "node", "package.json");
const { chromium } = createRequire(pathToFileURL(playwrightFrom))("playwright-core");

const PAGE = process.env.NF_DOCS_URL;
const SCREENSHOT = process.env.NF_DOCS_SCREENSHOT;
if (!PAGE || !SCREENSHOT) {
  console.error("set NF_DOCS_URL and NF_DOCS_SCREENSHOT");
  process.exit(2);
}
const DEEP_LINK =
  process.env.NF_DOCS_DEEP_LINK || "createBuildService.body.buildSettings.dockerfile.dockerFilePath";
const VIEWPORT = { width: 1440, height: 900 };
const NARROW = { width: 800, height: 900 };
const TIMEOUT = 10_000;

// What each li.field shows of its own (not of the rows nested inside it).
function collectFields() {
  const own = (li, selector) =>
    li.querySelectorAll(
      `:scope > ${selector}, :scope > details > ${selector}, :scope > details > summary > ${selector}`,
    );
  const text = (node) => (node ? node.textContent.replace(/\s+/g, " ").trim() : null);
  const shown = (node) => {
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(node).visibility !== "hidden";
  };
  return Array.from(document.querySelectorAll("li.field")).map((li) => {
    const head = own(li, ".field-head")[0];
    const link = head ? head.querySelector("a.name") : null;
    const details = li.querySelector(":scope > details");
    return {
      id: li.id || null,
      section: li.closest("section") ? li.closest("section").id : null,
      alternative: li.closest(".alternative")
        ? text(li.closest(".alternative").querySelector(":scope > h5"))
        : null,
      name: text(link),
      href: link ? link.getAttribute("href") : null,
      type: head ? text(head.querySelector(".type")) : null,
      required: head ? head.querySelector(".badge.required") !== null : false,
      deprecated: head ? head.querySelector(".badge.deprecated") !== null : false,
      path: text(own(li, ".path")[0]),
      description: text(own(li, "p.description")[0]),
      constraints: Array.from(own(li, "ul.constraints > li")).map((n) => n.textContent),
      enum: Array.from(own(li, "p.enum code")).map((n) => n.textContent),
      parent: details !== null,
      visible: shown(li),
    };
  });
}

// Rows whose own text runs out of its box (a block narrower than its content).
function overflowingRows() {
  const found = [];
  for (const li of document.querySelectorAll("li.field")) {
    const parts = ":is(.field-head, .path, p, ul.constraints)";
    const own = li.querySelectorAll(
      `:scope > ${parts}, :scope > details > ${parts}, :scope > details > summary > ${parts}`,
    );
    for (const node of own) {
      if (node.clientWidth > 0 && node.scrollWidth > node.clientWidth + 1) {
        found.push({
          row: li.id || null,
          element: `${node.tagName.toLowerCase()}.${node.className}`,
          text: node.textContent.trim().slice(0, 80),
          width: node.clientWidth,
          needs: node.scrollWidth,
        });
      }
    }
  }
  return found;
}

// Every operation's section id, in page order.
function operationIds() {
  return Array.from(document.querySelectorAll("section.operation")).map((n) => n.id);
}

// Every section holding tree tools ("Expand all", "Collapse all"), by id.
function treeSections() {
  return Array.from(document.querySelectorAll("section[id]"))
    .filter((n) => n.querySelector(":scope > .tree-tools [data-expand]"))
    .map((n) => n.id);
}

function detailsState(scope) {
  const all = Array.from(document.querySelectorAll(`${scope} details`));
  return { total: all.length, open: all.filter((d) => d.open).length };
}

// Where the row is, whether every <details> around it is open, whether it is in view
// below the sticky header.
function rowState(id) {
  const row = document.getElementById(id);
  if (!row) return { found: false };
  const closed = [];
  for (let node = row.parentElement; node; node = node.parentElement) {
    if (node.tagName === "DETAILS" && !node.open) closed.push(node.parentElement.id || "?");
  }
  const box = row.getBoundingClientRect();
  const header = document.querySelector("header");
  const headerBottom = header ? header.getBoundingClientRect().bottom : 0;
  // What a reader sees where the row's name is: the name itself, or what covers it.
  const name = row.querySelector(".field-head a.name");
  const nameBox = name ? name.getBoundingClientRect() : null;
  const seen = nameBox
    ? document.elementFromPoint(nameBox.left + 2, nameBox.top + nameBox.height / 2)
    : null;
  return {
    found: true,
    closedAncestors: closed,
    top: Math.round(box.top),
    headerBottom: Math.round(headerBottom),
    height: box.height,
    inView: box.height > 0 && box.top >= headerBottom - 1 && box.bottom <= innerHeight + 1,
    nameSeen: seen !== null && seen === name,
    nameCoveredBy: seen && seen !== name ? `${seen.tagName.toLowerCase()}.${seen.className}` : null,
    targeted: row.matches(":target"),
    hash: location.hash,
  };
}

// Until the row's name shows below the sticky header (at most a second; it may never),
// then two animation frames more: the hashchange handler and its scrolling have run.
async function settle(page, id) {
  await page
    .waitForFunction(
      (target) => {
        const name = document.getElementById(target)?.querySelector(".field-head a.name");
        if (!name) return false;
        const box = name.getBoundingClientRect();
        return document.elementFromPoint(box.left + 2, box.top + box.height / 2) === name;
      },
      id,
      { timeout: 1000 },
    )
    .catch(() => {});
  await page.evaluate(
    () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
  );
}

async function watch(context, requests, problems) {
  context.on("request", (request) =>
    requests.push({
      url: request.url(),
      method: request.method(),
      resourceType: request.resourceType(),
    }),
  );
  context.on("page", (page) => {
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") {
        problems.push(`console ${message.type()}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  });
}

async function withScript(browser, result) {
  const origin = new URL(PAGE).origin;
  const context = await browser.newContext({ viewport: VIEWPORT });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) =>
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  await watch(context, result.requests, result.problems);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const response = await page.goto(PAGE, { waitUntil: "load" });
  result.status = response.status();
  result.contentType = response.headers()["content-type"] || null;
  result.title = await page.title();
  result.compatMode = await page.evaluate(() => document.compatMode);
  result.scriptRan = await page.evaluate(() => document.documentElement.classList.contains("js"));
  const operations = await page.evaluate(operationIds);
  const sections = await page.evaluate(treeSections);
  result.operations = operations;

  // Each operation's example tabs: click each; exactly its panel shows.
  result.tabs = {};
  result.code = {};
  result.copy = {};
  await page.bringToFront();
  for (const operation of operations) {
    const examples = page.locator(`[id="${operation}.examples"]`);
    const tabs = examples.locator('[role="tab"]');
    const panels = examples.locator('[role="tabpanel"]');
    const panelIds = await panels.evaluateAll((nodes) => nodes.map((n) => n.id));
    result.tabs[operation] = [];
    for (let i = 0; i < (await tabs.count()); i += 1) {
      const tab = tabs.nth(i);
      await tab.click();
      const visible = [];
      const hidden = [];
      for (const id of panelIds) {
        (await page.locator(`[id="${id}"]`).isVisible() ? visible : hidden).push(id);
      }
      result.tabs[operation].push({
        label: (await tab.textContent()).trim(),
        controls: await tab.getAttribute("aria-controls"),
        selected: await tabs.evaluateAll((nodes) =>
          nodes.filter((n) => n.getAttribute("aria-selected") === "true").map((n) => n.id),
        ),
        visible,
        hidden,
      });
    }

    // The text of every example (textContent: hidden panels' too) and of the response's.
    for (const id of await examples.locator('[role="tabpanel"] pre code').evaluateAll((nodes) =>
      nodes.map((n) => n.id),
    )) {
      result.code[id] = await page.locator(`[id="${id}"]`).textContent();
    }
    const responseExample = page.locator(`[id="${operation}.response-example"]`);
    if ((await responseExample.count()) > 0) {
      result.code[`${operation}.response-example`] = await responseExample.textContent();
    }

    // The Copy button of the first tab's panel.
    await tabs.first().click();
    const copy = examples.locator('[role="tabpanel"]:visible button.copy');
    const target = await copy.getAttribute("data-copy");
    await copy.click();
    await page
      .waitForFunction((button) => button.textContent !== "Copy", await copy.elementHandle(), {
        timeout: 3000,
      })
      .catch(() => {}); // the label is recorded either way
    result.copy[operation] = {
      target,
      label: (await copy.textContent()).trim(),
      clipboard: await page.evaluate(() => navigator.clipboard.readText()),
      expected: await page.locator(`[id="${target}"]`).textContent(),
    };
  }
  result.errorExamples = await page.locator("pre.error-example code").allTextContents();

  // "Expand all" then "Collapse all" in each section with a tree.
  result.expand = {};
  for (const id of sections) {
    const scope = `[id="${id}"]`;
    const state = { before: await page.evaluate(detailsState, scope) };
    await page.locator(`${scope} > .tree-tools [data-expand]`).click();
    state.afterExpand = await page.evaluate(detailsState, scope);
    await page.locator(`${scope} > .tree-tools [data-collapse]`).click();
    state.afterCollapse = await page.evaluate(detailsState, scope);
    result.expand[id] = state;
  }

  // A hash change to a row inside closed <details> opens them and scrolls to it.
  await page.evaluate((id) => {
    location.hash = id;
  }, DEEP_LINK);
  await page.waitForFunction((id) => location.hash === `#${id}`, DEEP_LINK);
  await settle(page, DEEP_LINK);
  result.deepLink = { onHashChange: await page.evaluate(rowState, DEEP_LINK) };

  // Every <details> open, then every row, then the screenshot.
  for (const id of sections) {
    await page.locator(`[id="${id}"] > .tree-tools [data-expand]`).click();
  }
  await page.evaluate(() =>
    document.querySelectorAll("details").forEach((d) => {
      d.open = true;
    }),
  );
  result.detailsTotal = await page.evaluate(() => document.querySelectorAll("details").length);
  result.fields = await page.evaluate(collectFields);
  result.layout = {
    wide: {
      viewportWidth: VIEWPORT.width,
      pageWidth: await page.evaluate(() => document.documentElement.scrollWidth),
      overflowingRows: await page.evaluate(overflowingRows),
    },
  };
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 90_000 });
  result.screenshot = SCREENSHOT;

  // A fresh load of PAGE#row: the row is revealed on load.
  const linked = await context.newPage();
  linked.setDefaultTimeout(TIMEOUT);
  await linked.goto(`${PAGE}#${DEEP_LINK}`, { waitUntil: "load" });
  await settle(linked, DEEP_LINK);
  result.deepLink.onLoad = await linked.evaluate(rowState, DEEP_LINK);
  result.deepLink.onLoad.visible = await linked.locator(`[id="${DEEP_LINK}"]`).isVisible();

  // The one-column layout (a narrow window): the page must not scroll sideways.
  const narrow = await context.newPage();
  await narrow.setViewportSize(NARROW);
  await narrow.goto(PAGE, { waitUntil: "load" });
  result.layout.narrow = {
    viewportWidth: NARROW.width,
    pageWidth: await narrow.evaluate(() => document.documentElement.scrollWidth),
    articleWidth: await narrow.evaluate(() =>
      Math.round(document.querySelector("article").getBoundingClientRect().width),
    ),
  };

  result.problems.push(
    ...(await page.evaluate(() => window.__cspViolations)).map((v) => `CSP: ${v}`),
    ...(await linked.evaluate(() => window.__cspViolations)).map((v) => `CSP: ${v}`),
    ...(await narrow.evaluate(() => window.__cspViolations)).map((v) => `CSP: ${v}`),
  );
  await context.close();
}

async function withoutScript(browser, result) {
  const context = await browser.newContext({ viewport: VIEWPORT, javaScriptEnabled: false });
  const noScript = { requests: [], problems: [] };
  await watch(context, noScript.requests, noScript.problems);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(PAGE, { waitUntil: "load" });
  const sections = await page.evaluate(treeSections);
  noScript.scriptRan = await page.evaluate(() =>
    document.documentElement.classList.contains("js"),
  );
  noScript.panels = [];
  for (const id of await page
    .locator('[role="tabpanel"]')
    .evaluateAll((nodes) => nodes.map((n) => n.id))) {
    const panel = page.locator(`[id="${id}"]`);
    noScript.panels.push({
      id,
      visible: await panel.isVisible(),
      headingVisible: await panel.locator("h4").isVisible(),
      codeVisible: await panel.locator("pre code").isVisible(),
    });
  }
  const anyVisible = async (selector) => {
    const nodes = page.locator(selector);
    for (let i = 0; i < (await nodes.count()); i += 1) {
      if (await nodes.nth(i).isVisible()) return true;
    }
    return false;
  };
  noScript.tablistVisible = await anyVisible('[role="tablist"]');
  noScript.copyVisible = await anyVisible("button.copy");
  noScript.treeToolsVisible = await anyVisible(".tree-tools");
  noScript.details = {};
  for (const id of sections) {
    noScript.details[id] = await page.evaluate(detailsState, `[id="${id}"]`);
  }
  noScript.detailsTotal = await page.evaluate(() => document.querySelectorAll("details").length);
  noScript.fieldRows = await page.evaluate(() => document.querySelectorAll("li.field").length);
  // A summary still opens its <details> without script.
  const summary = page.locator("details > summary").first();
  await summary.click();
  noScript.summaryOpens = await summary.evaluate((node) => node.parentElement.open);
  await context.close();
  result.noScript = noScript;
}

const browser = await chromium.launch({
  executablePath: process.env.NF_CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = { url: PAGE, browser: browser.version(), requests: [], problems: [] };
try {
  await withScript(browser, result);
  await withoutScript(browser, result);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
