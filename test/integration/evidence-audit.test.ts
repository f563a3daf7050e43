/**
 * An auditor's questions, answered from the CLI alone over a store that real runs filled: which
 * policy decided each envelope, what reached a hosted provider in a time range, and what was
 * refused to one. Local and hosted engines are fakes on loopback; every command is the built CLI.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { Scenario } from '../helpers/scenario.js';

const HOSTED_KEY = { FAKE_HOSTED_KEY: 'test-key-not-a-secret' };
const STRICTER_POLICY = 'apiVersion: syndicate/v1\nkind: Policy\negress:\n  allowHosts: [127.0.0.1]\nsensitivity:\n  internal: [local]\n';

interface Row {
  id: string;
  createdAt: string;
  state: string;
  sensitivity: string | null;
  provider: { id: string | null; version: number | null; class: string | null };
  model: string | null;
}

describe('evidence for an audit', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let hosted: FakeEngine;
  /** Evidence ids in the order the runs made them. */
  const made: Record<string, string> = {};
  let firstDigest: string;
  let secondDigest: string;

  const run = async (name: string, args: string[], exitCode: number): Promise<void> => {
    const { result, document } = await scenario.json(['run', ...args], { env: HOSTED_KEY });
    expect(result.exitCode, result.stdout).toBe(exitCode);
    const evidenceId = exitCode === 0 ? document.evidenceId : (document.error as { details?: { evidenceId?: string } }).details?.evidenceId;
    expect(typeof evidenceId, JSON.stringify(document)).toBe('string');
    made[name] = evidenceId as string;
  };

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    hosted = await startFakeEngine({ kind: 'openai' });
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    await scenario.register({ id: 'local', engine: local }, { id: 'hosted', engine: hosted, class: 'approved_hosted', authEnv: 'FAKE_HOSTED_KEY', price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
    firstDigest = ((await scenario.json(['policy', 'show'])).document as { digest: string }).digest;
    await run('publicHosted', ['Name the capital of France.', '--provider', 'hosted'], 0);
    await run('internalHosted', ['our roadmap', '--sensitivity', 'internal', '--provider', 'hosted'], 0);
    await run('restrictedRefused', ['my password is hunter2, why does login fail?', '--provider', 'hosted'], 4);
    // The operator tightens the policy mid-way: internal data stays local from now on.
    writeFileSync(join(scenario.home, 'policy.yaml'), STRICTER_POLICY);
    secondDigest = ((await scenario.json(['policy', 'check'])).document as { digest: string }).digest;
    await run('internalRefused', ['our roadmap, again', '--sensitivity', 'internal', '--provider', 'hosted'], 4);
    await run('restrictedLocal', ['my password is hunter2, why does login fail?'], 0);
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all([local?.close(), hosted?.close()]);
  });

  it('every envelope with a route names the digest of the policy that decided it, which `policy show` and `policy check FILE` print', async () => {
    expect(firstDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(secondDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(secondDigest).not.toBe(firstDigest);
    const digestOf = async (name: string): Promise<unknown> => ((await scenario.evidence(made[name] as string)).route as { policyDigest?: unknown }).policyDigest;
    // Answers and refusals alike, before and after the edit.
    expect(await digestOf('publicHosted')).toBe(firstDigest);
    expect(await digestOf('internalHosted')).toBe(firstDigest);
    expect(await digestOf('restrictedRefused')).toBe(firstDigest);
    expect(await digestOf('internalRefused')).toBe(secondDigest);
    expect(await digestOf('restrictedLocal')).toBe(secondDigest);
    // An archived policy file is matched to the envelopes it decided; comments change nothing.
    const archived = join(scenario.home, 'archived-policy.yaml');
    writeFileSync(archived, `# kept in git\n${STRICTER_POLICY}`);
    const checked = await scenario.json(['policy', 'check', archived]);
    expect(checked.result.exitCode, checked.result.stderr).toBe(0);
    expect(checked.document).toMatchObject({ valid: true, digest: secondDigest });
    const human = await scenario.cli(['policy', 'show']);
    expect(human.stdout.split('\n')[0]).toContain(`digest ${secondDigest}`);
    const shown = await scenario.cli(['evidence', 'show', made.internalHosted as string]);
    expect(shown.stdout).toMatch(new RegExp(`^policy +${firstDigest}$`, 'm'));
  });

  it('a refusal of a request that named a provider names it, so --provider and --class find what each provider was refused', async () => {
    const { result, document } = await scenario.json(['evidence', 'list', '--class', 'hosted', '--limit', '100']);
    expect(result.exitCode, result.stderr).toBe(0);
    const rows = document.evidence as Row[];
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const name of ['restrictedRefused', 'internalRefused']) {
      expect(byId.get(made[name] as string), name).toMatchObject({ state: 'denied', provider: { id: 'hosted', version: 1, class: 'approved_hosted' }, model: 'gpt-4o-mini' });
    }
    // The audit's claim in one query: every restricted row of a hosted class is a refusal.
    const restricted = await scenario.json(['evidence', 'list', '--class', 'hosted', '--sensitivity', 'restricted']);
    const restrictedRows = restricted.document.evidence as Row[];
    expect(restrictedRows.map((row) => row.id)).toContain(made.restrictedRefused);
    expect(restrictedRows.every((row) => row.state === 'denied')).toBe(true);
    const refusedHosted = await scenario.json(['evidence', 'list', '--provider', 'hosted', '--state', 'denied']);
    expect((refusedHosted.document.evidence as Row[]).map((row) => row.id).sort()).toEqual([made.restrictedRefused, made.internalRefused].sort());
  });

  it("an answered and a refused request record the route's exclusions in one shape, so one query reads both", async () => {
    const exported = await scenario.cli(['evidence', 'export', '--sensitivity', 'restricted']);
    expect(exported.exitCode, exported.stderr).toBe(0);
    type Excluded = Record<string, unknown>[];
    const rows = new Map(
      exported.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { id?: string; state?: string; route?: { excluded?: Excluded } })
        .filter((row) => row.id !== undefined)
        .map((row) => [row.id, row]),
    );
    const answered = rows.get(made.restrictedLocal);
    const refused = rows.get(made.restrictedRefused);
    expect(answered?.state).toBe('completed');
    expect(refused?.state).toBe('denied');
    const hostedOf = (excluded: Excluded | undefined): Record<string, unknown> | undefined => excluded?.find((exclusion) => exclusion['provider'] === 'hosted');
    const [answeredHosted, refusedHosted] = [hostedOf(answered?.route?.excluded), hostedOf(refused?.route?.excluded)];
    expect(Object.keys(answeredHosted ?? {}).sort()).toEqual(['class', 'model', 'provider', 'reasons', 'rules']);
    expect(Object.keys(refusedHosted ?? {}).sort()).toEqual(Object.keys(answeredHosted ?? {}).sort());
    expect(answeredHosted).toMatchObject({ provider: 'hosted', model: 'gpt-4o-mini', class: 'approved_hosted', rules: ['class_not_allowed'] });
    expect(refusedHosted).toMatchObject({ provider: 'hosted', model: 'gpt-4o-mini', class: 'approved_hosted', rules: ['class_not_allowed'] });
  });

  it('list and export take a time range (--since and --until: a date, or a date and time with its zone) and export takes list\'s filters', async () => {
    const all = (await scenario.json(['evidence', 'list', '--limit', '100'])).document.evidence as Row[];
    const created = (name: string): string => (all.find((row) => row.id === made[name]) as Row).createdAt;
    // From the second envelope (inclusive) to the fourth (exclusive): the second and third.
    const since = created('internalHosted');
    const until = created('internalRefused');
    const ranged = await scenario.json(['evidence', 'list', '--since', since, '--until', until]);
    expect(ranged.result.exitCode, ranged.result.stderr).toBe(0);
    expect((ranged.document.evidence as Row[]).map((row) => row.id)).toEqual([made.restrictedRefused, made.internalHosted]);
    // The same instant with an offset.
    const offset = new Date(Date.parse(until) + 3_600_000).toISOString().replace('Z', '+01:00').replace(/\.(\d{3})\+/, '.$1+');
    const withOffset = await scenario.json(['evidence', 'list', '--since', since, '--until', offset]);
    expect((withOffset.document.evidence as Row[]).map((row) => row.id)).toEqual([made.restrictedRefused, made.internalHosted]);
    // A day: from its start in UTC to the next day's start.
    const day = since.slice(0, 10);
    const nextDay = new Date(Date.parse(day) + 86_400_000).toISOString().slice(0, 10);
    const ofTheDay = await scenario.json(['evidence', 'list', '--since', day, '--until', nextDay, '--limit', '100']);
    expect((ofTheDay.document.evidence as Row[]).map((row) => row.id)).toContain(made.internalHosted);
    const dayBefore = await scenario.json(['evidence', 'list', '--until', day, '--limit', '100']);
    expect((dayBefore.document.evidence as Row[]).map((row) => row.id)).not.toContain(made.internalHosted);

    // Export: the hosted answers of internal data in that range, oldest first, nothing else.
    const exported = await scenario.cli(['evidence', 'export', '--since', since, '--until', until, '--class', 'hosted', '--sensitivity', 'internal', '--state', 'completed']);
    expect(exported.exitCode, exported.stderr).toBe(0);
    // After the envelopes, the link of each chain position the filter left out (no `id`, no bytes): `evidence verify --export` proves the file through them.
    const envelopes = (stdout: string): Row[] => stdout.trim().split('\n').map((line) => JSON.parse(line) as Row & { leftOut?: unknown }).filter((line) => line.leftOut === undefined);
    expect(envelopes(exported.stdout).map((line) => line.id)).toEqual([made.internalHosted]);
    const byProvider = await scenario.cli(['evidence', 'export', '--provider', 'local']);
    expect(envelopes(byProvider.stdout).map((line) => line.provider.id)).toEqual(['local']);
    expect(byProvider.stdout.trim().split('\n').slice(1).every((line) => (JSON.parse(line) as { leftOut?: { filter: unknown } }).leftOut?.filter !== undefined)).toBe(true);
    const unknown = await scenario.cli(['evidence', 'export', '--provider', 'hostd']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown provider "hostd"');
  });

  it('metrics takes the same window: --since and --until as zoned times count only what lies between', async () => {
    const all = (await scenario.json(['evidence', 'list', '--limit', '100'])).document.evidence as Row[];
    const created = (name: string): string => (all.find((row) => row.id === made[name]) as Row).createdAt;
    const since = created('publicHosted');
    const until = created('restrictedRefused');
    const { result, document } = await scenario.json(['metrics', '--since', since, '--until', until]);
    expect(result.exitCode, result.stderr).toBe(0);
    const metrics = document.metrics as { window: { since: string; until: string }; requests: { hosted: number; local: number; denied: number } };
    expect(metrics.window).toEqual({ since, until });
    expect(metrics.requests).toMatchObject({ hosted: 2, local: 0, denied: 0 });
    const human = await scenario.cli(['metrics', '--since', since, '--until', until]);
    expect(human.stdout.split('\n')[0]).toBe(`${since} – ${until}`);
    const backwards = await scenario.cli(['metrics', '--since', until, '--until', since]);
    expect(backwards.exitCode).toBe(2);
    expect(backwards.stderr).toContain('is not before --until');
  });

  it('a time without a zone, a day that does not exist, or a range that ends before it starts is a usage error (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--since', '2026-11-01T09:30:00'], '--since "2026-11-01T09:30:00" has no time zone'],
      [['--until', '2026-02-30'], 'invalid --until "2026-02-30": not a date that exists'],
      [['--since', '2026-12-01', '--until', '2026-11-01'], '--since 2026-12-01 is not before --until 2026-11-01'],
      [['--since', 'yesterday'], 'invalid --since "yesterday"'],
    ];
    for (const command of ['list', 'export']) {
      for (const [args, message] of cases) {
        const result = await scenario.cli(['evidence', command, ...args]);
        expect(result.exitCode, `${command} ${args.join(' ')}`).toBe(2);
        expect(result.stderr).toContain(`error: ${message}`);
        expect(result.stdout).toBe('');
      }
    }
    const hint = await scenario.cli(['evidence', 'list', '--since', '2026-11-01T09:30:00']);
    expect(hint.stderr).toContain('hint: write it in UTC with Z (--since 2026-11-01T09:30:00Z)');
  });

  it("list's table says its times are UTC and shows each row's sensitivity and provider class", async () => {
    const result = await scenario.cli(['evidence', 'list', '--provider', 'hosted', '--state', 'denied']);
    expect(result.exitCode, result.stderr).toBe(0);
    const [header, ...rows] = result.stdout.trim().split('\n');
    expect(header).toMatch(/^ID +TIME \(UTC\) +STATE +SENSITIVITY +PROVIDER +CLASS +MODEL /);
    expect(rows.some((row) => /denied +restricted +hosted@v1 +approved_hosted +gpt-4o-mini/.test(row))).toBe(true);
    expect(rows.some((row) => /denied +internal +hosted@v1 +approved_hosted +gpt-4o-mini/.test(row))).toBe(true);
  });
});

