// Reference runner: the JS port of HF tokenizers (@lenml/tokenizers, from transformers.js), used by FrSpec's parity
// tests and by `frspec bench tokenizer`. One process handles a whole batch:
//   node reference.js TOKENIZER_DIR INPUT.json OUTPUT.json
// INPUT: {encode: [text], encodeSpecial: [text], decode: [[id]], decodeSkip: [[id]], bench: {texts: [text], seconds?}}
// OUTPUT: the same keys with the results (bench: {tokens, bytes, seconds}).
"use strict";
const fs = require("fs");
const path = require("path");
const { TokenizerLoader } = require("@lenml/tokenizers");

const [dir, inFile, outFile] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read(path.join(dir, "tokenizer.json")),
  tokenizerConfig: fs.existsSync(path.join(dir, "tokenizer_config.json")) ? read(path.join(dir, "tokenizer_config.json")) : {},
});
const input = read(inFile);
const out = {};

if (input.encode) out.encode = input.encode.map((s) => tokenizer.encode(s, { add_special_tokens: false }));
if (input.encodeSpecial) out.encodeSpecial = input.encodeSpecial.map((s) => tokenizer.encode(s, { add_special_tokens: true }));
if (input.decode) out.decode = input.decode.map((ids) => (ids.length ? tokenizer.decode(ids, { skip_special_tokens: false }) : ""));
if (input.decodeSkip) out.decodeSkip = input.decodeSkip.map((ids) => (ids.length ? tokenizer.decode(ids, { skip_special_tokens: true }) : ""));
if (input.bench) {
  const texts = input.bench.texts;
  const minSeconds = input.bench.seconds || 2;
  const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
  let tokens = 0, rounds = 0;
  const start = process.hrtime.bigint();
  let seconds = 0;
  do {
    for (const t of texts) tokens += tokenizer.encode(t, { add_special_tokens: false }).length;
    rounds++;
    seconds = Number(process.hrtime.bigint() - start) / 1e9;
  } while (seconds < minSeconds);
  out.bench = { tokens, bytes: bytes * rounds, seconds };
}
fs.writeFileSync(outFile, JSON.stringify(out));
