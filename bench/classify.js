// Classifier throughput on mixed text (prose + code + a few secrets and personal data).
// Plain Node ESM against the built classifier: `npm run build && node bench/classify.js`.
// Prints markdown table rows; targets: >= 50 MB/s and < 0.5 ms per 10 KB request.
// SYNDICATE_BENCH_DIST=/other/checkout/dist runs the same inputs against another build (compare
// two commits: build the other one in its own worktree and run this file from here against each).
import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { pseudoRandomBytes } from './pseudo-random-bytes.js';
import { recordShaped } from './record-shaped.js';

const DIST = process.env.SYNDICATE_BENCH_DIST === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(`${process.env.SYNDICATE_BENCH_DIST.replace(/\/$/, '')}/`);
const { classifyText, classifyRequest } = await import(new URL('classify/index.js', DIST).href);
const { estimatePromptTokens } = await import(new URL('router/route-request.js', DIST).href);

const PROSE = [
  'The quarterly planning meeting moved to Thursday, so the team reviewed the roadmap and agreed to ship the export feature first. ',
  'Latency improved after the cache warmed up; the p95 dropped from 840 ms to 310 ms on the staging cluster during the load test. ',
  'Please summarise the design discussion and list the open questions about retries, idempotency keys and backoff limits. ',
  'Version 2.14.3 fixes the regression reported in issue 4821, which broke pagination when the cursor was empty. ',
];
const CODE = [
  'export function retry(operation, attempts = 3) {\n  for (let attempt = 1; attempt <= attempts; attempt += 1) {\n    try { return operation(); } catch (error) { if (attempt === attempts) throw error; }\n  }\n}\n',
  'const config = { baseUrl: "https://api.example.org/v1", timeoutMs: 30000, maxTokens: 1024, model: "small-coder" };\n',
  'def handler(event, context):\n    items = [normalize(item) for item in event["records"] if item.get("id")]\n    return {"statusCode": 200, "count": len(items)}\n',
  'SELECT id, created_at, status FROM orders WHERE status = \'open\' AND created_at > now() - interval \'7 days\' ORDER BY id;\n',
];
const SENSITIVE = [
  'export GITHUB_TOKEN=ghp_Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8\n',
  'Contact jane.roe@example.com or call +44 20 7946 0958 about the invoice. ',
  'password: Tr0ub4dor&3\n',
  'Card on file 4539 1488 0343 6467, see /home/jane/statements/2024-03.pdf ',
];

function mixedText(bytes, seed) {
  let text = '';
  let index = seed;
  while (text.length < bytes) {
    const bucket = index % 20;
    if (bucket === 19) text += SENSITIVE[(index / 20) % SENSITIVE.length | 0];
    else if (bucket % 3 === 0) text += CODE[index % CODE.length];
    else text += PROSE[index % PROSE.length];
    index += 7;
  }
  return text.slice(0, bytes);
}

const OPTIONS = { indicatorWords: ['password', 'credential', 'screenshot', 'camera'], patterns: [{ name: 'project-falcon', level: 'confidential', keywords: ['Project Falcon'] }] };

/**
 * Wall-clock and CPU time per call. On a shared machine the wall clock also counts time spent
 * waiting for a core; the process's own CPU time (process.cpuUsage) does not, so the targets are
 * judged on CPU time and both are printed.
 */
function measure(text, minimumMs) {
  for (let warm = 0; warm < 20; warm += 1) classifyText(text, OPTIONS);
  let runs = 0;
  let level = 'public';
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < minimumMs || runs < 5) {
    level = classifyText(text, OPTIONS).level;
    runs += 1;
    elapsed = performance.now() - started;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wallMs: elapsed / runs, cpuMs: (cpu.user + cpu.system) / 1000 / runs, level };
}

