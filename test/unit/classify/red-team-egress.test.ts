import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';

/**
 * Holes an egress red team left open (session 26): base64 split by single spaces or line breaks
 * at irregular places and base64 of Latin-1 text, e-mail addresses written out (`(at)`, `[at]`,
 * `at … dot com`), a netrc entry's password (confidential only, by its indicator word), Twilio,
 * Databricks and Discord bot tokens, and a labelled national id whose span took the verb before
 * it (`mi dni es 12345678-Z`). Each positive was `public` or too low before; the near misses
 * around each must stay as they were.
 */

const OPTIONS = { indicatorWords: [], patterns: [] };
const KEY = 'AKIAIOSFODNN7EXAMPLE';
const base64 = (text: string): string => Buffer.from(text).toString('base64');

function classify(text: string): ReturnType<typeof classifyText> {
  const result = classifyText(text, OPTIONS);
  expect(result.failedClosed).toBe(false);
  return result;
}

function detectorsOf(text: string): string[] {
  return classify(text).findings.map((finding) => finding.detector);
}

/** `value` cut at the given offsets, the pieces joined by `separators` in turn. */
function splitAt(value: string, cuts: readonly number[], separators: readonly string[]): string {
  const pieces: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(value.slice(from, cut));
    from = cut;
  }
  pieces.push(value.slice(from));
  return pieces.reduce((joined, piece, index) => `${joined}${separators[(index - 1) % separators.length] as string}${piece}`);
}

describe('base64 split at irregular places, and of Latin-1 text', () => {
  const encoded = base64(`deploy key ${KEY} now`);
  it.each([
    ['spaces', [7, 19, 30, 41], [' ']],
    ['line breaks', [13, 27, 33], ['\n']],
    ['CRLF and spaces mixed', [5, 22, 37], ['\r\n', ' ']],
    ['a two-character first piece', [2], [' ']],
    ['a tab', [17], ['\t']],
  ])('split by %s: restricted, the run reported as one', (_name, cuts, separators) => {
    const text = `please use ${splitAt(encoded, cuts, separators)} for the deploy`;
    const result = classify(text);
    expect(result.level).toBe('restricted');
    const finding = result.findings.find((found) => found.detector === 'secret.aws-access-key-id');
    expect(finding?.reason).toContain('base64');
    expect(text.slice(finding?.span.start, finding?.span.end)).toBe(splitAt(encoded, cuts, separators));
  });

  it('the bare key in base64 in short pieces, padding on its own piece', () => {
    expect(detectorsOf('QUtJ QUlPU0 ZPRE5O N0VYQU1 QTEU=')).toContain('secret.aws-access-key-id');
    expect(detectorsOf('key QUtJQUlPU0ZP RE5ON0VYQU1QTEU')).toContain('secret.aws-access-key-id');
    // In groups of four, as a fixed-width wrap with spaces would have it.
    expect(detectorsOf('QUtJ QUlP U0ZP RE5O N0VY QU1Q TEU=')).toContain('secret.aws-access-key-id');
  });

  it('base64 of Latin-1 text (not UTF-8) holding a key or a password: decoded and read', () => {
    const latin1 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');
    expect(detectorsOf(latin1(`Schlüssel für Jürgen: ${KEY}`))).toContain('secret.aws-access-key-id');
    expect(classify(`blob ${latin1('Contraseña de José: password=Ünïcödé-42!')}`).level).toBe('restricted');
  });

  it('near misses: prose, code, words in capitals, two blobs that decode apart, binary base64 and random ids stay as they were', () => {
    expect(classify('Hello world this is prose with getElementById calls and HTTPS words around SHA256 sums').level).toBe('public');
    expect(classify('const userName = getElementById(rootNodeId) ?? parseInt(valueOf2)').level).toBe('public');
    // Each blob decodes alone; joined they are misaligned: read one by one, as before.
    expect(classify(`${base64('hello there, world')} ${base64('and again, all is fine')}`).level).toBe('public');
    expect(classify(`${base64('abc')}x ${base64('fine text here')}`).level).toBe('public');
    // Random bytes: neither UTF-8 nor Latin-1 text (C1 controls, too few ASCII bytes).
    const random = Buffer.from(Array.from({ length: 48 }, (_, index) => (index * 97 + 13) % 256)).toString('base64');
    expect(classify(`${random.slice(0, 20)} ${random.slice(20)}`).level).toBe('public');
    expect(classify('ids 3f9aK2mQ7xR1 8vN4pL6tW0yZ and 5bC7dE9fG1hJ').level).toBe('public');
  });
});

describe('e-mail addresses written out', () => {
  it.each([
    ['jane.doe (at) example (dot) com'],
    ['jane[at]example[dot]com'],
    ['jane{at}example.co.uk'],
    ['jane <at> example <dot> org'],
    ['JANE [AT] EXAMPLE [DOT] COM'],
    ['jane at example dot com'],
    ['j.smith at mail dot example dot de'],
  ])('%s: pii.email, confidential, the whole address the span', (address) => {
    const text = `write to ${address} tomorrow`;
    const result = classify(text);
    expect(result.level).toBe('confidential');
    const finding = result.findings.find((found) => found.detector === 'pii.email');
    expect(text.slice(finding?.span.start, finding?.span.end)).toBe(address);
    expect(finding?.excerpt).not.toContain('jane');
  });

  it.each([
    ['look at the example dot com'],
    ['we met at the example'],
    ['meet at noon dot com'],
    ['the dot product at index 3'],
    ['icon at sprite dot png'],
    ['jane at example dot unknowntld'],
    ['x (at) y'],
    ['arrived at home dot com'],
  ])('%s: not an address', (text) => {
    expect(detectorsOf(text)).not.toContain('pii.email');
  });
});

