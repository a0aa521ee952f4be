// Drives the dev console (`oxmcp dev`) in a headless chromium with playwright-core:
// calls a tool through its form, answers an elicitation, finds the frames in the log.
// Screenshots go to the artifacts directory. Exits non-zero on any failure.
//
// usage: node console.mjs CONSOLE_URL ARTIFACTS_DIR
// environment: OXMCP_PLAYWRIGHT_DIR (where playwright-core is installed: a directory
// with node_modules), OXMCP_CHROMIUM (the browser, default /usr/bin/chromium).

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const [url, artifacts] = process.argv.slice(2);
if (!url || !artifacts) {
  console.error("usage: node console.mjs CONSOLE_URL ARTIFACTS_DIR");
  process.exit(2);
}
const require = createRequire(join(process.env.OXMCP_PLAYWRIGHT_DIR || process.cwd(), "package.json"));
const { chromium } = require("playwright-core");
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.OXMCP_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const problems = [];
let page;
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
  const tool = async (name) => {
    await page.locator("#tab-tools").click();
    await page.locator(`#list button.entry[data-name="${name}"]`).click();
    await page.locator("#form-title", { hasText: name }).waitFor();
  };
  const callTool = async (name) => {
    await tool(name);
    await page.locator("#result").evaluate((node) => node.replaceChildren());
    await page.locator("#call").click();
    await page.locator("#result > :not(.muted)").first().waitFor();
  };
  await page.goto(url);
  await page.locator("#status", { hasText: "connected over stdio" }).waitFor();

  // A tool without arguments, through its form.
  await page.locator('#list button.entry[data-name="test_simple_text"]').click();
  await page.locator("#form-title", { hasText: "test_simple_text" }).waitFor();
  await page.locator("#call").click();
  await page.locator("#result pre.text").first().waitFor();
  await page.screenshot({ path: join(artifacts, "console-tool-call.png") });

  // A tool whose form has a field, and that asks the user (elicitation).
  await page.locator('#list button.entry[data-name="test_elicitation"]').click();
  await page.locator('#fields input[name="message"]').fill("Who are you?");
  await page.locator("#call").click();
  const ask = page.locator("#asks form.ask");
  await ask.waitFor();
  await ask.locator(".message", { hasText: "Who are you?" }).waitFor();
  await ask.locator('input[name="username"]').fill("octocat");
  await ask.locator('input[name="email"]').fill("octocat@example.com");
  await page.screenshot({ path: join(artifacts, "console-elicitation.png") });
  await ask.locator("button.accept").click();
  await page.locator("#result", { hasText: "action=accept" }).waitFor();
  await page.locator("#result", { hasText: "octocat" }).waitFor();
  await ask.waitFor({ state: "detached" });

  // The frames in the log: the calls sent, their answers, the elicitation both ways.
  const rows = page.locator("#log tr");
  // (The question is a request of the server in the legacy era, part of an answer in the
  // modern one.)
  await page.locator("#log tr.client", { hasText: "tools/call test_elicitation" }).first().waitFor();
  await page.locator("#log tr.server", { hasText: "elicitation/create" }).first().waitFor();
  const answer = page.locator("#log tr.server", { hasText: "↩ tools/call" }).last();
  await answer.click();
  await page.locator("#detail", { hasText: '"result"' }).waitFor();
  await page.locator("#pairing", { hasText: "answers the request sent" }).waitFor();
  if (await page.locator("#log tr.paired").count() !== 1) problems.push("the answer's request is not highlighted");

  // Filters: by direction, then by method.
  await page.locator("#direction").selectOption("client");
  if (await page.locator("#log tr.server").count() !== 0) problems.push("the direction filter kept received frames");
  await page.locator("#direction").selectOption("");
  await page.locator("#filter").fill("tools/call");
  const filtered = await rows.allTextContents();
  if (!filtered.length || filtered.some((t) => !t.includes("tools/call"))) problems.push("the method filter: " + JSON.stringify(filtered));
  await page.locator("#filter").fill("");
  await page.screenshot({ path: join(artifacts, "console-log.png"), fullPage: true });

  // A form with a nested object (a $ref) and an enum.
  await tool("json_schema_2020_12_tool");
  await page.locator('#fields input[name="name"]').fill("Ada");
  await page.locator('#fields fieldset input[name="city"]').fill("Paris");
  await page.locator('#fields select[name="contactMethod"]').selectOption({ label: "email" });
  await page.locator('#fields input[name="email"]').fill("ada@example.com");
  await page.locator("#call").click();
  await page.locator("#result", { hasText: '"address":{"city":"Paris"}' }).waitFor();
  await page.locator("#result", { hasText: '"contactMethod":"email"' }).waitFor();

  // Content blocks: an image shown, audio playable, an embedded resource.
  await callTool("test_image_content");
  await page.waitForFunction(() => document.querySelector("#result img.image")?.naturalWidth > 0);
  await callTool("test_audio_content");
  await page.locator("#result audio.audio[controls]").waitFor();
  await callTool("test_embedded_resource");
  await page.locator("#result .block", { hasText: "resource " }).first().waitFor();
  // Progress against its call.
  await callTool("test_tool_with_progress");
  await page.locator("#progress progress").waitFor();
  // Log messages against their call, at the level chosen.
  await page.locator("#level").selectOption("debug");
  await callTool("test_tool_with_logging");
  await page.locator("#progress div", { hasText: "log " }).first().waitFor();

  // Structured content against the tool's output schema (everything has no such tool:
  // the page's own renderer, on results given here).
  const verdicts = await page.evaluate(() => {
    const tool = {outputSchema: {type: "object", required: ["n"], properties: {n: {type: "integer", minimum: 0}}, additionalProperties: false}};
    return [{n: 3}, {n: -1, x: true}, {n: "3"}].map((structuredContent) => {
      const into = document.createElement("div");
      showToolResult(tool)({content: [], structuredContent}, into);
      return into.querySelector(".schema-check").textContent;
    });
  });
  if (!verdicts[0].includes("matches")) problems.push("a valid structured content: " + verdicts[0]);
  if (!/below the minimum 0.*unexpected property x/.test(verdicts[1])) problems.push("an invalid one: " + verdicts[1]);
  if (!verdicts[2].includes("expected integer, got string")) problems.push("a string for an integer: " + verdicts[2]);

  // Sampling: the server's request answered from its form.
  await tool("test_sampling");
  await page.locator('#fields input[name="prompt"]').fill("2+2?");
  await page.locator("#call").click();
  const sampling = page.locator("#asks form.ask");
  await sampling.locator('textarea[name="reply"]').fill("4");
  await sampling.locator("button.accept").click();
  await page.locator("#result", { hasText: "LLM response: 4" }).waitFor();

  // The other era: reconnect in legacy; the elicitation is now a request of the server.
  await page.locator("#era").selectOption("legacy");
  await page.locator("#reconnect").click();
  await page.locator("#status", { hasText: "legacy era" }).waitFor();
  await tool("test_elicitation");
  await page.locator('#fields input[name="message"]').fill("And now?");
  await page.locator("#call").click();
  const legacyAsk = page.locator("#asks form.ask");
  await legacyAsk.locator('input[name="username"]').fill("legacy");
  await legacyAsk.locator('input[name="email"]').fill("l@example.com");
  await legacyAsk.locator("button.accept").click();
  await page.locator("#result", { hasText: "action=accept" }).waitFor();
  await page.locator("#log tr.server", { hasText: /^.*elicitation\/create  #/ }).first().waitFor();
  // Ids start again on the new connection: answers still pair with their own request
  // (the filter draws the log again).
  await page.locator("#filter").fill("server/discover");
  await page.locator("#log tr.server", { hasText: "↩ server/discover  #1" }).waitFor();
  await page.locator("#filter").fill("initialize");
  await page.locator("#log tr.server", { hasText: "↩ initialize  #1" }).waitFor();
  await page.locator("#filter").fill("");

  // The browsers of resources and prompts.
  await page.locator("#tab-resources").click();
  await page.locator("#list button.entry").first().click();
  await page.locator("#result .block").first().waitFor();
  await page.locator("#tab-prompts").click();
  await page.locator("#list button.entry").first().waitFor();
  await page.screenshot({ path: join(artifacts, "console-legacy.png"), fullPage: true });
} catch (e) {
  problems.push(e.stack || String(e));
  if (page) await page.screenshot({ path: join(artifacts, "console-failure.png") }).catch(() => {});
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("the console works in chromium; screenshots in " + artifacts);
