/**
 * A stored session's capability envelope holds for requests that name the session through the
 * gateway (`x-syndicate-session`), not only for `run --session`: models above the approved class
 * are excluded from the route, an invalidated envelope refuses everything until `session approve`,
 * and each refusal is a denial in the evidence under the session's id. Driven with the official
 * `openai` and `@anthropic-ai/sdk` clients against a real gateway and fake engines.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEvidence, listEvidence } from '../../src/evidence/index.js';
import { approveEnvelope, startSession } from '../../src/sessions/sessions.js';
import { switchSessionModel } from '../../src/sessions/switch.js';
import { DEFAULT_ANSWER, startFakeEngine, type FakeEngine } from '../helpers/fake-engines/index.js';
import { inferenceExchanges } from '../helpers/scenario.js';
import { startTestGateway, testPolicy, TEST_TOKEN, type TestGateway } from '../unit/gateway/harness.js';

const LOCAL_MODEL = 'llama3.2:latest';
const HOSTED_MODEL = 'claude-sonnet-4-20250514';

let ollama: FakeEngine;
let claude: FakeEngine;
let gateway: TestGateway;

beforeAll(async () => {
  [ollama, claude] = await Promise.all([startFakeEngine({ kind: 'ollama' }), startFakeEngine({ kind: 'anthropic' })]);
  gateway = await startTestGateway({
    providers: [
      { id: 'ollama', class: 'local', wire: 'openai', baseUrl: ollama.baseUrl, engine: 'ollama', models: [{ id: LOCAL_MODEL, capabilityClass: 'small' }] },
      { id: 'claude', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: HOSTED_MODEL, capabilityClass: 'frontier', price: { inputPerMTok: 3, outputPerMTok: 15 } }] },
      // Never called here: a provider whose every model is above a small envelope.
      { id: 'claude-large', class: 'approved_hosted', wire: 'anthropic', baseUrl: claude.baseUrl, auth: true, models: [{ id: 'claude-haiku-4-5', capabilityClass: 'large', price: { inputPerMTok: 1, outputPerMTok: 5 } }] },
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([ollama?.close(), claude?.close()]);
});

const openai = (session?: string): OpenAI =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TEST_TOKEN, maxRetries: 0, ...(session === undefined ? {} : { defaultHeaders: { 'x-syndicate-session': session } }) });

async function ask(model: string, session?: string): Promise<{ status: number; provider?: string | null; evidence?: string | null; message?: string }> {
  try {
    const { data, response } = await openai(session)
      .chat.completions.create({ model, messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(DEFAULT_ANSWER);
    return { status: response.status, provider: response.headers.get('x-syndicate-provider'), evidence: response.headers.get('x-syndicate-evidence') };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? 0, message: error.message };
  }
}

function newestDenial(sessionId: string): ReturnType<typeof getEvidence> {
  const newest = listEvidence(gateway.store, { session: sessionId, state: 'denied', limit: 1 })[0];
  return newest === undefined ? undefined : getEvidence(gateway.store, newest.id);
}

describe('a stored session named by x-syndicate-session', () => {
  it('keeps the route within the approved class: a model above it is refused, one within it answers', async () => {
    const session = startSession(gateway.store, testPolicy(), { name: 'triage-small', model: `ollama:${LOCAL_MODEL}` });
    expect(session.envelope.maxCapability).toBe('small');

    // Without the session the hosted frontier model answers; naming the session refuses it.
    expect(await ask(`claude:${HOSTED_MODEL}`)).toMatchObject({ status: 200, provider: 'claude' });
    const refused = await ask(`claude:${HOSTED_MODEL}`, 'triage-small');
    expect(refused.status).toBe(403);
    expect(refused.message).toContain(`capability frontier is above session ${session.id}'s approved small`);
    expect(refused.message).toContain('syndicate session approve');
    // Only a provider with a model within the envelope is offered instead: claude-large's are all above it.
    expect(refused.message).toContain('(ollama may take it: name it instead');
    await gateway.settled();
    // Named by its name, recorded under its id.
    expect(newestDenial(session.id)).toMatchObject({ sessionId: session.id, error: { code: 'route_denied' } });

    const auto = await ask('auto', 'triage-small');
    expect(auto).toMatchObject({ status: 200, provider: 'ollama' });
    await gateway.settled();
    expect(getEvidence(gateway.store, auto.evidence ?? '')?.sessionId).toBe(session.id);
  });

  it('refuses every request while a switch has invalidated the envelope, and answers again once it is approved', async () => {
    const session = startSession(gateway.store, testPolicy(), { name: 'triage-switch', model: `ollama:${LOCAL_MODEL}` });
    await switchSessionModel(gateway.store, testPolicy(), session.id, `claude:${HOSTED_MODEL}`);

    // Even a model within the old envelope: nothing runs in the session until a checkpoint.
    const invalidated = await ask(`ollama:${LOCAL_MODEL}`, session.id);
    expect(invalidated.status).toBe(403);
    expect(invalidated.message).toContain('capability envelope is invalidated');
    await gateway.settled();
    expect(newestDenial(session.id)).toMatchObject({ sessionId: session.id, error: { code: 'session_envelope_invalidated' } });

    // The Anthropic client gets the same refusal in its own envelope.
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: TEST_TOKEN, maxRetries: 0, defaultHeaders: { 'x-syndicate-session': session.id } });
    const refusal = await anthropic.messages.create({ model: `ollama:${LOCAL_MODEL}`, max_tokens: 16, messages: [{ role: 'user', content: 'Hello' }] }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((refusal as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toContain('capability envelope is invalidated');

    approveEnvelope(gateway.store, testPolicy(), session.id, 'frontier');
    expect(await ask(`claude:${HOSTED_MODEL}`, session.id)).toMatchObject({ status: 200, provider: 'claude' });
  });

  it('refuses a session whose checkpoint or model was edited in the store (403, session_chain_broken), as a denial', async () => {
    const session = startSession(gateway.store, testPolicy(), { name: 'triage-widened', model: `ollama:${LOCAL_MODEL}` });
    expect(await ask(`ollama:${LOCAL_MODEL}`, session.id)).toMatchObject({ status: 200, provider: 'ollama' });
    // Widening the envelope by hand would let the frontier model take the session's requests.
    gateway.store.db.prepare("UPDATE session_checkpoints SET max_capability = 'frontier' WHERE session_id = ?").run(session.id);
    const sent = inferenceExchanges(claude).length;
    const widened = await ask(`claude:${HOSTED_MODEL}`, session.id);
    expect(widened.status).toBe(403);
    expect(widened.message).toContain(`session ${session.id} fails its hash chain at its checkpoint 1 (content changed): nothing was sent or changed`);
    expect(widened.message).toContain(`syndicate session show ${session.id}`);
    expect(inferenceExchanges(claude)).toHaveLength(sent);
    // Not even a model within the approved class: nothing runs in a session whose record cannot be trusted.
    expect(await ask(`ollama:${LOCAL_MODEL}`, session.id)).toMatchObject({ status: 403 });
    await gateway.settled();
    expect(newestDenial(session.id)).toMatchObject({ sessionId: session.id, state: 'denied', error: { code: 'session_chain_broken' } });
    expect(listEvidence(gateway.store, { session: session.id, state: 'denied' })).toHaveLength(2);

    const repinned = startSession(gateway.store, testPolicy(), { name: 'triage-repinned', model: `ollama:${LOCAL_MODEL}` });
    gateway.store.db.prepare("UPDATE sessions SET provider_id = 'claude', model = ? WHERE id = ?").run(HOSTED_MODEL, repinned.id);
    const refused = await ask('auto', repinned.id);
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('fails its hash chain at its active model (active model changed)');
  });

  it('leaves a session id that names no stored session as a label only', async () => {
    const answered = await ask(`claude:${HOSTED_MODEL}`, 'not-a-stored-session');
    expect(answered).toMatchObject({ status: 200, provider: 'claude' });
    await gateway.settled();
    expect(getEvidence(gateway.store, answered.evidence ?? '')?.sessionId).toBe('not-a-stored-session');
  });
});
