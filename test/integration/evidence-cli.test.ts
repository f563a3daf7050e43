import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginAttempt, createRecorder, decodeBytes, getEvidence, verifyChain, type EncodedBytes } from '../../src/evidence/index.js';
import { resolveHome } from '../../src/home/home.js';
import { BIN, makeTempHome, parseJsonDocument, REPO_ROOT, runCli } from '../helpers/cli.js';
import { registerFilesInHome, storedEvidenceList, withStore } from '../helpers/store.js';
import type { FakeEngine } from '../helpers/fake-engines/index.js';
import { Scenario } from '../helpers/scenario.js';
import { attemptStart, REQUEST_BODY, seedCompleted, seedDenial, SSE_CHUNKS } from '../unit/evidence/seed.js';

const BINARY_CHUNK = new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x00, 0xfe, 0x0a, 0x0a]);

/** The rows the evidence commands are tried on: two answers hours apart, a denial, one with bytes that are not UTF-8, and a dead writer's pending row. */
function seedEvidenceRows(home: string): { old: string; completed: string; denial: string; binary: string; orphan: string } {
  return withStore(home, (store) => {
    const old = seedCompleted(store, { now: Date.now() - 3 * 3600 * 1000, provider: { id: 'glm', version: 3, class: 'approved_hosted' } });
    const completed = seedCompleted(store);
    const denial = seedDenial(store);
    const binary = seedCompleted(store, { sessionId: 'sess-7' }, [BINARY_CHUNK]);
    // A CLI that died mid-stream: pending row, request and first chunk captured, pid gone.
    const orphan = beginAttempt(store, attemptStart({ requestId: 'req_orphan' }));
    const recorder = createRecorder(store, orphan, { flushIntervalMs: 0 });
    recorder.onRequest({ method: 'POST', url: 'http://127.0.0.1:9/v1/chat/completions', headers: {}, body: REQUEST_BODY });
    recorder.onResponseStart({ status: 200, headers: { 'content-type': 'text/event-stream' }, atMs: 4 });
    recorder.onChunk(Buffer.from(SSE_CHUNKS[0] ?? ''), 9);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    store.db.prepare('UPDATE evidence SET pid = ? WHERE id = ?').run(dead, orphan);
    return { old, completed, denial, binary, orphan };
  });
}

