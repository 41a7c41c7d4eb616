// Parses each Mermaid file named on the command line with mermaid's own
// parser (the one GitHub's renderer uses), under jsdom instead of a browser.
// Prints one line per file; exits 1 when any fails to parse.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let bad = 0;
for (const file of process.argv.slice(2)) {
  try {
    const r = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`${file}: ok ${r.diagramType}`);
  } catch (e) {
    bad++;
    const msg = String((e && e.message) || e).split("\n").slice(0, 4).join(" | ");
    console.log(`${file}: error ${msg}`);
  }
}
process.exit(bad ? 1 : 0);