const MEGABYTE = 1024 * 1024;
const ROUNDS = 5;
const rows = [];
for (const [label, bytes] of [['1 KB', 1024], ['10 KB', 10 * 1024], ['100 KB', 100 * 1024], ['1 MB', MEGABYTE]]) {
  const text = mixedText(bytes, bytes % 13);
  // Five rounds, median: on a shared VM a single round can land on a stolen core and read 40 % low.
  const rounds = Array.from({ length: ROUNDS }, () => measure(text, bytes >= MEGABYTE ? 1200 : 600)).sort((a, b) => a.cpuMs - b.cpuMs);
  const { wallMs, cpuMs, level } = rounds[Math.floor(rounds.length / 2)];
  rows.push({
    label,
    wallMs,
    cpuMs,
    wallMegabytesPerSecond: bytes / MEGABYTE / (wallMs / 1000),
    cpuMegabytesPerSecond: bytes / MEGABYTE / (cpuMs / 1000),
    cpuMsPer10Kb: cpuMs * ((10 * 1024) / bytes),
    level,
  });
}

// Text the Unicode fold changes is scanned twice (as written and folded): 100 KB of Russian and
// Greek prose (test/fixtures/classify/prose-*.txt, repeated) with a few ASCII secrets, and the
// mixed text with one look-alike spelling (`pаssword`, Cyrillic а) per 2 KB.
const PROSE_RU = readFileSync(new URL('../test/fixtures/classify/prose-ru.txt', import.meta.url), 'utf8');
const PROSE_EL = readFileSync(new URL('../test/fixtures/classify/prose-el.txt', import.meta.url), 'utf8');
function repeated(source, bytes) {
  let text = '';
  for (let index = 0; text.length < bytes; index += 1) text += index % 8 === 7 ? SENSITIVE[(index / 8) % SENSITIVE.length | 0] : source;
  return text.slice(0, bytes);
}
const HUNDRED_KB = 100 * 1024;
// Record-shaped text (bench/record-shaped.js): a JSON export, the same as CSV, an application log,
// 1 MB each, a phone number and an e-mail address in every record. Each match used to be compared
// with every one found before it: 5 000 records of JSON took ~0.3-1.3 s (bench/RESULTS.md).
const RECORD_ROWS = [
  ['1 MB JSON records', recordShaped('json', MEGABYTE)],
  ['1 MB CSV records', recordShaped('csv', MEGABYTE)],
  ['1 MB log lines', recordShaped('log', MEGABYTE)],
];
for (const [label, text] of RECORD_ROWS) {
  const rounds = Array.from({ length: ROUNDS }, () => measure(text, 1200)).sort((a, b) => a.cpuMs - b.cpuMs);
  const { wallMs, cpuMs, level } = rounds[Math.floor(rounds.length / 2)];
  rows.push({ label, wallMs, cpuMs, wallMegabytesPerSecond: text.length / MEGABYTE / (wallMs / 1000), cpuMegabytesPerSecond: text.length / MEGABYTE / (cpuMs / 1000), cpuMsPer10Kb: cpuMs * ((10 * 1024) / text.length), level, text: true, records: true });
}
for (const [label, text] of [
  ['100 KB Russian prose', repeated(PROSE_RU, HUNDRED_KB)],
  ['100 KB Greek prose', repeated(PROSE_EL, HUNDRED_KB)],
  ['100 KB mixed text with look-alikes', mixedText(HUNDRED_KB, HUNDRED_KB % 13).replace(/password/g, 'p\u0430ssword')],
]) {
  const rounds = Array.from({ length: ROUNDS }, () => measure(text, 600)).sort((a, b) => a.cpuMs - b.cpuMs);
  const { wallMs, cpuMs, level } = rounds[Math.floor(rounds.length / 2)];
  rows.push({ label, wallMs, cpuMs, wallMegabytesPerSecond: HUNDRED_KB / MEGABYTE / (wallMs / 1000), cpuMegabytesPerSecond: HUNDRED_KB / MEGABYTE / (cpuMs / 1000), cpuMsPer10Kb: cpuMs * ((10 * 1024) / HUNDRED_KB), level, text: true });
}