describe('syndicate evidence (CLI)', () => {
  const temporary = makeTempHome();
  const home = temporary.home;
  let completed: string;
  let old: string;
  let denial: string;
  let binary: string;
  let orphan: string;

  beforeAll(() => {
    ({ old, completed, denial, binary, orphan } = seedEvidenceRows(home));
  });
  afterAll(() => temporary.cleanup());

  it('list marks the dead writer interrupted with its partial bytes and prints one JSON document', async () => {
    const result = await runCli(['evidence', 'list', '--json'], { home });
    expect(result.exitCode).toBe(0);
    const document = parseJsonDocument(result.stdout) as { ok: boolean; evidence: Record<string, unknown>[] };
    expect(document.ok).toBe(true);
    expect(document.evidence.map((row) => row.id)).toEqual([orphan, binary, denial, completed, old]);
    expect(document.evidence[0]).toMatchObject({
      state: 'interrupted',
      verbatimCapture: 'partial',
      tokenAccounting: 'not_available',
      markers: ['partial_response'],
      status: 200,
    });
    expect(document.evidence[3]).toMatchObject({
      id: completed,
      kind: 'invocation',
      state: 'completed',
      provider: { id: 'ollama', version: 2, class: 'local' },
      model: 'llama3',
      status: 200,
      inputTokens: 5,
      outputTokens: 3,
      tokenAccounting: 'exact',
      verbatimCapture: 'full',
      toolCallFidelity: 'not_applicable',
      firstTokenMs: 20,
      totalMs: 60,
      markers: [],
    });
    const partial = withStore(home, (store) => getEvidence(store, orphan));
    expect(partial?.response.body?.toString()).toBe(SSE_CHUNKS[0]);
  });

  it('list filters by --since, --provider, --state, --session, --sensitivity, --class and --limit and renders a table', async () => {
    // Reads only: all at once.
    const listed = async (...filters: string[]): Promise<Record<string, unknown>> => parseJsonDocument((await runCli(['evidence', 'list', ...filters, '--json'], { home })).stdout);
    const ids = async (...filters: string[]): Promise<string[]> => ((await listed(...filters)).evidence as { id: string }[]).map((row) => row.id);
    const [recent, glm, denied, session, limited, all, limitedHuman, confidential, hosted, approvedCompleted, confidentialLocal, human, sessionHuman, typo, confidentialAndAbove, internalAndConfidential, repeated] = await Promise.all([
      listed('--since', '1h'),
      listed('--provider', 'glm'),
      listed('--state', 'denied'),
      listed('--session', 'sess-7'),
      listed('--limit', '2'),
      listed('--limit', '5'),
      runCli(['evidence', 'list', '--limit', '2'], { home }),
      ids('--sensitivity', 'confidential'),
      ids('--class', 'hosted'),
      ids('--class', 'approved_hosted', '--state', 'completed'),
      ids('--sensitivity', 'confidential', '--class', 'local'),
      runCli(['evidence', 'list'], { home }),
      runCli(['evidence', 'list', '--session', 'sess-7'], { home }),
      runCli(['evidence', 'list', '--session', 'sess-8'], { home }),
      ids('--sensitivity', 'confidential,restricted'),
      ids('--sensitivity', 'internal,confidential'),
      ids('--sensitivity', 'restricted', '--sensitivity', 'confidential'),
    ]);
    expect((recent.evidence as unknown[]).length).toBe(4);
    expect((glm.evidence as { id: string }[]).map((row) => row.id)).toEqual([old]);
    expect((denied.evidence as { id: string }[]).map((row) => row.id)).toEqual([denial]);
    expect(session.evidence).toEqual([expect.objectContaining({ id: binary, sessionId: 'sess-7' })]);
    // The session ids `--session` takes are in the list: a column once a row names one.
    expect(sessionHuman.stderr).toBe('');
    expect(sessionHuman.stdout.split('\n')[0]).toMatch(/\s+MARKERS\s+SESSION$/);
    expect(sessionHuman.stdout.split('\n')[1]).toMatch(new RegExp(`^${binary}\\s.*\\ssess-7$`));
    // A session id nothing bears (a typo): no rows, exit 0, and a warning saying where the ids are.
    expect(typo.exitCode).toBe(0);
    expect(typo.stdout).toBe('no evidence rows match');
    expect(typo.stderr).toContain('warning: no stored session and no evidence row is named "sess-8": check the id');
    expect((limited.evidence as unknown[]).length).toBe(2);
    expect(limited).toMatchObject({ total: 5, truncated: true });
    expect(glm).toMatchObject({ total: 1, truncated: false });
    expect(all).toMatchObject({ total: 5, truncated: false });
    expect(limitedHuman.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(limitedHuman.stderr).toBe('showing the newest 2 of 5 rows; use --limit 5 to list them all');
    // Where data of one level went: the denial is the only confidential row, and it was bound for a hosted class.
    expect(confidential).toEqual([denial]);
    expect(hosted).toEqual([denial, old]);
    expect(approvedCompleted).toEqual([old]);
    expect(confidentialLocal).toEqual([]);
    // Several levels, comma-separated (an auditor's "confidential and above"), or the flag repeated: rows of any of them.
    expect(confidentialAndAbove).toEqual([denial]);
    expect(repeated).toEqual([denial]);
    expect(internalAndConfidential).toHaveLength(5);
    expect(internalAndConfidential).toContain(denial);

    expect(human.exitCode).toBe(0);
    expect(human.stderr).toBe('');
    const lines = human.stdout.trimEnd().split('\n');
    // One row names a session (sess-7): the SESSION column is there.
    expect(lines[0]).toMatch(/^ID\s+TIME \(UTC\)\s+STATE\s+SENSITIVITY\s+PROVIDER\s+CLASS\s+MODEL\s+STATUS\s+TOKENS\s+TTFT\/TOTAL MS\s+MARKERS\s+SESSION$/);
    expect(lines).toHaveLength(6);
    const completedLine = lines.find((line) => line.startsWith(completed)) ?? '';
    expect(completedLine).toMatch(/completed\s+internal\s+ollama@v2\s+local\s+llama3\s+200\s+5\/3 exact\s+20\/60/);
    expect(lines.find((line) => line.startsWith(denial))).toMatch(/denied\s+confidential\s+anthropic@v1\s+approved_hosted\s+claude\s+-\s+n\/a/);
  });

  it('list rejects bad filters with exit 2', async () => {
    // Refusals and reads, each independent of the others, before the provider is registered: all at once.
    const [state, level, comparison, providerClass, unknownProvider, quiet, since, bareList, bareExport, ...tooFar] = await Promise.all([
      runCli(['evidence', 'list', '--state', 'done', '--json'], { home }),
      runCli(['evidence', 'list', '--sensitivity', 'secret', '--json'], { home }),
      runCli(['evidence', 'export', '--sensitivity', '>=confidential', '--json'], { home }),
      runCli(['evidence', 'list', '--class', 'cloud', '--json'], { home }),
      runCli(['evidence', 'list', '--provider', 'nope', '--json'], { home }),
      runCli(['evidence', 'list', '--provider', 'glm', '--since', '1h'], { home }),
      runCli(['evidence', 'list', '--since', 'yesterday'], { home }),
      // A bare number is refused, not read as seconds.
      ...['list', 'export'].map((command) => runCli(['evidence', command, '--since', '30'], { home })),
      // Beyond the maximum the window start used to leave the range of a Date (exit 70).
      ...['list', 'export'].map((command) => runCli(['evidence', command, '--since', '99999999999d'], { home })),
    ]);
    // An empty window, as `metrics` refuses it: `export --since 0` read as "since the beginning" exported nothing, exit 0.
    const empty = await Promise.all(['list', 'export'].flatMap((command) => ['0', '0s'].map((since) => runCli(['evidence', command, '--since', since], { home }))));
    for (const result of empty) {
      expect(result.exitCode, result.stdout).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: --since must be between 1ms and 3650d, got "0s?"\n/);
    }
    // A limit beyond a safe integer reached SQLite as a float: "datatype mismatch", exit 70.
    const limits = await Promise.all(['0', '2.5', '99999999999999999999', '1e300'].map((limit) => runCli(['evidence', 'list', '--limit', limit, '--json'], { home })));
    for (const [index, limit] of ['0', '2.5', '99999999999999999999', '1e300'].entries()) {
      expect(limits[index]!.exitCode, limits[index]!.stdout).toBe(2);
      expect(parseJsonDocument(limits[index]!.stdout)).toEqual({
        ok: false,
        error: { code: 'usage', message: `invalid --limit "${limit}"`, hint: 'use a whole number of rows, from 1 to 9007199254740991' },
      });
    }
    expect(state.exitCode).toBe(2);
    // Fixed sets, refused as every command's choices are (and offered by the help and the completion scripts).
    expect(parseJsonDocument(state.stdout)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: "option '--state <state>' argument 'done' is invalid. Allowed choices are pending, completed, failed, interrupted, denied." },
    });
    expect(level.exitCode).toBe(2);
    const levelsHint = 'give one of public, internal, confidential, restricted, or several separated by commas: --sensitivity confidential,restricted (confidential and above)';
    expect(parseJsonDocument(level.stdout)).toEqual({
      ok: false,
      error: { code: 'usage', message: '--sensitivity secret: "secret" is not a sensitivity level', hint: levelsHint },
    });
    // A comparison is no syntax of it (unquoted, the shell would take `>` for a redirection): the hint gives the list that means it.
    expect(comparison.exitCode).toBe(2);
    expect(parseJsonDocument(comparison.stdout)).toEqual({
      ok: false,
      error: { code: 'usage', message: '--sensitivity >=confidential: ">=confidential" is not a sensitivity level', hint: levelsHint },
    });
    expect(providerClass.exitCode).toBe(2);
    expect(parseJsonDocument(providerClass.stdout)).toMatchObject({
      ok: false,
      error: { message: "option '--class <class>' argument 'cloud' is invalid. Allowed choices are local, approved_hosted, restricted_hosted, hosted." },
    });
    // A provider id nothing is registered under and no row names: most likely mistyped.
    expect(unknownProvider.exitCode).toBe(2);
    expect(parseJsonDocument(unknownProvider.stdout)).toMatchObject({
      ok: false,
      error: { code: 'usage', message: 'unknown provider "nope"', hint: expect.stringContaining('no providers are registered yet') },
    });
    // A provider id known from its evidence (glm, never registered here) or registered (with no evidence): no row is not an error.
    expect({ exitCode: quiet.exitCode, stdout: quiet.stdout }).toEqual({ exitCode: 0, stdout: 'no evidence rows match' });
    await registerFilesInHome(home, join(REPO_ROOT, 'providers', 'examples', 'anthropic-hosted.yaml'));
    const [registered, mistyped] = await Promise.all([
      runCli(['evidence', 'list', '--provider', 'anthropic-hosted'], { home }),
      runCli(['evidence', 'list', '--provider', 'anthropic-host'], { home }),
    ]);
    expect({ exitCode: registered.exitCode, stdout: registered.stdout }).toEqual({ exitCode: 0, stdout: 'no evidence rows match' });
    expect(mistyped.exitCode).toBe(2);
    expect(mistyped.stderr).toContain('hint: known providers: anthropic-hosted');
    expect(since.exitCode).toBe(2);
    expect(since.stderr).toContain('invalid --since "yesterday"');
    for (const result of [bareList!, bareExport!]) {
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toBe('error: --since "30" has no unit: 30 days, 30 hours, 30 minutes or 30 seconds?\nhint: write the unit: --since 30d for 30 days (or 30h, 30m, 30s)');
    }
    for (const result of tooFar) {
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain('--since must be between 1ms and 3650d, got "99999999999d"');
    }
  });

  it('show prints the envelope, and --raw writes exactly the stored bytes', async () => {
    const json = await runCli(['evidence', 'show', completed, '--json'], { home });
    expect(json.exitCode).toBe(0);
    const document = parseJsonDocument(json.stdout) as { evidence: { request: { body: EncodedBytes; headers: Record<string, string> }; response: { body: EncodedBytes; chunks: unknown[] } } };
    expect(document.evidence.request.body).toEqual({ encoding: 'utf8', data: REQUEST_BODY });
    expect(document.evidence.request.headers.authorization).toBe('[redacted]');
    expect(document.evidence.response.body).toEqual({ encoding: 'utf8', data: SSE_CHUNKS.join('') });
    expect(document.evidence.response.chunks).toHaveLength(3);

    const human = await runCli(['evidence', 'show', completed.slice(0, 20)], { home });
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain(`id           ${completed}`);
    expect(human.stdout).toMatch(/tokens\s+5\/3 exact/);
    // The version as `run`'s summary and `provider list` write it.
    expect(human.stdout).toMatch(/^provider +ollama@v2 \(local\), model llama3$/m);

    const request = await runCli(['evidence', 'show', completed, '--raw', 'request'], { home });
    expect(request.stdout).toBe(REQUEST_BODY);
    const raw = await execa('node', [BIN, 'evidence', 'show', binary, '--raw', 'response'], {
      env: { SYNDICATE_HOME: home, NO_COLOR: '1' },
      encoding: 'buffer',
      stripFinalNewline: false,
      reject: false,
    });
    expect(raw.exitCode).toBe(0);
    expect(Buffer.from(raw.stdout).equals(Buffer.from(BINARY_CHUNK))).toBe(true);
  });

  it('show refuses unknown ids, missing bytes and --raw with --json (exit 2)', async () => {
    const [unknown, noBytes, both, badPart, ...emptyIds] = await Promise.all([
      runCli(['evidence', 'show', 'ev_nope', '--json'], { home }),
      runCli(['evidence', 'show', denial, '--raw', 'response'], { home }),
      runCli(['evidence', 'show', completed, '--raw', 'response', '--json'], { home }),
      runCli(['evidence', 'show', completed, '--raw', 'headers'], { home }),
      ...['', ' '].map((empty) => runCli(['evidence', 'show', empty, '--json'], { home })),
    ]);
    for (const emptyId of emptyIds) {
      expect(emptyId.exitCode).toBe(2);
      expect(parseJsonDocument(emptyId.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: 'the evidence id is empty' } });
    }
    expect(unknown.exitCode).toBe(2);
    expect(parseJsonDocument(unknown.stdout)).toMatchObject({ ok: false, error: { code: 'usage', message: 'no evidence row ev_nope' } });
    expect(noBytes.exitCode).toBe(2);
    expect(noBytes.stdout).toBe('');
    expect(noBytes.stderr).toContain(`evidence ${denial} holds no response bytes (state denied)`);
    expect(both.exitCode).toBe(2);
    expect(badPart.exitCode).toBe(2);
  });

  it('show takes an id or a unique prefix in any case', async () => {
    for (const given of [completed.toUpperCase(), ` ${completed.slice(0, -2).toUpperCase()} `]) {
      const shown = await runCli(['evidence', 'show', given, '--json'], { home });
      expect(shown.exitCode, given).toBe(0);
      expect(parseJsonDocument(shown.stdout), given).toMatchObject({ ok: true, evidence: { id: completed } });
    }
  });

  it('export writes JSON lines whose bodies decode to the stored bytes, to stdout or a 0600 file', async () => {
    const result = await runCli(['evidence', 'export', '--format', 'jsonl'], { home });
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    const envelopes = lines.map((line) => JSON.parse(line) as { id: string; response: { body: EncodedBytes | null } });
    const byId = new Map(envelopes.map((envelope) => [envelope.id, envelope]));
    const binaryBody = byId.get(binary)?.response.body;
    expect(binaryBody?.encoding).toBe('base64');
    expect(binaryBody === null || binaryBody === undefined ? undefined : decodeBytes(binaryBody).equals(Buffer.from(BINARY_CHUNK))).toBe(true);
    expect(byId.get(denial)?.response.body).toBeNull();

    const recent = await runCli(['evidence', 'export', '--since', '1h'], { home });
    expect(recent.stdout.trimEnd().split('\n')).toHaveLength(4);
    // `--output -` is stdout, as with most tools: no file named "-".
    const dash = await runCli(['evidence', 'export', '--output', '-'], { home, cwd: home });
    expect(dash.exitCode, dash.stderr).toBe(0);
    expect(dash.stdout).toBe(result.stdout);
    expect(readdirSync(home)).not.toContain('-');

    // An existing file others can read is replaced by a 0600 one: the envelopes hold verbatim prompts.
    const file = join(home, 'export.jsonl');
    writeFileSync(file, 'an older export\n', { mode: 0o644 });
    chmodSync(file, 0o644);
    const toFile = await runCli(['evidence', 'export', '--output', file, '--json'], { home });
    expect(toFile.exitCode).toBe(0);
    expect(parseJsonDocument(toFile.stdout)).toEqual({ ok: true, output: file, rows: 5 });
    // runCli strips the final newline of stdout.
    expect(readFileSync(file, 'utf8')).toBe(`${result.stdout}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(home).filter((name) => name.includes('export.jsonl'))).toEqual(['export.jsonl']);

    // A symlink is refused, its target untouched; so is anything that is not a regular file.
    const target = join(home, 'target.txt');
    writeFileSync(target, 'target\n', { mode: 0o644 });
    symlinkSync(target, join(home, 'link.jsonl'));
    const throughLink = await runCli(['evidence', 'export', '--output', join(home, 'link.jsonl')], { home });
    expect(throughLink.exitCode).toBe(2);
    expect(throughLink.stderr).toContain(`error: --output ${join(home, 'link.jsonl')} is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('target\n');
    expect(lstatSync(join(home, 'link.jsonl')).isSymbolicLink()).toBe(true);
    const directory = await runCli(['evidence', 'export', '--output', home], { home });
    expect(directory.exitCode).toBe(2);
    expect(directory.stderr).toContain(`error: --output ${home} is not a regular file`);

    const jsonToStdout = await runCli(['evidence', 'export', '--json'], { home });
    expect(jsonToStdout.exitCode).toBe(2);
    // An --output that cannot be written is the caller's argument, not a store failure.
    const nowhere = await runCli(['evidence', 'export', '--output', join(home, 'missing-dir', 'export.jsonl')], { home });
    expect(nowhere.exitCode).toBe(2);
    // Named by the operator's path and why, not by the temporary file the write goes through first.
    expect(nowhere.stderr).toContain(`error: cannot write ${join(home, 'missing-dir', 'export.jsonl')}: its directory ${join(home, 'missing-dir')} does not exist\n`);
    expect(nowhere.stderr).not.toContain('.tmp');
    expect(nowhere.stderr).toContain('hint: choose a writable path for --output');
    // A file where the directory should be: it exists, so "does not exist" sent the operator looking for nothing.
    writeFileSync(join(home, 'a-file'), 'x');
    const [underFile, empty] = await Promise.all([
      runCli(['evidence', 'export', '--output', join(home, 'a-file', 'export.jsonl')], { home }),
      // `--output "$FILE"` with FILE unset: it said "its directory . does not exist".
      runCli(['evidence', 'export', '--output', '', '--json'], { home }),
    ]);
    expect(underFile.exitCode).toBe(2);
    expect(underFile.stderr).toContain(`error: cannot write ${join(home, 'a-file', 'export.jsonl')}: ${join(home, 'a-file')} is not a directory\n`);
    expect(empty.exitCode).toBe(2);
    expect(parseJsonDocument(empty.stdout)).toEqual({
      ok: false,
      error: { code: 'usage', message: '--output must name a file, got an empty value', hint: 'give a path, e.g. --output evidence.jsonl' },
    });
  });

  it('verify passes on the untouched store, then fails (exit 1) at the edited row and at a deleted row', async () => {
    // A home of its own: this test edits and deletes rows the other tests list, whatever their order.
    const tampered = makeTempHome();
    const rows = seedEvidenceRows(tampered.home);
    try {
      const intact = await runCli(['evidence', 'verify', '--json'], { home: tampered.home });
      expect(intact.exitCode).toBe(0);
      const document = parseJsonDocument(intact.stdout) as { ok: boolean; rows: number; head: { seq: number; hash: string } };
      expect(document).toMatchObject({ ok: true, rows: 5, head: { seq: 5 } });
      // Never pruned: the lists are empty, not left out (`jq '.prunes[]'` then prints nothing rather than failing).
      expect(document).toMatchObject({ prunes: [], prunedBreaks: [] });
      const human = await runCli(['evidence', 'verify'], { home: tampered.home });
      expect(human.stdout).toBe(`evidence chain intact: 5 rows, head #5 ${document.head.hash}`);
      expect(human.stderr).toContain(`keep \`5:${document.head.hash}\` outside this machine's store`);
      // From that recorded head: only its row (and any newer) is checked.
      const fromHead = await runCli(['evidence', 'verify', '--json', '--from', `5:${document.head.hash}`], { home: tampered.home });
      expect(fromHead.exitCode).toBe(0);
      expect(parseJsonDocument(fromHead.stdout)).toMatchObject({ ok: true, rows: 1, head: { seq: 5 }, from: { seq: 5 } });
      // Hex in any case is the same head.
      const upperCase = await runCli(['evidence', 'verify', '--json', '--from', `5:${document.head.hash.toUpperCase()}`], { home: tampered.home });
      expect(upperCase.exitCode, upperCase.stdout).toBe(0);
      expect(parseJsonDocument(upperCase.stdout)).toMatchObject({ ok: true, rows: 1, from: { seq: 5, hash: document.head.hash } });
      const otherHead = await runCli(['evidence', 'verify', '--from', `5:${'0'.repeat(64)}`], { home: tampered.home });
      expect(otherHead.exitCode).toBe(1);
      expect(otherHead.stderr).toContain('evidence chain broken at #5');
      expect(otherHead.stderr).toContain('anchor mismatch');
      const malformed = await runCli(['evidence', 'verify', '--from', 'head'], { home: tampered.home });
      expect(malformed.exitCode).toBe(2);
      expect(malformed.stderr).toContain('hint: give a head as an earlier `evidence verify` printed it');
      // No chain position: a malformed head (exit 2), not a broken chain (exit 1: "row missing" at
      // #100000000000000000000, "anchor mismatch" at #0), which tells a CI job the evidence was edited.
      const [beyond, zero] = await Promise.all(['99999999999999999999', '0'].map((seq) => runCli(['evidence', 'verify', '--from', `${seq}:${document.head.hash}`], { home: tampered.home })));
      for (const result of [beyond!, zero!]) {
        expect(result.exitCode, result.stderr).toBe(2);
        expect(result.stderr).toContain('hint: give a head as an earlier `evidence verify` printed it');
        expect(result.stderr).not.toContain('broken');
      }

      const seqOfCompleted = withStore(tampered.home, (store) => {
        const row = store.db.prepare('SELECT chain_seq FROM evidence WHERE id = ?').get(rows.completed) as { chain_seq: number };
        store.db.prepare("UPDATE evidence SET model = 'gpt-4o' WHERE id = ?").run(rows.completed);
        return row.chain_seq;
      });
      const edited = await runCli(['evidence', 'verify', '--json'], { home: tampered.home });
      expect(edited.exitCode).toBe(1);
      expect(parseJsonDocument(edited.stdout)).toMatchObject({
        ok: false,
        error: {
          code: 'check_failed',
          message: `evidence chain broken at #${seqOfCompleted} (${rows.completed}): content changed`,
          details: { rows: seqOfCompleted - 1, brokenAt: { seq: seqOfCompleted, evidenceId: rows.completed, reason: 'content changed' } },
        },
      });
      expect(edited.stderr).toBe('');

      withStore(tampered.home, (store) => {
        store.db.prepare("UPDATE evidence SET model = 'llama3' WHERE id = ?").run(rows.completed);
        store.db.prepare('DELETE FROM evidence WHERE id = ?').run(rows.denial);
      });
      const deleted = await runCli(['evidence', 'verify'], { home: tampered.home });
      expect(deleted.exitCode).toBe(1);
      expect(deleted.stdout).toBe('');
      expect(deleted.stderr).toContain(`error: evidence chain broken at #${seqOfCompleted + 1}: row missing`);
    } finally {
      tampered.cleanup();
    }
  });

  it('a store truncated to nothing is refused (exit 6) by verify, metrics and list, not read as an intact empty chain, and left as it is', async () => {
    const truncated = makeTempHome();
    seedEvidenceRows(truncated.home);
    try {
      const store = join(truncated.home, 'syndicate.db');
      truncateSync(store, 0);
      const results = await Promise.all([['evidence', 'verify'], ['metrics'], ['evidence', 'list']].map((args) => runCli(['--json', ...args], { home: truncated.home })));
      for (const result of results) {
        expect(result.exitCode, result.stdout).toBe(6);
        expect(parseJsonDocument(result.stdout)).toMatchObject({
          ok: false,
          error: { code: 'store_failure', message: `the store ${store} is an empty file (0 bytes): it holds no store, not even an empty one`, hint: expect.stringContaining('restore it from a backup') },
        });
      }
      // Not made into a new, empty store by a command that only reads.
      expect(statSync(store).size).toBe(0);
    } finally {
      truncated.cleanup();
    }
  });

  it('verify fails (exit 1) on a finished row inserted outside the chain, which list and metrics would count', async () => {
    const forgedHome = makeTempHome();
    const rows = seedEvidenceRows(forgedHome.home);
    try {
      const forgedId = withStore(forgedHome.home, (store) => {
        const row = store.db.prepare('SELECT * FROM evidence WHERE id = ?').get(rows.completed) as Record<string, unknown>;
        const id = String(row['id']);
        // Another id of the same form: its last character changed (to one it is not).
        const forged = { ...row, id: `${id.slice(0, -1)}${id.endsWith('z') ? 'y' : 'z'}`, row_key: 1_000_000, chain_seq: null, request_id: 'req_forged' };
        store.db.prepare(`INSERT INTO evidence (${Object.keys(forged).join(', ')}) VALUES (${Object.keys(forged).map(() => '?').join(', ')})`).run(...Object.values(forged));
        return forged.id;
      });
      // Listed (as `evidence list` lists it, read in this process): the row is what list and metrics count.
      expect(storedEvidenceList(forgedHome.home).map((row) => row.id)).toContain(forgedId);
      const verify = await runCli(['--json', 'evidence', 'verify'], { home: forgedHome.home });
      expect(verify.exitCode).toBe(1);
      expect(parseJsonDocument(verify.stdout)).toMatchObject({
        ok: false,
        error: { code: 'check_failed', message: `evidence chain broken at ${forgedId}, a finished row outside it: not chained`, details: { rows: 5, brokenAt: { seq: 0, evidenceId: forgedId, reason: 'not chained' } } },
      });
      const human = await runCli(['evidence', 'verify'], { home: forgedHome.home });
      expect(human.exitCode).toBe(1);
      expect(human.stderr).toContain(`inspect it with \`syndicate evidence show ${forgedId}\``);
    } finally {
      forgedHome.cleanup();
    }
  });
});