/** `evidence verify --export` of `text` written beside `home`, where no store exists. */
function verifyExportText(home: string, text: string, extra: string[] = []): Promise<CliResult> {
  const file = join(home, 'to-verify.jsonl');
  writeFileSync(file, text);
  return runCli(['evidence', 'verify', '--export', file, ...extra], { home: join(home, 'no-store-here') });
}

describe('evidence verify --export: a third party proves an export without the store', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let exportFile: string;
  let lines: string[];
  let head: { seq: number; hash: string };

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    scenario = await Scenario.create();
    await scenario.register({ id: 'local', engine: local });
    for (const prompt of ['Name the capital of France.', 'Name the capital of Spain.', 'my password is hunter2', 'Name the capital of Peru.']) {
      const result = await scenario.cli(['run', prompt]);
      expect(result.exitCode, result.stderr).toBe(0);
    }
    // A stream too: its chunks and their times are part of what the link hashes.
    expect((await scenario.cli(['run', 'Count to three.', '--stream'])).exitCode).toBe(0);
    // A request of 64 KiB or more is stored as blocks: the export reassembles it, and so does the link.
    const long = await scenario.cli(['run', '-'], { input: `Summarise: ${'the quick brown fox jumps over the lazy dog. '.repeat(1700)}` });
    expect(long.exitCode, long.stderr).toBe(0);
    exportFile = join(scenario.home, 'evidence.jsonl');
    const exported = await scenario.cli(['evidence', 'export', '--output', exportFile]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    lines = readFileSync(exportFile, 'utf8').trimEnd().split('\n');
    head = ((await scenario.json(['evidence', 'verify'])).document as { head: { seq: number; hash: string } }).head;
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await local?.close();
  });

  const verifyText = (text: string, extra: string[] = []): Promise<CliResult> => verifyExportText(scenario.home, text, extra);

  it('an export as written verifies, offline, to the head `evidence verify` printed; --from that head checks it is there', async () => {
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const result = await verifyText(`${lines.join('\n')}\n`, ['--from', `${head.seq}:${head.hash}`, '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: true,
      export: join(scenario.home, 'to-verify.jsonl'),
      envelopes: lines.length,
      chained: lines.length,
      first: { seq: 1, prevHash: '0'.repeat(64) },
      head,
      from: head,
    });
    const human = await verifyText(`${lines.join('\n')}\n`);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toBe(`evidence export intact: ${lines.length} chained envelopes #1–#${head.seq}, head #${head.seq} ${head.hash}`);
    // Every line carries what the chain hashes beyond its fields.
    const first = JSON.parse(lines[0] as string) as { link: { values: unknown[]; chunks: unknown[] } };
    expect(first.link.values.length).toBeGreaterThanOrEqual(43);
    expect(first.link.chunks.length).toBeGreaterThanOrEqual(2);
    // From stdin too.
    const piped = await runCli(['evidence', 'verify', '--export', '-'], { home: join(scenario.home, 'no-store-here'), input: `${lines.join('\n')}\n` });
    expect(piped.exitCode, piped.stderr).toBe(0);
  });

  it('an edited prompt, an edit made in the link as well, a deleted line and a cut-off end each fail (exit 1) naming where', async () => {
    const edited = lines.map((line) => line.replace('capital of Spain', 'capital of Italy'));
    expect(edited).not.toEqual(lines);
    const prompt = await verifyText(edited.join('\n'));
    expect(prompt.exitCode).toBe(1);
    expect(prompt.stderr).toMatch(/does not verify at #\d+ ev_\S+ line \d+: content changed/);

    // The sensitivity changed in the fields and in the link's values alike: the hash no longer matches.
    const index = lines.findIndex((line) => line.includes('hunter2'));
    const relabelled = [...lines];
    relabelled[index] = (lines[index] as string).replaceAll('"restricted"', '"public"');
    const relabel = await verifyText(relabelled.join('\n'));
    expect(relabel.exitCode).toBe(1);
    expect(relabel.stderr).toContain(`line ${index + 1}: content changed`);

    const deleted = await verifyText([...lines.slice(0, 1), ...lines.slice(2)].join('\n'));
    expect(deleted.exitCode).toBe(1);
    expect(deleted.stderr).toContain('does not verify at #2: row missing');

    // The last line gone leaves a whole chain, one link shorter: only the head kept off the machine tells.
    const cut = lines.slice(0, -1).join('\n');
    expect((await verifyText(cut)).exitCode).toBe(0);
    const anchored = await verifyText(cut, ['--from', `${head.seq}:${head.hash}`]);
    expect(anchored.exitCode).toBe(1);
    expect(anchored.stderr).toContain(`does not verify at #${head.seq}: anchor mismatch`);

    const garbage = await verifyText(`${lines[0] as string}\nnot json\n`);
    expect(garbage.exitCode).toBe(1);
    expect(garbage.stderr).toContain('line 2: not an envelope');
    const { link: _link, ...unlinked } = JSON.parse(lines[0] as string) as Record<string, unknown>;
    const old = await verifyText(JSON.stringify(unlinked));
    expect(old.exitCode).toBe(1);
    expect(old.stderr).toContain('no link');
  });
});

