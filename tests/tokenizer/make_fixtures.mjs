#!/usr/bin/env node
// make_fixtures.mjs: reference GPT-2 token ids for tests/test_tokenizer.c.
//
//   npm ci && node make_fixtures.mjs --jargon PATH --devil PATH --verdict PATH
//
// Encodes a set of tricky strings and three corpora with OpenAI's tiktoken
// (npm "tiktoken", the WASM build of the Rust crate; the gpt2 ranks are
// compiled into its .wasm) and cross-checks every id with an independent
// implementation, js-tiktoken (pure JS, its own BPE code and regex engine).
// Any disagreement, a failed decode round trip or a wrong sanity value is
// fatal, and nothing is written unless every check passes. Output is
// deterministic: no timestamps, no paths, only versions in the headers.
// Writes fixtures/strings.tsv and fixtures/corpora.tsv next to this script.

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";

// --- No network: the ranks must come from the installed packages. -----------
// Installed before the tokenizer packages are imported, so a package that tried
// to fetch its ranks at load or encode time would fail loudly here.
globalThis.fetch = () => { throw new Error("network access attempted (fetch)"); };
net.Socket.prototype.connect = () => { throw new Error("network access attempted (socket)"); };

const { get_encoding } = await import("tiktoken");
const { Tiktoken } = await import("js-tiktoken/lite");
const { default: gpt2Ranks } = await import("js-tiktoken/ranks/gpt2");

const BLOCK_TOKENS = 4096;
const EOT = "<|endoftext|>";
const here = new URL(".", import.meta.url);
const version = (pkg) =>
  JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, here))).version;
const VERSIONS = { tiktoken: version("tiktoken"), "js-tiktoken": version("js-tiktoken") };

function die(msg) {
  console.error(`make_fixtures: error: ${msg}`);
  process.exit(1);
}

// --- The two references. ------------------------------------------------------
const tk = get_encoding("gpt2");
// js-tiktoken runs the ranks' pattern with JavaScript's RegExp, whose \s is not
// the \s of the Rust regex crate that tiktoken uses: JS counts U+FEFF as space
// and not U+0085; Rust uses Unicode White_Space (U+0085 yes, U+FEFF no). We
// spell out White_Space so both engines split the same way; \p{L} and \p{N}
// mean the same in both. Everything else in js-tiktoken is used as shipped.
const WHITE_SPACE = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const jsPattern = gpt2Ranks.pat_str
  .replaceAll("[^\\s", `[^${WHITE_SPACE}`)
  .replaceAll("\\S", `[^${WHITE_SPACE}]`)
  .replaceAll("\\s", `[${WHITE_SPACE}]`);
const js = new Tiktoken({ ...gpt2Ranks, pat_str: jsPattern });
if (js.encode(EOT, "all").join() !== "50256") die("js-tiktoken: <|endoftext|> is not 50256");

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

// Encodes text with both references (all special tokens allowed), checks they
// agree and that decoding gives back the input bytes; returns the ids.
function encode(label, text) {
  const a = Array.from(tk.encode(text, "all"));
  const b = js.encode(text, "all");
  if (a.length !== b.length || a.some((id, i) => id !== b[i])) {
    const i = a.findIndex((id, k) => id !== b[k]);
    die(`${label}: tiktoken and js-tiktoken disagree at index ${i < 0 ? a.length : i}` +
        ` (tiktoken ${a.length} ids, js-tiktoken ${b.length})`);
  }
  const back = Buffer.from(tk.decode(Uint32Array.from(a)));
  if (!back.equals(Buffer.from(utf8.encode(text)))) die(`${label}: decode(encode(x)) != x`);
  return a;
}

// --- Tricky strings. -----------------------------------------------------------
// A fixed pseudo-random word (LCG) so the long-word case is not one repeated
// letter; deterministic by construction.
function lcgWord(n, seed) {
  let s = seed, out = "";
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out += String.fromCharCode(97 + ((s >>> 16) % 26));
  }
  return out;
}