describe('syndicate evidence on a row whose JSON columns were edited outside syndicate', () => {
  const temporary = makeTempHome('syndicate-evidence-tampered-');
  const home = temporary.home;
  let tampered: string;
  /** What the edit left in each JSON column of the row, exactly. */
  const STORED = {
    markers_json: 'not json',
    route_json: '{"chosen":',
    permit_json: '',
    warnings_json: '[null]',
    error_json: '42',
    request_headers_json: '{"authorization":',
    response_headers_json: '[]',
  };

  beforeAll(() => {
    withStore(home, (store) => {
      seedCompleted(store, { requestId: 'req_1' });
      seedDenial(store);
      seedCompleted(store, { requestId: 'req_3' });
      tampered = seedCompleted(store, { requestId: 'req_4' });
      seedCompleted(store, { requestId: 'req_5' });
      const columns = Object.keys(STORED);
      store.db.prepare(`UPDATE evidence SET ${columns.map((column) => `${column} = ?`).join(', ')} WHERE id = ?`).run(...Object.values(STORED), tampered);
    });
  });
  afterAll(() => temporary.cleanup());

  it('verify names the row and show, as its hint says, prints it with each unreadable value verbatim (exit 0)', async () => {
    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode).toBe(1);
    expect(verify.stderr).toContain(`inspect it with \`syndicate evidence show ${tampered}\``);

    const json = await runCli(['evidence', 'show', tampered, '--json'], { home });
    expect(json.exitCode, json.stderr).toBe(0);
    const { evidence } = parseJsonDocument(json.stdout) as { evidence: Record<string, unknown> & { request: Record<string, unknown>; response: Record<string, unknown> } };
    const unparsed = (text: string, reason: RegExp | string) => ({ unparsed: text, reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) });
    expect(evidence.markers).toEqual(unparsed(STORED.markers_json, /^not JSON: /));
    expect(evidence.route).toEqual(unparsed(STORED.route_json, /^not JSON: /));
    expect(evidence.permit).toEqual(unparsed(STORED.permit_json, /^not JSON: /));
    expect(evidence.warnings).toEqual(unparsed(STORED.warnings_json, 'not a list of warnings {setting, message}'));
    expect(evidence.error).toEqual(unparsed(STORED.error_json, 'not an error {code, message}'));
    expect(evidence.request.headers).toEqual(unparsed(STORED.request_headers_json, /^not JSON: /));
    expect(evidence.response.headers).toEqual(unparsed(STORED.response_headers_json, 'not headers {name: value}'));
    // The bytes were not touched: they are still there.
    expect(evidence.request.body).toEqual({ encoding: 'utf8', data: REQUEST_BODY });

    const human = await runCli(['evidence', 'show', tampered], { home });
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^markers +unparsed "not json" \(not JSON: .*\)$/m);
    expect(human.stdout).toMatch(/^error +unparsed "42" \(not an error \{code, message\}\)$/m);
    expect(human.stdout).toMatch(/^route +unparsed "\{\\"chosen\\":" \(not JSON: .*\)$/m);
    expect(human.stdout).toMatch(/^request headers +unparsed /m);

    const list = await runCli(['evidence', 'list'], { home });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout.split('\n').find((line) => line.startsWith(tampered))).toContain('unparsed "not json"');
  });

  it('export stays complete valid JSON lines, the unreadable values kept verbatim (exit 0)', async () => {
    const result = await runCli(['evidence', 'export'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    const envelopes = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(envelopes).toHaveLength(5);
    const row = envelopes.find((envelope) => envelope.id === tampered);
    expect(row?.markers).toMatchObject({ unparsed: STORED.markers_json });
    expect(row?.error).toMatchObject({ unparsed: STORED.error_json });
    expect(row?.request).toMatchObject({ headers: { unparsed: STORED.request_headers_json } });
  });

  it('metrics still count the row (exit 0)', async () => {
    const result = await runCli(['--json', 'metrics', '--since', '1h'], { home });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(parseJsonDocument(result.stdout)).toMatchObject({ metrics: { requests: { total: 4, local: 4 } } });
  });
});

