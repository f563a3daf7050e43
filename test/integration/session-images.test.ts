import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/common/hash.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { connectMcpClient, toolText } from '../helpers/mcp.js';
import { expectEvidenceHoldsExchange, lastSent, PNG, sparsePngs, type Json } from '../helpers/request-options.js';
import { defaultModel, inferenceExchanges, providerYaml, Scenario } from '../helpers/scenario.js';
import { withStore } from '../helpers/store.js';

/**
 * `run --session S --image x.png`: the image stays in the stored conversation, and every later turn
 * sends it again — in each wire's own form — is classified with it, and is proven with it by the
 * session's chain (`evidence verify` included). A switch to a model without image input drops the
 * image turns and says so.
 */
const MIB = 1024 * 1024;

describe('syndicate run --session with --image', () => {
  let scenario: Scenario;
  let llama: FakeEngine;
  let claude: FakeEngine;
  let studio: FakeEngine;
  let openai: FakeEngine;
  let png: string;
  const engines = (): FakeEngine[] => [llama, claude, studio, openai];
  const IMAGE_URL = `data:image/png;base64,${PNG.toString('base64')}`;
  const env = { SESSION_IMAGES_OPENAI_KEY: 'sk-fake', SESSION_IMAGES_ANTHROPIC_KEY: 'sk-ant-fake' };

  beforeAll(async () => {
    [llama, claude, studio, openai] = await Promise.all([
      startFakeEngine({ kind: 'llama.cpp', jinja: true }),
      startFakeEngine({ kind: 'anthropic' }),
      startFakeEngine({ kind: 'lmstudio' }),
      startFakeEngine({ kind: 'openai' }),
    ]);
    scenario = await Scenario.create({ egressHosts: ['127.0.0.1'] });
    const records = [
      providerYaml({ id: 'llama', engine: llama, tags: ['vision'] }),
      // The anthropic wire on this host: a local model, so the image's level may reach it.
      providerYaml({ id: 'claude', engine: claude, tags: ['vision'], authEnv: 'SESSION_IMAGES_ANTHROPIC_KEY' }),
      providerYaml({ id: 'studio', engine: studio }),
      providerYaml({ id: 'gpt', engine: openai, class: 'approved_hosted', authEnv: 'SESSION_IMAGES_OPENAI_KEY', tags: ['vision'], price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } }),
    ];
    const paths = records.map((record, index) => {
      const path = join(scenario.home, `provider-${index}.yaml`);
      writeFileSync(path, record);
      return path;
    });
    await scenario.registerFilesInProcess(...paths);
    png = join(scenario.home, 'screen.png');
    writeFileSync(png, PNG);
  }, 90_000);

  afterAll(async () => {
    scenario?.cleanup();
    await Promise.all(engines().map((engine) => engine?.close()));
  });

  /** A session on `model` started in this process, as `session start` starts it (no test here is about `session start`): its id. */
  function startSession(model: string): string {
    return scenario.startSessionInProcess({ model });
  }

  /** A turn answered in this process, as `run PROMPT --session ID [--image FILE] --no-stream` answers it: for the turns a test's subject comes after. */
  function turnInProcess(id: string, prompt: string, image?: string): Promise<{ evidenceId: string; providerId: string; turn: number | null }> {
    return scenario.runTurnInProcess(id, prompt, { env, ...(image === undefined ? {} : { images: [image] }) });
  }

  async function run(args: string[]): Promise<Json> {
    const { result, document } = await scenario.json(['run', ...args, '--no-stream'], { env });
    expect(result.exitCode, result.stdout).toBe(0);
    return document;
  }

  it("later turns send the image again in each wire's form, classified with it; session show lists it; evidence holds the bytes sent", async () => {
    const id = startSession(`llama:${defaultModel(llama)}`);
    const first = await run(['What is in this screenshot?', '--image', png, '--session', id]);
    expect(first).toMatchObject({ answer: DEFAULT_ANSWER, provider: { id: 'llama' }, sensitivity: 'confidential', session: { id, turn: 1 } });

    // The second turn is text only: the image is in its history, and the turn is as sensitive as the image.
    const second = await run(['And what colour is it?', '--session', id]);
    expect(second).toMatchObject({ provider: { id: 'llama' }, sensitivity: 'confidential', session: { id, turn: 2 } });
    expect(lastSent(llama).messages).toEqual([
      { role: 'user', content: [{ type: 'image_url', image_url: { url: IMAGE_URL } }, { type: 'text', text: 'What is in this screenshot?' }] },
      { role: 'assistant', content: DEFAULT_ANSWER },
      { role: 'user', content: 'And what colour is it?' },
    ]);
    await expectEvidenceHoldsExchange(scenario, llama, second.evidenceId as string, 'in-process');

    // The anthropic wire gets it as its own base64 image block.
    const switched = await scenario.cli(['provider', 'switch', `claude:${defaultModel(claude)}`, '--session', id], { env });
    expect(switched.exitCode, switched.stderr).toBe(0);
    expect(switched.stdout).toContain('context kept whole');
    const third = await run(['Describe it once more.', '--session', id]);
    expect(third).toMatchObject({ provider: { id: 'claude' }, sensitivity: 'confidential' });
    expect(lastSent(claude).messages[0]).toEqual({
      role: 'user',
      content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.toString('base64') } }, { type: 'text', text: 'What is in this screenshot?' }],
    });
    await expectEvidenceHoldsExchange(scenario, claude, third.evidenceId as string, 'in-process');

    const image = { mediaType: 'image/png', size: PNG.length, sha256: sha256Hex(PNG) };
    const shown = await scenario.json(['session', 'show', id]);
    expect(shown.result.exitCode).toBe(0);
    expect((shown.document.session as Json).messages.map((message: Json) => message.images)).toEqual([[image], [], [], [], [], []]);
    expect(shown.result.stdout).not.toContain(PNG.toString('base64'));
    const human = await scenario.cli(['session', 'show', id]);
    expect(human.stdout).toContain(`[image image/png, ${PNG.length} bytes, sha256 ${image.sha256}]`);
    expect(human.stdout).not.toContain(PNG.toString('base64'));
  }, 90_000);

  it('a session pinned to a model not tagged vision is refused the image with a hint to switch the session, not to send the request elsewhere', async () => {
    const id = startSession(`studio:${defaultModel(studio)}`);
    const sent = inferenceExchanges(studio).length;
    const refused = await scenario.json(['run', 'What is in this screenshot?', '--image', png, '--session', id, '--no-stream']);
    expect(refused.result.exitCode).toBe(4);
    const error = refused.document.error as Json;
    expect(error.code).toBe('route_denied');
    expect(error.message).toContain('request has images but the model is not tagged vision');
    expect(error.hint).toBe(
      `switch the session to a model tagged vision (\`syndicate provider switch PROVIDER:MODEL --session ${id}\`), tag studio:${defaultModel(studio)} \`vision\` in its provider record if it takes images, or send this prompt without --session`,
    );
    expect(inferenceExchanges(studio)).toHaveLength(sent);
    expect((scenario.storedSession(id) as Json).messages).toEqual([]);
  }, 90_000);

  it('an auto session routes every later turn as a request with the image: vision models that may take its level only', async () => {
    const id = startSession('auto');
    await turnInProcess(id, 'What is in this screenshot?', png);
    const later = await run(['Summarise what we said.', '--session', id]);
    expect(later).toMatchObject({ sensitivity: 'confidential' });
    // Either local vision model may take it (llama and claude, by the router's ranking of the moment); no other may.
    expect(['llama', 'claude']).toContain((later.provider as Json).id);
    const envelope = scenario.storedEvidence(later.evidenceId as string) as Json;
    const excluded = new Map((envelope.route.excluded as Json[]).map((exclusion) => [`${exclusion.provider}:${exclusion.model}`, exclusion.reasons.join('; ')]));
    expect(excluded.get(`studio:${defaultModel(studio)}`)).toContain('request has images but the model is not tagged vision');
    expect(excluded.get(`gpt:${defaultModel(openai)}`)).toContain('confidential');
  }, 90_000);

  it('a session with an image is not switched where its level may not go; a switch to a model without image input drops the image turns and prints them', async () => {
    const id = startSession(`llama:${defaultModel(llama)}`);
    await turnInProcess(id, 'What is in this screenshot?', png);
    await turnInProcess(id, 'Thanks. What is 2+2?');

    const hosted = await scenario.json(['provider', 'switch', `gpt:${defaultModel(openai)}`, '--session', id]);
    expect(hosted.result.exitCode).toBe(4);
    expect(hosted.document.error).toMatchObject({ code: 'session_model_not_permitted', details: { sensitivity: 'confidential' } });

    // A session pinned to that hosted model is refused the image itself: the prompt with it is what is confidential.
    const pinned = startSession(`gpt:${defaultModel(openai)}`);
    const refused = await scenario.json(['run', 'What is in this screenshot?', '--image', png, '--session', pinned, '--no-stream'], { env });
    expect(refused.result.exitCode).toBe(4);
    expect(refused.document.error).toMatchObject({ code: 'session_model_not_permitted' });
    expect((refused.document.error as Json).message).not.toContain('earlier turns');
    expect(inferenceExchanges(openai)).toHaveLength(0);
    expect((scenario.storedSession(pinned) as Json).messages).toEqual([]);

    const sent = inferenceExchanges(studio).length;
    const blind = await scenario.cli(['provider', 'switch', `studio:${defaultModel(studio)}`, '--session', id]);
    expect(blind.exitCode, blind.stderr).toBe(0);
    expect(blind.stdout).toContain(`studio:${defaultModel(studio)} takes no image input: dropped 1 turn with images:`);
    expect(blind.stdout).toContain('dropped turn 1 (messages 1, 2): "What is in this screenshot?" (has images)');
    const after = await run(['And 3+3?', '--session', id]);
    expect(after).toMatchObject({ provider: { id: 'studio' }, sensitivity: 'public' });
    expect(inferenceExchanges(studio)).toHaveLength(sent + 1);
    expect(lastSent(studio).messages).toEqual([
      { role: 'user', content: 'Thanks. What is 2+2?' },
      { role: 'assistant', content: DEFAULT_ANSWER },
      { role: 'user', content: 'And 3+3?' },
    ]);
    expect((scenario.storedSession(id) as Json).switches[0].droppedTurns).toEqual([{ turn: 1, seqs: [1, 2], excerpt: 'What is in this screenshot?', reason: 'images' }]);
  }, 90_000);

  it('a turn whose whole conversation would be over the 32 MiB input limit as sent (earlier images base64-encoded again) is refused before anything is sent; a smaller turn goes on', async () => {
    const id = startSession(`llama:${defaultModel(llama)}`);
    const scratch = mkdtempSync(join(tmpdir(), 'syndicate-large-images-'));
    try {
      // 13 MiB each, sparse (a PNG header, then zeros): 17.3 MiB base64-encoded, so one fits and two do not.
      const images = sparsePngs(scratch, 13 * MIB);
      const first = await turnInProcess(id, 'What is in this one?', images[0]);
      expect(first.turn).toBe(1);
      const sent = inferenceExchanges(llama).length;

      const [refused, human, routed] = await Promise.all([
        scenario.json(['run', 'And in this one?', '--image', images[1], '--session', id, '--no-stream']),
        scenario.cli(['run', 'And in this one?', '--image', images[1], '--session', id, '--no-stream']),
        scenario.cli(['route', '--explain', 'And in this one?', '--image', images[1], '--session', id]),
      ]);
      const base64 = 4 * Math.ceil((13 * MIB) / 3);
      const total = 'What is in this one?'.length + DEFAULT_ANSWER.length + 2 * base64 + 'And in this one?'.length;
      const message = `session ${id}'s conversation with this prompt would be ${(total / MIB).toFixed(1)} MiB (${total} bytes) as sent (images base64-encoded, 17.3 MiB of it the image its earlier turns send again), more than the 32 MiB syndicate sends in one request: nothing was classified or sent, and the session is unchanged`;
      const hint = `the session's images are sent again with every turn: continue in a new session (\`syndicate session start\`) with only the images still needed, or drop this one's turns with images by switching it to a model without image input (\`syndicate provider switch PROVIDER:MODEL --session ${id}\`)`;
      expect(refused.result.exitCode, JSON.stringify(refused.document)).toBe(3);
      expect(refused.document.error).toMatchObject({ code: 'invalid_input', message, hint, details: { session: id, bytes: total, limitBytes: 32 * MIB } });
      expect({ exitCode: human.exitCode, stderr: human.stderr }).toEqual({ exitCode: 3, stderr: `error: ${message}\nhint: ${hint}` });
      // `route` explaining the same turn refuses it as `run` does, and so does MCP `route_explain` (its tool error).
      expect({ exitCode: routed.exitCode, stdout: routed.stdout, stderr: routed.stderr }).toEqual({ exitCode: 3, stdout: '', stderr: human.stderr });
      const client = await connectMcpClient(scenario.home);
      try {
        const image = { data: readFileSync(images[1]).toString('base64'), mimeType: 'image/png' };
        const explained = (await client.callTool({ name: 'route_explain', arguments: { prompt: 'And in this one?', images: [image], session: id } })) as CallToolResult;
        expect(explained.isError).toBe(true);
        expect(toolText(explained)).toBe(`${message} (invalid_input)\nhint: ${hint}`);
      } finally {
        await client.close();
      }
      // Nothing reached the engine, and the session still holds its one turn.
      expect(inferenceExchanges(llama)).toHaveLength(sent);
      expect((scenario.storedSession(id) as Json).messages).toHaveLength(2);

      // A text-only turn carries the one image and fits: the bound is on the whole request, not on images kept.
      const later = await run(['Describe the first once more.', '--session', id]);
      expect(later).toMatchObject({ session: { id, turn: 2 } });
      expect(inferenceExchanges(llama)).toHaveLength(sent + 1);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 90_000);

  it('an image byte or digest edited in the store: evidence verify names the session and fails (exit 1), and the session is refused', async () => {
    // An image of its own (a PNG with a byte after its end): the PNG the other tests' sessions keep stays intact.
    const own = Buffer.concat([PNG, Buffer.from([0])]);
    const ownPath = join(scenario.home, 'own.png');
    writeFileSync(ownPath, own);
    const id = startSession(`llama:${defaultModel(llama)}`);
    await turnInProcess(id, 'What is in this screenshot?', ownPath);
    const intact = await scenario.cli(['evidence', 'verify']);
    expect(intact.exitCode, intact.stderr).toBe(0);

    const original = withStore(scenario.home, (store) => store.db.prepare('SELECT bytes FROM session_images WHERE sha256 = ?').get(sha256Hex(own)) as { bytes: Buffer });
    const edited = Buffer.from(original.bytes);
    edited.writeUInt8(edited.readUInt8(edited.length - 1) ^ 1, edited.length - 1);
    withStore(scenario.home, (store) => store.db.prepare('UPDATE session_images SET bytes = ? WHERE sha256 = ?').run(edited, sha256Hex(own)));
    const sent = inferenceExchanges(llama).length;
    const [verified, human, refused] = await Promise.all([
      scenario.json(['evidence', 'verify']),
      scenario.cli(['evidence', 'verify']),
      scenario.json(['run', 'Again?', '--session', id, '--no-stream']),
    ]);
    expect(verified.result.exitCode).toBe(1);
    expect(verified.document.error).toMatchObject({ code: 'check_failed', details: { sessionBreaks: expect.arrayContaining([{ sessionId: id, seq: 1, reason: 'image changed' }]) } });
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toContain(`session ${id}'s chain broken at message #1: image changed`);
    expect(refused.result.exitCode).toBe(1);
    expect(refused.document.error).toMatchObject({ code: 'session_chain_broken', details: { brokenAt: { sessionId: id, seq: 1, reason: 'image changed' } } });
    expect(inferenceExchanges(llama)).toHaveLength(sent);

    // The digest edited to match the edited bytes: the message's link no longer holds.
    withStore(scenario.home, (store) => {
      store.db.prepare('INSERT INTO session_images (sha256, bytes) VALUES (?, ?)').run(sha256Hex(edited), edited);
      store.db.prepare('UPDATE session_messages SET images = replace(images, ?, ?) WHERE session_id = ?').run(sha256Hex(own), sha256Hex(edited), id);
    });
    const digest = await scenario.json(['evidence', 'verify']);
    expect(digest.result.exitCode).toBe(1);
    // The row the message listed before, with the edited bytes, is listed by none now: reported beside the break.
    expect(digest.document.error).toMatchObject({
      details: { sessionBreaks: expect.arrayContaining([{ sessionId: id, seq: 1, reason: 'content changed' }]), changedUnlistedImages: [sha256Hex(own)] },
    });

    // session delete removes the images nothing else lists (both rows); the other sessions' chains hold.
    const deleted = await scenario.json(['session', 'delete', id]);
    expect(deleted.result.exitCode).toBe(0);
    expect(deleted.document).toMatchObject({ messages: 2, images: 2 });
    const left = withStore(scenario.home, (store) => store.db.prepare('SELECT count(*) FROM session_images WHERE sha256 IN (?, ?)').pluck(true).get(sha256Hex(edited), sha256Hex(own)));
    expect(left).toBe(0);
    const intactAgain = await scenario.cli(['evidence', 'verify']);
    expect(intactAgain.exitCode, intactAgain.stderr).toBe(0);
  }, 90_000);

  it('an image whose bytes and digest were both edited in the store: verify reports the row no message lists until session delete removes it', async () => {
    const own = Buffer.concat([PNG, Buffer.from([1, 2])]);
    const ownPath = join(scenario.home, 'both.png');
    writeFileSync(ownPath, own);
    const id = startSession(`llama:${defaultModel(llama)}`);
    await turnInProcess(id, 'What is in this screenshot?', ownPath);
    const edited = Buffer.from('not the screenshot');
    const editedDigest = 'e'.repeat(64);
    withStore(scenario.home, (store) => store.db.prepare('UPDATE session_images SET bytes = ?, sha256 = ? WHERE sha256 = ?').run(edited, editedDigest, sha256Hex(own)));

    const verified = await scenario.json(['evidence', 'verify']);
    expect(verified.result.exitCode).toBe(1);
    expect(verified.document.error).toMatchObject({
      code: 'check_failed',
      details: { sessionBreaks: expect.arrayContaining([{ sessionId: id, seq: 1, reason: 'image changed' }]), changedUnlistedImages: [editedDigest] },
    });
    const deleted = await scenario.json(['session', 'delete', id]);
    expect(deleted.document).toMatchObject({ messages: 2, images: 1 });
    expect(withStore(scenario.home, (store) => store.db.prepare('SELECT count(*) FROM session_images WHERE sha256 = ?').pluck(true).get(editedDigest))).toBe(0);
    const intact = await scenario.json(['evidence', 'verify']);
    expect(intact.result.exitCode, intact.result.stderr).toBe(0);
    expect(intact.document.sessions).toMatchObject({ unlistedImages: 0 });

    // A row no message lists, its bytes not hashing to its digest, and no session broken: verify fails on it alone.
    withStore(scenario.home, (store) => store.db.prepare('INSERT INTO session_images (sha256, bytes) VALUES (?, ?)').run(editedDigest, edited));
    const [alone, human] = await Promise.all([scenario.json(['evidence', 'verify']), scenario.cli(['evidence', 'verify'])]);
    expect(alone.result.exitCode).toBe(1);
    expect(alone.document.error).toMatchObject({ code: 'check_failed', details: { changedUnlistedImages: [editedDigest] } });
    expect(alone.document.error).not.toHaveProperty('details.sessionBreaks');
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toContain(`stored session image ${editedDigest} does not hash to its digest`);
    const other = startSession(`llama:${defaultModel(llama)}`);
    expect((await scenario.json(['session', 'delete', other])).document).toMatchObject({ images: 1 });
    expect((await scenario.cli(['evidence', 'verify'])).exitCode).toBe(0);
  }, 90_000);

  it("a message's image list edited into what is not JSON: run --session and provider switch refuse with the chain's error, session show shows it as stored", async () => {
    const id = startSession(`llama:${defaultModel(llama)}`);
    await turnInProcess(id, 'What is in this screenshot?', png);
    withStore(scenario.home, (store) => store.db.prepare("UPDATE session_messages SET images = 'not json' WHERE session_id = ? AND seq = 1").run(id));
    const sent = inferenceExchanges(llama).length;
    const refusals = await Promise.all([
      scenario.json(['run', 'Again?', '--session', id, '--no-stream']),
      scenario.json(['provider', 'switch', `claude:${defaultModel(claude)}`, '--session', id], { env }),
    ]);
    for (const { result, document } of refusals) {
      expect(result.exitCode, result.stdout).toBe(1);
      expect(document.error).toMatchObject({
        code: 'session_chain_broken',
        message: expect.stringContaining(`session ${id} fails its hash chain at message #1 (content changed)`),
        hint: expect.stringContaining(`syndicate session delete ${id}`),
        details: { brokenAt: { sessionId: id, seq: 1, reason: 'content changed' } },
      });
    }
    expect(inferenceExchanges(llama)).toHaveLength(sent);
    // What the refusal's hint says to read: the session as stored, the edited list with it.
    const [shown, human] = await Promise.all([scenario.json(['session', 'show', id]), scenario.cli(['session', 'show', id])]);
    expect(shown.result.exitCode, shown.result.stdout).toBe(0);
    expect((shown.document.session as Json).messages[0]).toMatchObject({ seq: 1, images: [], unreadableImages: 'not json' });
    expect((shown.document.session as Json).messages[1]).not.toHaveProperty('unreadableImages');
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toContain('[images unreadable, stored as "not json"]');
    const verified = await scenario.json(['evidence', 'verify']);
    expect(verified.document.error).toMatchObject({ details: { sessionBreaks: expect.arrayContaining([{ sessionId: id, seq: 1, reason: 'content changed' }]) } });
    expect((await scenario.json(['session', 'delete', id])).result.exitCode).toBe(0);
  }, 90_000);
});