console.log(`| classifier input (median of ${ROUNDS} rounds) | wall ms per call | MB/s (wall) | MB/s (CPU) | ms per 10 KB (CPU) | level |`);
console.log('|---|---:|---:|---:|---:|---|');
for (const row of rows) {
  console.log(
    `| ${row.text === true ? row.label : `${row.label} mixed text`} | ${row.wallMs.toFixed(3)} | ${row.wallMegabytesPerSecond.toFixed(1)} | ${row.cpuMegabytesPerSecond.toFixed(1)} | ${row.cpuMsPer10Kb.toFixed(3)} | ${row.level} |`,
  );
}
// Targets (issue 4): >= 50 MB/s on 100 KB and 1 MB of mixed text, < 0.5 ms for a 10 KB request.
const slow = rows.filter((row) => (row.label === '100 KB' || row.label === '1 MB') && row.cpuMegabytesPerSecond < 50);
const tenKilobytes = rows.find((row) => row.label === '10 KB');
if (slow.length > 0 || (tenKilobytes !== undefined && tenKilobytes.cpuMs >= 0.5)) {
  console.error(`classifier below target (>= 50 MB/s on 100 KB and 1 MB of mixed text, < 0.5 ms per 10 KB request; CPU time): ${[...slow.map((row) => row.label), ...(tenKilobytes !== undefined && tenKilobytes.cpuMs >= 0.5 ? ['10 KB latency'] : [])].join(', ')}`);
  process.exitCode = 1;
}
// The record-shaped rows are measured against the same 50 MB/s, but issue 4's target is on mixed
// text: said on stderr, and in bench/RESULTS.md, without failing the run.
const slowRecords = rows.filter((row) => row.records === true && row.cpuMegabytesPerSecond < 50);
if (slowRecords.length > 0) {
  console.error(`classifier below 50 MB/s on record-shaped text (not issue 4's target, which is on mixed text; see bench/RESULTS.md): ${slowRecords.map((row) => `${row.label} ${row.cpuMegabytesPerSecond.toFixed(1)} MB/s`).join(', ')}`);
}

// An agent resends its whole conversation every turn (system prompt, tool definitions, earlier
// turns). The classifier and the prompt token estimate remember what they found in each long part
// (by SHA-256), so a turn costs the work on what is new plus hashing the rest. "Nothing
// remembered": every part of the conversation is new (first request, or after a policy change
// for the classifier); "earlier turns remembered": one new 2 KB message per request.

function agentConversation(totalBytes, variant) {
  const unique = (text) => `${variant} ${text}`;
  const system = unique(mixedText(20 * 1024, 3));
  const tools = Array.from({ length: 30 }, (_, index) => ({
    name: `tool_${index}`,
    description: unique(mixedText(1200, index)),
    inputSchema: { type: 'object', properties: { path: { type: 'string', description: mixedText(200, index + 1) } } },
  }));
  const messages = [];
  let size = system.length + 30 * 1500;
  for (let turn = 0; size < totalBytes; turn += 1) {
    const text = unique(mixedText(8 * 1024, turn * 11));
    messages.push({ role: turn % 2 === 0 ? 'user' : 'assistant', content: [{ type: 'text', text }] });
    size += text.length;
  }
  return { model: 'm', system, tools, messages, stream: false };
}

let variants = 0;
async function measureTurns(bytes, remembered, minimumMs) {
  const base = agentConversation(bytes, 'base');
  classifyRequest(base, OPTIONS);
  await estimatePromptTokens(base);
  let runs = 0;
  let classifyMs = 0;
  let tokensMs = 0;
  let level = 'public';
  let tokens = 0;
  while (classifyMs + tokensMs < minimumMs || runs < 3) {
    variants += 1;
    const conversation = remembered ? base : agentConversation(bytes, `variant ${variants}`);
    const newTurn = { role: 'user', content: [{ type: 'text', text: `turn ${variants}: ${mixedText(2048, variants)}` }] };
    const request = { ...conversation, messages: [...conversation.messages, newTurn] };
    let started = process.cpuUsage();
    level = classifyRequest(request, OPTIONS).level;
    let used = process.cpuUsage(started);
    classifyMs += (used.user + used.system) / 1000;
    started = process.cpuUsage();
    tokens = await estimatePromptTokens(request);
    used = process.cpuUsage(started);
    tokensMs += (used.user + used.system) / 1000;
    runs += 1;
  }
  return { classifyMs: classifyMs / runs, tokensMs: tokensMs / runs, level, tokens };
}

