// Reference renderer for FrSpec's Jinja interpreter: @huggingface/jinja (the engine transformers.js renders chat
// templates with; it applies transformers' trim_blocks and lstrip_blocks) renders each case with the context given.
//   node jinja-reference.js INPUT.json OUTPUT.json
// INPUT: {clock: [year, month, day, hour, minute, second] (local time for strftime_now), cases: [{template, context}]}
// OUTPUT: [rendered text, or "ERROR: message"] in case order.
"use strict";
const fs = require("fs");
const { Template } = require("@huggingface/jinja");

const [inFile, outFile] = process.argv.slice(2);
const input = JSON.parse(fs.readFileSync(inFile, "utf8"));
if (input.clock) {
  // strftime_now reads `new Date()`: pin it (only the no-argument form) to the given local time.
  const [y, mo, d, h, mi, s] = input.clock;
  const RealDate = Date;
  global.Date = class extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(y, mo - 1, d, h, mi, s);
      else super(...args);
    }
    static now() {
      return new RealDate(y, mo - 1, d, h, mi, s).getTime();
    }
  };
}
const parsed = new Map();
const out = input.cases.map((c) => {
  try {
    let template = parsed.get(c.template);
    if (!template) {
      template = new Template(c.template);
      parsed.set(c.template, template);
    }
    return template.render(c.context);
  } catch (e) {
    return "ERROR: " + (e && e.message ? e.message : String(e));
  }
});
fs.writeFileSync(outFile, JSON.stringify(out));