const CASES = [
  // Empty and trivial.
  ["empty", ""],
  ["space", " "],
  ["newline", "\n"],
  ["hello", "Hello world"],
  ["hello_punct", "Hello, world! How are you?"],
  // English contractions: the pattern's 's 't 're 've 'm 'll 'd alternatives.
  ["contractions", "it's don't they're we've I'm you'll he'd"],
  ["contractions_upper", "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D"],
  ["possessive_upper_s", "JOHN'S Mary'S"],
  ["dont_variants", "don't Don't DON'T don’t"],
  ["curly_quotes", "“Hello,” she said. ‘It’s fine.’"],
  ["apostrophe_trailing", "the dogs' bones' owners'"],
  ["apostrophe_alone", "'"],
  ["apostrophe_runs", "''s '''ll 'x 'S 'LL"],
  ["apostrophe_space", "rock 'n' roll ' s"],
  ["backtick_quotes", "``quoted'' text"],
  // Numbers.
  ["digits", "0 1 2 3 4 5 6 7 8 9"],
  ["number_long", "123456789012345678901234567890"],
  ["number_grouped", "1,234,567.89 and 1 000 000"],
  ["decimals", "3.14159 -2.5e-10 0.001 .5 5."],
  ["year_phone", "In 2024, call +1 (555) 012-3456."],
  ["alnum_mixed", "abc123def 4th 1st x86_64 utf8 GPT2 H2O"],
  ["hex_literal", "0xDEADBEEF 0b1010 0o755"],
  ["digits_other_scripts", "٣٤٥ १२३ １２３ ๑๒๓"],
  ["number_forms", "x² ½ ¾ ① Ⅻ ⅷ"],
  // Whitespace runs of all kinds.
  ["spaces_before_word", "a  b   c    d"],
  ["spaces_leading", "   leading"],
  ["spaces_trailing", "trailing   "],
  ["tabs", "\tindented\t\ttabs\t"],
  ["crlf", "line one\r\nline two\r\n"],
  ["cr_only", "old\rmac\r"],
  ["newlines_many", "a\n\n\nb\n\n"],
  ["space_newline_mix", "a \n b  \n\n  c \t\n"],
  ["newline_space_word", "\n  word"],
  ["vtab_formfeed", "a\x0bb\x0cc"],
  ["nbsp", "100\u00a0km and\u00a0\u00a0more"],
  ["ideographic_space", "東京\u3000大阪\u3000\u3000x"],
  ["line_separator", "one\u2028two\u2029three"],
  ["nel", "next\u0085line \u0085 x"],
  ["info_separators", "a\x1cb\x1dc\x1ed\x1fe"],
  ["zwsp", "zero\u200bwidth\u200b space"],
  ["bom", "\ufeffBOM at start and\ufeff inside"],
  ["bom_after_space", "a \ufeffb \ufeff'S"],
  ["nel_after_space", "a \u0085b \u0085\u0085 c"],
  ["en_em_spaces", "a\u2002b\u2003c\u2009d\u202fe\u205ff\u1680g"],
  ["whitespace_only", " \t\n\r\u00a0\u3000"],
  ["spaces_300", " ".repeat(300)],
  // Control characters.
  ["nul", "a\x00b\x00"],
  ["ansi_escape", "\x1b[31mred\x1b[0m \x07\x7f"],
  // Punctuation and code.
  ["punct_runs", "!!! ??? ... --- *** ### $$$ %%% &&& @@@"],
  ["punct_mixed", "Wait...what?!? (yes) [no] {maybe} <ok>"],
  ["ellipsis_dashes", "so… well — fine – ok"],
  ["code_c", "int main(void) {\n\treturn 0;\n}\n"],
  ["code_python", "def f(x):\n    return x ** 2  # square\n"],
  ["code_js", "const xs = [1, 2, 3].map((x) => x * 2); // ok"],
  ["code_json", "{\"key\": [null, true, 1.5e3], \"k2\": \"v\\n\"}"],
  ["code_html", "<div class=\"a\">&amp; &lt;b&gt;</div>"],
  ["code_indent", "        if (x) {\n            y();\n        }"],
  ["code_shell", "$ ls -la | grep '^d' > out.txt 2>&1"],
  ["url", "https://www.example.com/path/to?q=1&r=two#frag"],
  ["email", "first.last+tag@sub.example.org"],
  ["path_windows", "C:\\Users\\name\\file.txt"],
  // Non-Latin scripts.
  ["chinese", "我爱自然语言处理。今天天气很好！"],
  ["japanese", "こんにちは、世界。カタカナとひらがなと漢字。"],
  ["korean", "안녕하세요 세계"],
  ["arabic", "مرحبا بالعالم، كيف حالك؟"],
  ["hebrew", "שלום עולם"],
  ["hindi", "नमस्ते दुनिया, क्षत्रिय"],
  ["thai", "สวัสดีครับ ภาษาไทย"],
  ["russian", "Привет, мир! Съешь ещё этих булок."],
  ["greek", "Καλημέρα κόσμε· αβγ ΩΣ"],
  ["mixed_scripts", "English русский 中文 العربية हिन्दी"],
  // Combining marks and normalization.
  ["e_acute_nfc", "caf\u00e9"],
  ["e_acute_nfd", "cafe\u0301"],
  ["combining_stack", "Z\u0351\u0367\u0311a\u0300\u0301\u0302lgo"],
  ["vietnamese", "Tiếng Việt có dấu"],
  ["accented_repeat", "é".repeat(200)],
  // Emoji.
  ["emoji_simple", "I ❤ 🐍 and 😀!"],
  ["emoji_zwj_family", "👨\u200d👩\u200d👧\u200d👦"],
  ["emoji_flags", "🇺🇸🇯🇵🇫🇷 🏴\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}"],
  ["emoji_skin_tones", "👍🏻👍🏽👍🏿 👋🏾"],
  ["variation_selectors", "❤\ufe0f ☺\ufe0e 1\ufe0f\u20e3"],
  ["emoji_repeat", "😀".repeat(50)],
  // Rare and astral characters, symbols.
  ["cjk_ext_b", "𠀀𠀁𪚥𠮷野家"],
  ["math_symbols", "∀x∈ℝ: x² ≥ 0 ⇒ √x ∈ ℝ, ∑ᵢ aᵢ ≠ ∞"],
  ["math_alnum", "𝐀𝐁𝐂 𝕏 𝟘𝟙𝟚"],
  ["currency", "$5 €10 £20 ¥30 ₹40 ₿0.1"],
  ["private_use", "\ue000\uf8ff\u{f0000}"],
  ["noncharacters", "\ufffd\ufffe\uffff\u{10ffff}"],
  // The special token <|endoftext|> (allowed: 50256) and near misses.
  ["eot", EOT],
  ["eot_in_text", `Hello${EOT}world`],
  ["eot_spaced", ` ${EOT} `],
  ["eot_repeated", EOT.repeat(3)],
  ["eot_adjacent_words", `end.${EOT}Start`],
  ["eot_newlines", `\n${EOT}\n\n${EOT}`],
  ["eot_partial_open", "<|endoftext|"],
  ["eot_extra_gt", "<|endoftext|>>"],
  ["eot_extra_lt", "<<|endoftext|>"],
  ["eot_no_pipes", "<endoftext>"],
  ["eot_prefix_only", "<|endoftext"],
  ["eot_suffix_only", "|endoftext|>"],
  ["eot_wrong_case", "<|EndOfText|>"],
  ["eot_nested", `<|endof${EOT}text|>`],
  ["eot_other_special", "<|startoftext|> <|fim_prefix|>"],
  // Long inputs.
  ["word_1000_random", lcgWord(1000, 20240601)],
  ["word_1000_same", "a".repeat(1000)],
  ["equals_500", "=".repeat(500)],
  ["bang_257", "!".repeat(257)],
  ["zeros_300", "0".repeat(300)],
  ["newlines_100", "\n".repeat(100)],
  ["abc_repeat", "abc ".repeat(100)],
  // Everything at once.
  ["mixed_everything",
    "Héllo\u00a0wörld's 123.45 😀👍🏽\t<|endoftext|> 東京 'LL\r\n" +
    "  x=1; // ok\u3000мир\u0085end\u200b \ufeff'S  "],
];