const conversationRows = [];
for (const [label, bytes] of [['100 KB', 100 * 1024], ['1 MB', MEGABYTE]]) {
  for (const remembered of [false, true]) {
    const rounds = [];
    for (let round = 0; round < ROUNDS; round += 1) rounds.push(await measureTurns(bytes, remembered, bytes >= MEGABYTE ? 2000 : 600));
    const median = (key) => rounds.map((row) => row[key]).sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
    conversationRows.push({ label, remembered, classifyMs: median('classifyMs'), tokensMs: median('tokensMs'), level: rounds[0].level, tokens: rounds[0].tokens });
  }
}
console.log('');
console.log(`| agent conversation, one new 2 KB turn per request (median of ${ROUNDS} rounds) | classify, CPU ms | prompt token estimate, CPU ms | level | estimated tokens |`);
console.log('|---|---:|---:|---|---:|');
for (const row of conversationRows) {
  console.log(`| ${row.label}, ${row.remembered ? 'earlier turns remembered' : 'nothing remembered'} | ${row.classifyMs.toFixed(3)} | ${row.tokensMs.toFixed(3)} | ${row.level} | ${row.tokens} |`);
}

// Agent-shaped inputs, where the decoded view (encoded-text.ts) has the most to look at: a 200 KB
// coding-agent request (tool calls reading source files, their results as JSON with escaped
// strings and file paths, shell output with ANSI escapes, a screenshot as a base64 data URL in a
// tool result and one inline image), 100 KB of minified JavaScript ending in an inline source map,
// and 100 KB of an npm lockfile (sha512 integrity hashes, registry URLs). Each request is new to
// the classifier (nothing remembered), so this is the cost of scanning it.
const SOURCE_FILES = ['wire', 'router']
  .flatMap((folder) => readdirSync(new URL(`../src/${folder}/`, import.meta.url)).filter((name) => name.endsWith('.ts')).sort().map((name) => `${folder}/${name}`))
  .map((path) => ({ path, text: readFileSync(new URL(`../src/${path}`, import.meta.url), 'utf8') }));

/** A PNG's base64: its signature and IHDR, then compressed-looking bytes. */
function pngBase64(bytes, seed) {
  const header = Buffer.from('89504e470d0a1a0a0000000d49484452000003200000025808060000009a38c4', 'hex');
  return Buffer.concat([header, pseudoRandomBytes(bytes - header.length, seed)]).toString('base64');
}
function base62(length, seed) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...pseudoRandomBytes(length, seed)].map((byte) => alphabet[byte % 62]).join('');
}

function codingAgentRequest(totalBytes, variant) {
  const tools = ['read_file', 'write_file', 'bash', 'grep', 'list_directory', 'screenshot', 'web_fetch', 'edit_file'].map((name, index) => ({
    name,
    description: `${mixedText(600, index)} Paths are absolute, under /home/dev/syndicate.`,
    inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'Absolute path, e.g. /home/dev/syndicate/src/wire/canonical.ts' }, command: { type: 'string' } }, required: ['path'] },
  }));
  const messages = [{ role: 'user', content: [{ type: 'text', text: `${variant} The gateway test in test/integration/gateway-images.test.ts fails since the last merge; find out why and fix it. ${mixedText(1500, 5)}` }] }];
  let size = 6 * 1024 + 8 * 900 + 1700;
  for (let turn = 0; size < totalBytes; turn += 1) {
    const file = SOURCE_FILES[turn % SOURCE_FILES.length];
    const path = `/home/dev/syndicate/src/${file.path}`;
    const kind = turn % 6;
    const id = `toolu_01${base62(22, turn + 1)}`;
    const name = kind === 3 ? 'bash' : kind === 4 ? 'grep' : kind === 5 && turn % 12 === 5 ? 'screenshot' : 'read_file';
    const argumentsJson = name === 'bash' ? JSON.stringify({ command: `cd /home/dev/syndicate && npx vitest run test/unit/${file.path.replace(/\.ts$/, '.test.ts')} 2>&1 | tail -40` }) : JSON.stringify({ path });
    let result;
    if (name === 'bash') {
      const lines = file.text.split('\n').slice(0, 30).map((line, index) => `\u001b[32m✓\u001b[39m test/unit/${file.path} > line ${index + 1}: ${line.trim()} \u001b[2m(${(index * 7) % 40} ms)\u001b[22m`);
      result = JSON.stringify({ stdout: `${lines.join('\n')}\n\u001b[31mFAIL\u001b[39m expected "image/png" got "image/jpeg"\n    at /home/dev/syndicate/test/unit/${file.path}:41:17`, stderr: '', exit_code: 1 });
    } else if (name === 'grep') {
      const hits = file.text.split('\n').flatMap((line, index) => (/export|import/.test(line) ? [`src/${file.path}:${index + 1}:${line}`] : [])).slice(0, 60);
      result = JSON.stringify({ matches: hits, truncated: hits.length === 60 });
    } else if (name === 'screenshot') {
      result = JSON.stringify({ width: 800, height: 600, image: `data:image/png;base64,${pngBase64(24 * 1024, turn)}` });
    } else {
      result = JSON.stringify({ path, content: file.text, lines: file.text.split('\n').length, sha256: pseudoRandomBytes(32, turn).toString('hex') });
    }
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `${variant} Let me look at ${path}.` }], toolCalls: [{ id, name, arguments: argumentsJson }] });
    messages.push({ role: 'tool', toolCallId: id, content: [{ type: 'text', text: `${variant} ${result}` }] });
    size += argumentsJson.length + result.length + 60;
    if (turn === 2) {
      const image = pngBase64(16 * 1024, 99);
      messages.push({ role: 'user', content: [{ type: 'image', mediaType: 'image/png', data: image }, { type: 'text', text: `${variant} This is what the page shows now.` }] });
      size += image.length;
    }
  }
  return { model: 'm', system: `${variant} ${mixedText(6 * 1024, 1)}`, tools, messages, stream: false };
}

