import { describe, expect, it } from 'vitest';
import { hostedPreferredScenario, inferenceExchanges } from '../helpers/scenario.js';

/**
 * Credentials the classifier used to miss, end to end: `run` through the built CLI, the default
 * policy with the interactive workflow preferring a hosted model (a fake Anthropic), a local fake
 * Ollama beside it. A prompt holding such a credential is restricted and stays local: the hosted
 * engine receives nothing of it. A plain prompt still goes hosted.
 */

const OPUS = 'claude-opus-4-1';
const KEYS = { FAKE_ANTHROPIC_KEY: 'sk-ant-fake' };
/** A Hugging Face token as issued (34 letters, no digit), glued to the word before it. */
const HF_TOKEN = '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';
/** An email's quoted-printable source, an access key id split by a soft line break. */
const QP_EMAIL = [
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Hi Bob, here are the settings for the deploy job from Monday. The acce=',
  'ss key id for the deploy role, as you asked today, is AKIAIOSFODNN7EX=',
  'AMPLE. Summarise this mail for me.',
].join('\n');

describe('credentials once missed stay local under the default policy', () => {
  const setup = hostedPreferredScenario(OPUS, { claude: { price: { inputPerMTok: 3, outputPerMTok: 15 }, tags: ['chat'], contextWindow: 200000 }, ollama: { contextWindow: 8192, tags: ['chat'] } });

  /** The provider `run --json` answered with. */
  const run = async (prompt: string): Promise<string> => {
    const { result, document } = await setup.scenario.json(['run', '--no-stream', prompt], { env: KEYS });
    expect(result.exitCode, result.stderr).toBe(0);
    return (document.provider as { id: string }).id;
  };

  it('a plain prompt goes to the preferred hosted model', async () => {
    expect(await run('say hello')).toBe('claude');
  }, 90_000);

  it.each([
    ['a Hugging Face token of letters only, glued to a word', `use myToken${HF_TOKEN} for the download`, HF_TOKEN.slice(3)],
    ['an access key id split by a quoted-printable soft break', QP_EMAIL, 'AKIAIOSFODNN7EX'],
  ])('%s: answered locally, the hosted engine never sees it', async (_name, prompt, unseen) => {
    const before = inferenceExchanges(setup.claude).length;
    expect(await run(prompt)).toBe('ollama');
    expect(inferenceExchanges(setup.claude)).toHaveLength(before);
    expect(inferenceExchanges(setup.claude).map((exchange) => exchange.requestBody.toString('utf8')).join('\n')).not.toContain(unseen);
  }, 90_000);
});