describe('syndicate evidence export on a store whose evidence block was deleted outside syndicate', () => {
  const temporary = makeTempHome('syndicate-evidence-block-');
  const home = temporary.home;
  // Uniform bytes are cut into 64 KiB blocks: this body is stored as two.
  const LARGE_BODY = JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
  let large: string;

  beforeAll(() => {
    withStore(home, (store) => {
      seedCompleted(store, { requestId: 'req_1' });
      large = seedCompleted(store, { requestId: 'req_2' }, SSE_CHUNKS, LARGE_BODY);
      seedCompleted(store, { requestId: 'req_3' });
    });
  });
  afterAll(() => temporary.cleanup());

  it('still exports every envelope, the unreadable bytes marked, replaces the previous export whole, and exits 1 saying how many', async () => {
    const file = join(home, 'keep.jsonl');
    const before = await runCli(['evidence', 'export', '--output', file], { home });
    expect(before.exitCode, before.stderr).toBe(0);
    const previous = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(previous).toHaveLength(3);
    withStore(home, (store) => store.db.prepare('DELETE FROM evidence_blocks WHERE block_id = (SELECT MIN(block_id) FROM evidence_blocks)').run());

    const json = await runCli(['evidence', 'export', '--output', file, '--json'], { home });
    expect(json.exitCode).toBe(1);
    const reason = 'request chunk 0: missing evidence block';
    expect(parseJsonDocument(json.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'check_failed',
        message: `exported 3 envelopes to ${file}, but 1 envelope could not be read whole: ${large} (${reason})`,
        hint: expect.stringContaining('`syndicate evidence verify` names the first envelope affected'),
        details: { output: file, rows: 3, unreadable: 1, unreadableEnvelopes: [{ id: large, reason }] },
      },
    });
    const exported = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(exported).toHaveLength(3);
    expect([exported[0], exported[2]]).toEqual([previous[0], previous[2]]);
    const damaged = JSON.parse(exported[1] ?? '{}') as { id: string; request: { body: unknown }; response: { body: EncodedBytes } };
    expect(damaged.id).toBe(large);
    expect(damaged.request.body).toEqual({ unreadable: 'chunk 0: missing evidence block' });
    expect(decodeBytes(damaged.response.body).toString('utf8')).toBe(SSE_CHUNKS.join(''));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(home).filter((name) => name.includes('keep.jsonl'))).toEqual(['keep.jsonl']);

    const toStdout = await runCli(['evidence', 'export'], { home });
    expect(toStdout.exitCode).toBe(1);
    expect(toStdout.stdout.split('\n')).toEqual(exported);
    expect(toStdout.stderr).toContain(`error: exported 3 envelopes to stdout, but 1 envelope could not be read whole: ${large} (${reason})`);

    const verify = await runCli(['evidence', 'verify'], { home });
    expect(verify.exitCode).toBe(1);
    expect(verify.stderr).toContain(`evidence chain broken at #2 (${large})`);
  });
});