/** Source as a minifier leaves it (comments gone, one long line per file), then an inline source map of it. */
function minifiedJavaScript(bytes) {
  let code = '';
  const sources = [];
  for (let index = 0; code.length < bytes * 0.6; index += 1) {
    const file = SOURCE_FILES[index % SOURCE_FILES.length];
    sources.push(file);
    code += `${file.text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/\s+/g, ' ').replace(/ ?([{}();,=:]) ?/g, '$1')};\n`;
  }
  const mappings = Array.from({ length: 4000 }, (_, index) => ['AAAA', 'SAASA', 'CAAC', 'EAAE', 'GAAGC', 'IAAIA', 'OAAOC'][index % 7]).join(',');
  const map = JSON.stringify({ version: 3, file: 'bundle.min.js', sources: sources.map((file) => `../src/${file.path}`), sourcesContent: sources.map((file) => file.text), mappings });
  return `${code}//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(map).toString('base64')}`.slice(0, bytes);
}

const agentRows = [];
const LOCKFILE = readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8').slice(0, HUNDRED_KB);
const MINIFIED = minifiedJavaScript(HUNDRED_KB);
const agentInputs = [
  ['200 KB coding-agent request', 200 * 1024, (variant) => codingAgentRequest(200 * 1024, variant), (request) => classifyRequest(request, OPTIONS)],
  ['100 KB minified JavaScript with an inline source map', HUNDRED_KB, (variant) => `${variant} ${MINIFIED}`, (text) => classifyText(text, OPTIONS)],
  ['100 KB npm lockfile', HUNDRED_KB, (variant) => `${variant} ${LOCKFILE}`, (text) => classifyText(text, OPTIONS)],
];
for (const [label, bytes, build, classify] of agentInputs) {
  const rounds = [];
  let level = 'public';
  let findings = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    let cpuMs = 0;
    let runs = 0;
    while (cpuMs < 600 || runs < 3) {
      variants += 1;
      // A new variant each call (the request cache remembers parts); building it is not measured.
      const input = build(`variant ${variants}`);
      const started = process.cpuUsage();
      const result = classify(input);
      const used = process.cpuUsage(started);
      cpuMs += (used.user + used.system) / 1000;
      runs += 1;
      level = result.level;
      findings = result.findings.length;
    }
    rounds.push(cpuMs / runs);
  }
  const cpuMs = rounds.sort((a, b) => a - b)[Math.floor(rounds.length / 2)];
  agentRows.push({ label, cpuMs, cpuMegabytesPerSecond: bytes / MEGABYTE / (cpuMs / 1000), level, findings });
}
console.log('');
console.log(`| agent-shaped input, nothing remembered (median of ${ROUNDS} rounds) | classify, CPU ms | MB/s (CPU) | level | findings |`);
console.log('|---|---:|---:|---|---:|');
for (const row of agentRows) console.log(`| ${row.label} | ${row.cpuMs.toFixed(3)} | ${row.cpuMegabytesPerSecond.toFixed(1)} | ${row.level} | ${row.findings} |`);