describe('a netrc entry', () => {
  it.each([
    ['machine api.example.com login jane password s3cr3tPw'],
    ['machine github.com\n  login octocat\n  password ghxK92mLqp'],
    ['machine ftp.example.org password hunter2 login bob'],
    ['default login anonymous password guest42'],
    ['machine db.internal port 5432 login app account ops password Zz9-yy'],
  ])('%s: restricted, as every other password value is', (text) => {
    const result = classify(text);
    expect(result.level).toBe('restricted');
    expect(result.findings.find((found) => found.detector === 'credential.assignment')?.reason).toContain('netrc');
  });

  it('a quoted netrc password is restricted too (read as `PASSWORD \'x\'` already)', () => {
    expect(classify('default login anonymous password "two words"').level).toBe('restricted');
  });

  it.each([
    ['the password for this machine is kept elsewhere'],
    ['machine x login y password $NETRC_PASSWORD'],
    ['set the machine name, then the password field'],
    ['login jane password hunter2'],
  ])('%s: no netrc password', (text) => {
    expect(classify(text).findings.some((found) => found.reason.includes('netrc'))).toBe(false);
  });
});

describe('Twilio, Databricks and Discord bot tokens', () => {
  const TWILIO_KEY = 'SK2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d';
  const ACCOUNT_SID = 'AC8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d';
  const AUTH_TOKEN = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
  const DATABRICKS = 'dapi0123456789abcdef0123456789abcdef';
  const DISCORD = `${Buffer.from('123456789012345678').toString('base64url')}.GhT2xk.abcDEFghiJKLmnoPQRstuVWXyz0123456789ab`;

  it.each([
    ['secret.twilio-key', `twilio api key ${TWILIO_KEY}`],
    ['secret.twilio-key', `TWILIO_${TWILIO_KEY}`],
    ['secret.twilio-auth-token', `client = Client("${ACCOUNT_SID}", "${AUTH_TOKEN}")`],
    ['secret.twilio-auth-token', `curl -X POST https://api.twilio.com/…\n  ${ACCOUNT_SID}\n  ${AUTH_TOKEN}`],
    ['secret.twilio-auth-token', `token ${AUTH_TOKEN} for ${ACCOUNT_SID}`],
    ['secret.databricks-token', `export HOST=x.cloud.databricks.com; ${DATABRICKS}`],
    ['secret.databricks-token', `${DATABRICKS}-2`],
    ['secret.discord-bot-token', `client.login("${DISCORD}")`],
    ['secret.discord-bot-token', `Authorization: Bot ${Buffer.from('1098765432109876543').toString('base64url')}.Gx-9_a.${'a1B2c3D4e5F6g7H8i9J0k1L2m3N'}`],
  ])('%s in %j: restricted', (detector, text) => {
    const result = classify(text);
    expect(result.level).toBe('restricted');
    expect(result.findings.map((found) => found.detector)).toContain(detector);
    expect(JSON.stringify(result.findings)).not.toContain(detector === 'secret.twilio-auth-token' ? AUTH_TOKEN : text.includes(DISCORD) ? DISCORD : TWILIO_KEY);
  });

  it.each([
    ['a 31-digit SK', `SK${TWILIO_KEY.slice(2, 33)} here`],
    ['a 33-digit SK', `SK${TWILIO_KEY.slice(2)}e here`],
    ['SK glued to more letters', `${TWILIO_KEY}x`],
    ['an SK of hex letters only', `SK${'abcdef'.repeat(5)}ab`],
    ['an account SID alone', `account ${ACCOUNT_SID} only`],
    ['an account SID beside another SID', `${ACCOUNT_SID} and SK${'0'.repeat(32)}`],
    ['dapi with 31 hex digits', `${DATABRICKS.slice(0, -1)} short`],
    ['dapi with 33 hex digits', `${DATABRICKS}a long`],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln'],
    ['a first part that is no number', `${Buffer.from('hello world hello world!').toString('base64url')}.GhT2xk.abcDEFghiJKLmnoPQRstuVWXyz0123456789ab`],
    ['a second part of seven', `${DISCORD.split('.')[0] as string}.GhT2xkQ.abcDEFghiJKLmnoPQRstuVWXyz0123456789ab`],
    ['a third part too short', `${DISCORD.split('.')[0] as string}.GhT2xk.abcDEFghiJKL`],
    ['dotted names', 'org.example.project.module.ClassName.method'],
  ])('%s: not a token', (_name, text) => {
    expect(detectorsOf(text).filter((detector) => /twilio|databricks|discord/.test(detector))).toEqual([]);
  });
});

describe('a labelled national id is reported alone', () => {
  it.each([
    ['mi dni es 12345678-Z', '12345678-Z'],
    ['mi DNI es 12345678-Z', '12345678-Z'],
    ['MI DNI ES 12345678-Z', '12345678-Z'],
    ['Mi DNI es 12345678Z y ya está', '12345678Z'],
    ['mi NIE es X-1234567-L', 'X-1234567-L'],
    ['Steuer-ID lautet 12 345 678 901', '12 345 678 901'],
    ['il codice fiscale è RSSMRA85T10A562S', 'RSSMRA85T10A562S'],
    ['National Insurance number: QQ 12 34 56 C', 'QQ 12 34 56 C'],
    ['passport number 533380006', '533380006'],
  ])('%s: the span is %s', (text, id) => {
    const spans = classify(text).findings.filter((found) => found.detector === 'pii.national-id').map((found) => text.slice(found.span.start, found.span.end));
    expect(spans).toEqual([id]);
  });
});