describe('syndicate evidence show of an envelope whose bytes were deleted outside syndicate', () => {
  const temporary = makeTempHome('syndicate-evidence-show-damaged-');
  const home = temporary.home;
  // Uniform bytes are cut into 64 KiB blocks: this body is stored as two.
  const LARGE_BODY = JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'y'.repeat(100_000) }] });
  const HINT = 'the store was changed outside syndicate: `syndicate evidence verify` names the first envelope affected';
  let blocksGone: string;
  let requestGone: string;

  beforeAll(() => {
    withStore(home, (store) => {
      blocksGone = seedCompleted(store, { requestId: 'req_blocks' }, SSE_CHUNKS, LARGE_BODY);
      requestGone = seedCompleted(store, { requestId: 'req_chunk' });
      store.db.prepare('DELETE FROM evidence_blocks').run();
      store.db.prepare('DELETE FROM evidence_chunks WHERE evidence_id = ? AND seq = 0').run(requestGone);
    });
  });
  afterAll(() => temporary.cleanup());

  it('--raw of the part whose bytes are gone: exit 1 (check_failed) naming what is missing, nothing on stdout', async () => {
    for (const [id, reason] of [
      [blocksGone, 'chunk 0: missing evidence block'],
      [requestGone, 'chunk 0: missing evidence chunk'],
    ] as const) {
      const human = await runCli(['evidence', 'show', id, '--raw', 'request'], { home });
      expect(human.exitCode, human.stderr).toBe(1);
      expect(human.stdout).toBe('');
      expect(human.stderr).toContain(`error: evidence ${id}: its request bytes cannot be read (${reason}); nothing was written`);
      expect(human.stderr).toContain('`syndicate evidence verify`');
      const json = await runCli(['--json', 'evidence', 'show', id, '--raw', 'request'], { home });
      expect(json.exitCode).toBe(2);
    }
  });

  it('--raw of the part that is whole: its exact bytes (exit 0), with a warning that the envelope is damaged', async () => {
    const response = await runCli(['evidence', 'show', requestGone, '--raw', 'response'], { home });
    expect(response.exitCode, response.stderr).toBe(0);
    // runCli strips one final newline of stdout.
    expect(response.stdout).toBe(SSE_CHUNKS.join('').slice(0, -1));
    expect(response.stderr).toContain(`warning: evidence ${requestGone} is damaged: request chunk 0: missing evidence chunk`);
  });

  it('show: the envelope as far as it reads, the missing bytes named, exit 1 as export does; --json has it in the error details', async () => {
    const human = await runCli(['evidence', 'show', blocksGone], { home });
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain(`id           ${blocksGone}`);
    expect(human.stdout).toContain('request      POST http://127.0.0.1:11434/v1/chat/completions (unreadable: chunk 0: missing evidence block)');
    expect(human.stdout).toContain(`response     ${SSE_CHUNKS.length} chunks`);
    expect(human.stderr).toContain(`error: evidence ${blocksGone} could not be read whole: request chunk 0: missing evidence block`);
    expect(human.stderr).toContain(`hint: ${HINT}`);

    const json = await runCli(['--json', 'evidence', 'show', requestGone], { home });
    expect(json.exitCode).toBe(1);
    const document = parseJsonDocument(json.stdout) as { ok: boolean; error: { code: string; message: string; hint: string; details: { evidence: { id: string; request: { body: unknown }; response: { body: EncodedBytes } } } } };
    expect(document.ok).toBe(false);
    expect(document.error).toMatchObject({ code: 'check_failed', message: `evidence ${requestGone} could not be read whole: request chunk 0: missing evidence chunk`, hint: expect.stringContaining(HINT) });
    expect(document.error.details.evidence.request.body).toEqual({ unreadable: 'chunk 0: missing evidence chunk' });
    expect(decodeBytes(document.error.details.evidence.response.body).toString('utf8')).toBe(SSE_CHUNKS.join(''));
  });

  it('export names both the same way (exit 1)', async () => {
    const exported = await runCli(['evidence', 'export'], { home });
    expect(exported.exitCode).toBe(1);
    expect(exported.stderr).toContain(
      `but 2 envelopes could not be read whole: ${blocksGone} (request chunk 0: missing evidence block), ${requestGone} (request chunk 0: missing evidence chunk)`,
    );
  });
});

