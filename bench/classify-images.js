// Classifying a conversation whose earlier turns carry inline images, as a gateway client, an MCP
// session or `run --session` resends them every turn. Plain Node ESM against the built classifier:
// `npm run build && node bench/classify-images.js`; SYNDICATE_BENCH_DIST=/other/checkout/dist runs
// the same inputs against another build (see bench/classify.js). Prints markdown rows.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { pseudoRandomBytes } from './pseudo-random-bytes.js';

const DIST = process.env.SYNDICATE_BENCH_DIST === undefined ? new URL('../dist/', import.meta.url) : pathToFileURL(`${process.env.SYNDICATE_BENCH_DIST.replace(/\/$/, '')}/`);
const { classifyRequest } = await import(new URL('classify/index.js', DIST).href);

const MEGABYTE = 1024 * 1024;
const ROUNDS = 5;
const OPTIONS = { indicatorWords: ['password', 'credential', 'screenshot', 'camera'], patterns: [{ name: 'project-falcon', level: 'confidential', keywords: ['Project Falcon'] }] };

/**
 * Three images per turn, 1, 2.5 and 4 MB: a PNG (signature, IHDR, a tEXt chunk naming its
 * software), a JPEG (a comment with an e-mail address, found as personal data) and a WebP, then
 * compressed-looking bytes.
 */
function turnImages(turn) {
  const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452000003200000025808060000009a38c4', 'hex'), Buffer.from('\0\0\0\x19tEXtSoftware\0Screenshot tool 4.2\0\0\0\0', 'latin1')]);
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xfe, 0x00, 0x2a]), Buffer.from('Taken by jane.roe@example.com on the stand', 'latin1')]);
  const webp = Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1');
  return [
    ['image/png', png, 1 * MEGABYTE],
    ['image/jpeg', jpeg, 2.5 * MEGABYTE],
    ['image/webp', webp, 4 * MEGABYTE],
  ].map(([mediaType, header, size], index) => ({ mediaType, data: Buffer.concat([header, pseudoRandomBytes(size - header.length, turn * 3 + index + 1)]).toString('base64') }));
}

const MAX_TURNS = 5;
const IMAGES = Array.from({ length: MAX_TURNS }, (_, turn) => turnImages(turn));

/** `variant` changes 9 characters near the start of each image's base64 (past its header): every image is new to the classifier. */
function conversation(turns, variant) {
  const messages = [];
  for (let turn = 0; turn < turns; turn += 1) {
    const images = IMAGES[turn].map(({ mediaType, data }) => ({ type: 'image', mediaType, data: variant === undefined ? data : `${data.slice(0, 120)}${String(variant).padStart(9, 'A').slice(-9)}${data.slice(129)}` }));
    messages.push({ role: 'user', content: [...images, { type: 'text', text: `Turn ${turn}: what changed on the screen since the last screenshot?` }] });
    messages.push({ role: 'assistant', content: [{ type: 'text', text: `The dialog in the top right now shows build ${turn + 1}; the rest is unchanged.` }] });
  }
  return messages;
}

let variants = 0;
/**
 * CPU ms per classification of a request with `turns` earlier turns and one new text turn. Each
 * request is parsed from its JSON body first, as the gateway does (not measured): its image strings
 * are new strings every time, as they are when a client resends them.
 */
function measure(turns, remembered, minimumMs) {
  const body = JSON.stringify({ model: 'm', messages: conversation(turns, remembered ? undefined : 'first'), stream: false });
  classifyRequest(JSON.parse(body), OPTIONS);
  let cpuMs = 0;
  let runs = 0;
  let result;
  while (cpuMs < minimumMs || runs < 3) {
    variants += 1;
    const request = remembered ? JSON.parse(body) : JSON.parse(JSON.stringify({ model: 'm', messages: conversation(turns, variants), stream: false }));
    request.messages.push({ role: 'user', content: [{ type: 'text', text: `Turn ${turns} (${variants}): and now?` }] });
    const started = process.cpuUsage();
    result = classifyRequest(request, OPTIONS);
    const used = process.cpuUsage(started);
    cpuMs += (used.user + used.system) / 1000;
    runs += 1;
  }
  return { cpuMs: cpuMs / runs, level: result.level, findings: result.findings.length };
}

const rows = [];
for (const turns of [1, 3, 5]) {
  for (const remembered of [false, true]) {
    const rounds = Array.from({ length: ROUNDS }, () => measure(turns, remembered, 400)).sort((a, b) => a.cpuMs - b.cpuMs);
    const megabytes = turns * 7.5;
    rows.push({ label: `${turns} earlier ${turns === 1 ? 'turn' : 'turns'} × 3 images (${megabytes} MB), ${remembered ? 'images resent' : 'every image new'}`, ...rounds[Math.floor(ROUNDS / 2)] });
  }
}
console.log(`| conversation with inline images, one new text turn per request (median of ${ROUNDS} rounds) | classify, CPU ms | level | findings |`);
console.log('|---|---:|---|---:|');
for (const row of rows) console.log(`| ${row.label} | ${row.cpuMs.toFixed(3)} | ${row.level} | ${row.findings} |`);

// What knowing a 4 MB image again could cost: reading it (decoding the base64, finding its text),
// hashing its base64 (SHA-256, as the part cache keys text), or comparing it with a kept copy.
const image = IMAGES[0][2].data;
// Kept as the cache would keep it: a string parsed from a request body, as the one compared with it.
const kept = JSON.parse(JSON.stringify(image));
const PRINTABLE_RUN = /[\t\n\r\x20-\x7e]{12,}/g;
const ways = [
  ['read it: decode the base64, find its printable runs', (data) => (Buffer.from(data, 'base64').toString('latin1').match(PRINTABLE_RUN) ?? []).length],
  ['SHA-256 of its base64 text', (data) => createHash('sha256').update(data).digest('base64')],
  ['compare its base64 text with a kept copy', (data) => data === kept],
];
const costs = ways.map(([label, work]) => {
  const rounds = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    let cpuMs = 0;
    for (let run = 0; run < 10; run += 1) {
      const data = JSON.parse(JSON.stringify(image));
      const started = process.cpuUsage();
      work(data);
      const used = process.cpuUsage(started);
      cpuMs += (used.user + used.system) / 1000;
    }
    rounds.push(cpuMs / 10);
  }
  return { label, cpuMs: rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] };
});
console.log('');
console.log(`| one 4 MB image (${(image.length / MEGABYTE).toFixed(1)} M base64 characters), median of ${ROUNDS} rounds of 10 | CPU ms |`);
console.log('|---|---:|');
for (const cost of costs) console.log(`| ${cost.label} | ${cost.cpuMs.toFixed(3)} |`);