describe('evidence verify --export of a filtered export: what it holds proven, what it left out named', () => {
  let scenario: Scenario;
  let local: FakeEngine;
  let lines: string[];
  let head: { seq: number; hash: string };
  /** Chain positions of the two restricted envelopes. */
  const restricted: number[] = [];

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    scenario = await Scenario.create();
    await scenario.register({ id: 'local', engine: local });
    for (const prompt of ['Name the capital of France.', 'my password is hunter2', 'Name the capital of Spain.', 'Count to three.', 'my password is hunter3', 'Name the capital of Peru.']) {
      const result = await scenario.cli(['run', prompt]);
      expect(result.exitCode, result.stderr).toBe(0);
    }
    const file = join(scenario.home, 'restricted.jsonl');
    const exported = await scenario.json(['evidence', 'export', '--sensitivity', 'restricted', '--output', file]);
    expect(exported.result.exitCode, exported.result.stderr).toBe(0);
    expect(exported.document).toMatchObject({ ok: true, rows: 2, leftOut: 3 });
    lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    for (const line of lines.slice(0, 2)) restricted.push((JSON.parse(line) as { chainSeq: number }).chainSeq);
    head = ((await scenario.json(['evidence', 'verify'])).document as { head: { seq: number; hash: string } }).head;
  }, 90_000);
  afterAll(async () => {
    scenario?.cleanup();
    await local?.close();
  });

  const verifyText = (text: string, extra: string[] = []): Promise<CliResult> => verifyExportText(scenario.home, text, extra);

  it('says it was filtered: the envelopes it holds, then the link of each position its filter left out, with no bytes', () => {
    expect(restricted).toEqual([2, 5]);
    expect(lines).toHaveLength(5);
    const leftOut = lines.slice(2).map((line) => JSON.parse(line) as { id?: string; leftOut: { chainSeq: number; filter: unknown }; link: { bytesSha256: string } });
    expect(leftOut.map((line) => line.leftOut.chainSeq)).toEqual([3, 4, 6]);
    for (const line of leftOut) {
      expect(line.id).toBeUndefined();
      expect(line.leftOut.filter).toEqual({ sensitivities: ['restricted'] });
      expect(line.link.bytesSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    // The prompts of the rows left out stay home.
    expect(lines.slice(2).join('\n')).not.toMatch(/capital|Count to three/);
  });

  it('verifies (exit 0) as what it is, to the head `evidence verify` printed', async () => {
    const human = await verifyText(`${lines.join('\n')}\n`);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toBe(`evidence export intact: 2 chained envelopes verified, 3 left out by the export's filter (#3–#4, #6); chain #2–#6, head #6 ${head.hash}`);
    expect(human.stderr).toContain("the export's filter: --sensitivity restricted");
    const json = await verifyText(`${lines.join('\n')}\n`, ['--json', '--from', `${head.seq}:${head.hash}`]);
    expect(json.exitCode, json.stdout).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      envelopes: 2,
      chained: 2,
      head,
      leftOut: { positions: 3, ranges: [[3, 4], [6, 6]], filter: { sensitivities: ['restricted'] } },
    });
  });

  it('an edited envelope, a deleted one, a left-out link edited, or an envelope passed off as left out each fail (exit 1)', async () => {
    const edited = lines.map((line) => line.replace('hunter3', 'hunter4'));
    expect(edited).not.toEqual(lines);
    const content = await verifyText(edited.join('\n'));
    expect(content.exitCode).toBe(1);
    expect(content.stderr).toMatch(/does not verify at #5 ev_\S+ line 2: content changed/);

    for (const [index, seq] of [[0, 2], [1, 5]] as const) {
      const deleted = await verifyText(lines.filter((_, at) => at !== index).join('\n'), ['--from', `${head.seq}:${head.hash}`]);
      expect(deleted.exitCode, deleted.stdout).toBe(1);
      expect(deleted.stderr).toContain(`does not verify at #${seq}: row missing`);
    }

    // The link of a position left out, relabelled: its values no longer hash to its hash.
    const relabelled = [...lines];
    relabelled[2] = (lines[2] as string).replace('"public"', '"restricted"');
    expect(relabelled[2]).not.toBe(lines[2]);
    const relabel = await verifyText(relabelled.join('\n'));
    expect(relabel.exitCode).toBe(1);
    expect(relabel.stderr).toContain('line 3: content changed');

    // A restricted envelope taken out and its link put in as if the filter had left it out.
    const envelope = JSON.parse(lines[1] as string) as { id: string; chainSeq: number; prevHash: string; hash: string; link: { values: unknown[]; chunks: [number, number | null, number][] } };
    const { createHash } = await import('node:crypto');
    const body = (part: { body: { encoding: 'utf8' | 'base64'; data: string } | null }): Buffer => (part.body === null ? Buffer.alloc(0) : Buffer.from(part.body.data, part.body.encoding));
    const parsed = JSON.parse(lines[1] as string) as Record<string, { body: { encoding: 'utf8' | 'base64'; data: string } | null }>;
    const bytesSha256 = createHash('sha256').update(Buffer.concat([body(parsed.request as never), body(parsed.response as never)])).digest('hex');
    const disguised = JSON.stringify({
      leftOut: { chainSeq: envelope.chainSeq, id: envelope.id, prevHash: envelope.prevHash, hash: envelope.hash, filter: { sensitivities: ['restricted'] } },
      link: { ...envelope.link, bytesSha256 },
    });
    const hidden = await verifyText([lines[0], ...lines.slice(2), disguised].join('\n'));
    expect(hidden.exitCode).toBe(1);
    expect(hidden.stderr).toContain(`does not verify at #5 ${envelope.id} line 5: matches the filter`);
  });
});