describe('syndicate evidence on a store whose schema was damaged outside syndicate', () => {
  const temporary = makeTempHome('syndicate-evidence-schema-');
  const home = temporary.home;

  beforeAll(() => {
    withStore(home, (store) => {
      seedCompleted(store);
      seedDenial(store);
      store.db.exec('DROP TABLE evidence_chain_head');
    });
  });
  afterAll(() => temporary.cleanup());

  it('verify, export, list and metrics fail as a store failure (exit 6) naming the missing table, not as a bug', async () => {
    const verify = await runCli(['evidence', 'verify', '--json'], { home });
    expect(verify.exitCode).toBe(6);
    expect(parseJsonDocument(verify.stdout)).toMatchObject({
      ok: false,
      error: {
        code: 'store_failure',
        message: expect.stringContaining('is damaged: its schema lacks table evidence_chain_head'),
        hint: expect.stringContaining('restore syndicate.db from a backup'),
      },
    });
    for (const args of [['evidence', 'verify'], ['evidence', 'export'], ['evidence', 'list'], ['metrics']]) {
      const result = await runCli(args, { home });
      expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(6);
      expect(result.stderr).toContain('its schema lacks table evidence_chain_head');
    }
  });

  it('export --output leaves the previous export as it was, and no temporary file', async () => {
    const file = join(home, 'keep.jsonl');
    writeFileSync(file, 'the previous export\n', { mode: 0o600 });
    const result = await runCli(['evidence', 'export', '--output', file], { home });
    expect(result.exitCode).toBe(6);
    expect(readFileSync(file, 'utf8')).toBe('the previous export\n');
    expect(readdirSync(home).filter((name) => name.includes('keep.jsonl'))).toEqual(['keep.jsonl']);
  });
});