for (const [i, [name]] of CASES.entries()) {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) die(`case name ${JSON.stringify(name)} is not a short identifier`);
  if (CASES.findIndex(([n]) => n === name) !== i) die(`case name ${name} is used twice`);
}

// --- Corpora. --------------------------------------------------------------
const { values: args } = parseArgs({
  options: { jargon: { type: "string" }, devil: { type: "string" }, verdict: { type: "string" } },
});
for (const k of ["jargon", "devil", "verdict"]) if (!args[k]) die(`missing --${k} PATH`);

// Reads a corpus as bytes (.dz files are dictzip, a gzip member) and checks
// that it is valid UTF-8, since the references take text.
function readCorpus(path) {
  let bytes = readFileSync(path);
  if (path.endsWith(".dz")) bytes = gunzipSync(bytes);
  let text;
  try { text = utf8Strict.decode(bytes); } catch { die(`${path}: not valid UTF-8`); }
  return { bytes, text };
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
// ids as consecutive little-endian int32.
function int32le(ids) {
  const buf = Buffer.alloc(ids.length * 4);
  ids.forEach((id, i) => buf.writeInt32LE(id, i * 4));
  return buf;
}

const corpora = [
  ["jargon", args.jargon],
  ["devil", args.devil],
  ["the-verdict", args.verdict],
].map(([name, path]) => {
  const { bytes, text } = readCorpus(path);
  const ids = encode(`corpus ${name}`, text);
  return { name, bytes, ids };
});

// Sanity: the well-known GPT-2 tokenization of "The Verdict".
const verdict = corpora.find((c) => c.name === "the-verdict").ids;
const VERDICT_HEAD = [40, 367, 2885, 1464, 1807, 3619, 402, 271];
if (verdict.length !== 5145) die(`the-verdict: ${verdict.length} tokens, expected 5145`);
if (VERDICT_HEAD.some((id, i) => verdict[i] !== id))
  die(`the-verdict: starts ${verdict.slice(0, 8).join(" ")}, expected ${VERDICT_HEAD.join(" ")}`);

// --- Output. ------------------------------------------------------------------
const header = (file, columns) => [
  `# ${file}: GPT-2 reference token ids for tests/test_tokenizer.c`,
  "# generated by tests/tokenizer/make_fixtures.mjs - do not edit; regenerate as tests/tokenizer/README.md says",
  `# tiktoken ${VERSIONS.tiktoken} (get_encoding("gpt2")), cross-checked with js-tiktoken ${VERSIONS["js-tiktoken"]}`,
  `# all special tokens allowed: ${EOT} -> 50256`,
  ...columns.map((c) => `# ${c}`),
];

const stringLines = header("strings.tsv", [
  "name<TAB>lowercase hex of the input's UTF-8 bytes<TAB>space-separated ids (both empty for the empty string)",
]);
for (const [name, text] of CASES) {
  const ids = encode(`case ${name}`, text);
  stringLines.push(`${name}\t${Buffer.from(utf8.encode(text)).toString("hex")}\t${ids.join(" ")}`);
}

const corpusLines = header("corpora.tsv", [
  "corpus<TAB>NAME<TAB>SHA256_OF_TEXT_BYTES<TAB>N_BYTES<TAB>N_TOKENS<TAB>BLOCK_TOKENS",
  "block<TAB>NAME<TAB>INDEX<TAB>SHA256 of ids[INDEX*BLOCK_TOKENS : min(N_TOKENS, (INDEX+1)*BLOCK_TOKENS)] as little-endian int32",
]);
for (const { name, bytes, ids } of corpora) {
  corpusLines.push(["corpus", name, sha256(bytes), bytes.length, ids.length, BLOCK_TOKENS].join("\t"));
  for (let i = 0; i * BLOCK_TOKENS < ids.length; i++) {
    const block = ids.slice(i * BLOCK_TOKENS, (i + 1) * BLOCK_TOKENS);
    corpusLines.push(["block", name, i, sha256(int32le(block))].join("\t"));
  }
}

tk.free();
writeFileSync(new URL("fixtures/strings.tsv", here), stringLines.join("\n") + "\n");
writeFileSync(new URL("fixtures/corpora.tsv", here), corpusLines.join("\n") + "\n");
console.log(`make_fixtures: ${CASES.length} strings; ` +
  corpora.map((c) => `${c.name} ${c.bytes.length} bytes ${c.ids.length} tokens`).join(", ") +
  `; tiktoken ${VERSIONS.tiktoken} and js-tiktoken ${VERSIONS["js-tiktoken"]} agree on every id`);