describe('the trail of prunes', () => {
  let scenario: Scenario;
  let local: FakeEngine;

  beforeAll(async () => {
    local = await startFakeEngine({ kind: 'ollama', conforming: true });
    scenario = await Scenario.create();
    await scenario.register({ id: 'local', engine: local });
  });
  afterAll(async () => {
    scenario?.cleanup();
    await local?.close();
  });

  it('verify lists every prune (when, its cut-off, how many, through which link), and an export made before one still proves the deleted part', { timeout: 90_000 }, async () => {
    for (const prompt of ['Name the capital of France.', 'Name the capital of Spain.']) expect((await scenario.cli(['run', prompt])).exitCode).toBe(0);
    const before = ((await scenario.json(['evidence', 'verify'])).document as { head: { seq: number; hash: string } }).head;
    const exportFile = join(scenario.home, 'before-prune.jsonl');
    expect((await scenario.cli(['evidence', 'export', '--output', exportFile])).exitCode).toBe(0);
    const first = await scenario.cli(['evidence', 'prune', '--older-than', '1ms']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect((await scenario.cli(['run', 'Name the capital of Peru.'])).exitCode).toBe(0);
    const second = await scenario.cli(['evidence', 'prune', '--older-than', '1ms']);
    expect(second.exitCode, second.stderr).toBe(0);

    const { result, document } = await scenario.json(['evidence', 'verify']);
    expect(result.exitCode, result.stderr).toBe(0);
    const prunes = document.prunes as { prunedAt: string; olderThan: string; throughSeq: number; throughHash: string; envelopes: number }[];
    expect(prunes.map((prune) => [prune.throughSeq, prune.envelopes])).toEqual([
      [before.seq, before.seq],
      [before.seq + 1, 1],
    ]);
    expect(prunes[0]?.throughHash).toBe(before.hash);
    for (const prune of prunes) expect(Date.parse(prune.olderThan)).toBeLessThanOrEqual(Date.parse(prune.prunedAt));
    expect(document.prunedThrough).toMatchObject({ throughSeq: before.seq + 1 });
    const human = await scenario.cli(['evidence', 'verify']);
    expect(human.stderr).toContain(`2 prunes in all, ${before.seq + 1} envelopes deleted`);

    // The deleted part is gone from the store, not from the export made before: it proves to the head kept then.
    const offline = await runCli(['evidence', 'verify', '--export', exportFile, '--from', `${before.seq}:${before.hash}`], { home: join(scenario.home, 'elsewhere') });
    expect(offline.exitCode, offline.stderr).toBe(0);
  });
});