/** What the store held at the moment the upstream received the request. */
interface Witnessed {
  requestBody: Buffer;
  rows: { id: string; state: string; pid: number; chain_seq: number | null }[];
  storedRequest: Buffer | undefined;
}

describe('syndicate run: the pending row is in the store before the upstream sees a byte', () => {
  let scenario: Scenario;
  let server: Server;
  const witnessed: Witnessed[] = [];

  beforeAll(async () => {
    scenario = await Scenario.create();
    const storePath = resolveHome({ home: scenario.home }).storePath;
    // An OpenAI-compatible upstream that, on receiving a chat request and before answering, reads
    // the store through its own read-only connection.
    server = createServer((request, response) => {
      const parts: Buffer[] = [];
      request.on('data', (part: Buffer) => parts.push(part));
      request.on('end', () => {
        if (request.method === 'GET' && request.url === '/v1/models') {
          // The health check before routing.
          const models = { object: 'list', data: [{ id: 'llama3.2:latest', object: 'model', created: 1, owned_by: 'library' }] };
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(models));
          return;
        }
        if (request.method !== 'POST') {
          response.writeHead(404).end();
          return;
        }
        const db = new Database(storePath, { readonly: true });
        try {
          const rows = db.prepare('SELECT id, state, pid, chain_seq FROM evidence WHERE kind = ?').all('invocation') as Witnessed['rows'];
          const stored = db.prepare('SELECT bytes FROM evidence_chunks WHERE evidence_id = ? AND seq = 0').get(rows[0]?.id ?? '') as { bytes: Buffer } | undefined;
          witnessed.push({ requestBody: Buffer.concat(parts), rows, storedRequest: stored?.bytes });
        } finally {
          db.close();
        }
        const body = JSON.stringify({
          id: 'chatcmpl-witness',
          object: 'chat.completion',
          created: 1,
          model: 'llama3.2:latest',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
        });
        response.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const engine = { kind: 'ollama', baseUrl: `http://127.0.0.1:${port}/v1` } as FakeEngine;
    await scenario.registerInProcess({ id: 'witness', engine });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('holds a pending row of the calling process with the exact request bytes, completed afterwards', async () => {
    const { result, document } = await scenario.json(['run', 'Name the capital of France.', '--provider', 'witness', '--no-stream']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(witnessed).toHaveLength(1);
    const [seen] = witnessed;
    expect(seen?.rows).toHaveLength(1);
    expect(seen?.rows[0]).toMatchObject({ id: document.evidenceId, state: 'pending', chain_seq: null });
    // The process that runs the command (a child of this one), named by a real pid.
    const pid = seen?.rows[0]?.pid;
    expect(Number.isSafeInteger(pid) && (pid as number) > 0, `pid ${String(pid)}`).toBe(true);
    expect(pid).not.toBe(process.pid);
    expect(seen?.storedRequest?.equals(seen.requestBody)).toBe(true);
    // Read and verified in this process: `evidence show` and `verify` are the tests above.
    const envelope = scenario.storedEvidence(String(document.evidenceId));
    expect(envelope).toMatchObject({ state: 'completed', chainSeq: 1, verbatimCapture: 'full', tokenAccounting: 'exact' });
    expect(scenario.storedRawEvidence(String(document.evidenceId), 'request').equals(seen?.requestBody ?? Buffer.alloc(0))).toBe(true);
    expect(withStore(scenario.home, (store) => verifyChain(store))).toMatchObject({ ok: true, rows: 1 });
  });
});

describe('evidence export stopped by a signal', () => {
  const temporary = makeTempHome('syndicate-evidence-export-signal-');
  const home = temporary.home;
  beforeAll(() => {
    // Enough envelopes that the export is still writing when the signal comes.
    withStore(home, (store) => store.transaction(() => {
      for (let index = 0; index < 12_000; index += 1) seedDenial(store);
    }));
  }, 90_000);
  afterAll(() => temporary.cleanup());

  for (const [signal, exitCode, said] of [
    ['SIGTERM', 143, 'terminated (SIGTERM) before `evidence export` ended'],
    ['SIGINT', 130, 'cancelled by the operator (Ctrl-C) before `evidence export` ended'],
  ] as const) {
    it(`${signal} while it writes --output: exit ${exitCode}, the previous file kept, no temporary file (it finished and exited 0)`, { timeout: 90_000 }, async () => {
      const file = join(home, `export-${exitCode}.jsonl`);
      writeFileSync(file, 'previous\n');
      const child = execa('node', [BIN, '--json', 'evidence', 'export', '--output', file], { cwd: REPO_ROOT, env: { SYNDICATE_HOME: home, NO_COLOR: '1', FORCE_COLOR: '0' }, reject: false });
      // Signalled once the export has written rows to its temporary file: mid-export, whatever the machine's speed.
      const temporaryFile = (): string | undefined => readdirSync(home).find((name) => name.startsWith(`.export-${exitCode}.jsonl.`) && name.endsWith('.tmp'));
      for (;;) {
        const name = temporaryFile();
        if (name !== undefined && statSync(join(home, name)).size > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      child.kill(signal);
      const result = await child;
      expect(result.exitCode, String(result.stdout)).toBe(exitCode);
      expect(parseJsonDocument(String(result.stdout))).toEqual({
        ok: false,
        error: { code: 'interrupted', message: said, hint: `${file} was left as it was: the export replaces it only once complete; run it again` },
      });
      expect(readFileSync(file, 'utf8')).toBe('previous\n');
      expect(temporaryFile()).toBeUndefined();
    });
  }
});

describe('evidence show of the route exclusions an older syndicate recorded', () => {
  const temporary = makeTempHome();
  const home = temporary.home;
  let old: string;
  let current: string;
  const reason = 'class approved_hosted may not receive restricted data (allowed: local)';

  beforeAll(() => {
    ({ old, current } = withStore(home, (store) => ({
      // An answered row as earlier versions wrote it: `{target, reasons}`, kept verbatim.
      old: seedCompleted(store, { sensitivity: 'restricted', route: { excluded: [{ target: 'hosted:gpt-4o-mini', reasons: [reason] }] } }),
      // The router's exclusion whole, as every row is written now.
      current: seedCompleted(store, {
        sensitivity: 'restricted',
        route: { excluded: [{ provider: 'hosted', model: 'gpt-4o-mini', class: 'approved_hosted', rules: ['class_not_allowed'], reasons: [reason] }] },
      }),
    })));
  });
  afterAll(() => temporary.cleanup());

  it('both verify, are shown as stored in --json, and name the model left out and why in one line', async () => {
    expect((await runCli(['evidence', 'verify'], { home })).exitCode).toBe(0);
    const shown: string[] = [];
    for (const id of [old, current]) {
      const human = await runCli(['evidence', 'show', id], { home });
      expect(human.exitCode, human.stderr).toBe(0);
      shown.push(human.stdout.split('\n').find((line) => line.startsWith('left out')) ?? '');
    }
    expect(shown).toEqual([`left out     hosted:gpt-4o-mini: ${reason}`, `left out     hosted:gpt-4o-mini: ${reason}`]);
    const json = parseJsonDocument((await runCli(['--json', 'evidence', 'show', old], { home })).stdout) as { evidence: { route: unknown } };
    expect(json.evidence.route).toEqual({ excluded: [{ target: 'hosted:gpt-4o-mini', reasons: [reason] }] });
  });
});
