import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/classify/index.js';

/**
 * Credentials joined to the text around them: inside an identifier (`f_AKIA…`, `MY_TOKEN_ghp_…`),
 * after a letter or digit, a `%3D` or a `\n` escape, or followed by `_x` or letters. A word
 * boundary is not required where the format's prefix is distinctive; a fixed-length format still
 * ends where its alphabet ends.
 */

const RANDOM = 'aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4cD6eF8gH0iJ2kL4mN6oP8qR0sT2uV4wX6yZ8aB0cD2eF4gH6iJ8kL0mN2oP4qR6sT8uV0wX2yZ4';
const OPTIONS = { indicatorWords: [], patterns: [] };
const HEX = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const body = (length: number): string => RANDOM.slice(0, length);

/** One credential of each format whose boundary was relaxed, and the detector that must find it. */
/**
 * `fixedLength`: one more character of its alphabet after it makes it another string, not that
 * format (`lettersInAlphabet`: lower-case letters too).
 * `wordEnding`: the prefix also ends common words (`task-proj-…`, `risk_test_…`), so a letter right
 * before it still ends the match; digits, `_` and escapes do not.
 */
const CREDENTIALS: { name: string; credential: string; detector: string; fixedLength?: boolean; wordEnding?: boolean; lettersInAlphabet?: boolean }[] = [
  { name: 'AWS access key id', credential: 'AKIAIOSFODNN7EXAMPLE', detector: 'secret.aws-access-key-id', fixedLength: true },
  { name: 'AWS temporary key id', credential: 'ASIAY34FZKBOKMUTVV7A', detector: 'secret.aws-access-key-id', fixedLength: true },
  { name: 'GitHub classic token', credential: `ghp_${body(36)}`, detector: 'secret.github-token' },
  { name: 'GitHub fine-grained token', credential: `github_pat_${body(22)}_${body(59)}`, detector: 'secret.github-token' },
  { name: 'Slack bot token', credential: 'xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', detector: 'secret.slack-token' },
  { name: 'Anthropic key', credential: `sk-ant-api03-${body(40)}`, detector: 'secret.anthropic-key' },
  { name: 'OpenAI project key', credential: `sk-proj-${body(40)}`, detector: 'secret.openai-key', wordEnding: true },
  { name: 'Stripe secret key', credential: `sk_live_${body(24)}`, detector: 'secret.stripe-key', wordEnding: true },
  { name: 'Google API key', credential: `AIza${body(35)}`, detector: 'secret.google-api-key', fixedLength: true, lettersInAlphabet: true },
  { name: 'JWT', credential: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', detector: 'secret.jwt' },
  { name: 'npm token', credential: `npm_${body(36)}`, detector: 'secret.npm-token' },
  { name: 'GitLab token', credential: `glpat-${body(20)}`, detector: 'secret.gitlab-token' },
  { name: 'Google OAuth token', credential: `ya29.${body(30)}`, detector: 'secret.google-oauth' },
  { name: 'SendGrid key', credential: `SG.${body(22)}.${body(43)}`, detector: 'secret.sendgrid-key' },
  { name: 'Groq key', credential: `gsk_${body(52)}`, detector: 'secret.groq-key' },
  { name: 'Vault token', credential: `hvs.CAES${body(30)}`, detector: 'secret.vault-token' },
  { name: 'DigitalOcean token', credential: `dop_v1_${HEX}`, detector: 'secret.digitalocean-token', fixedLength: true },
  { name: 'Pulumi token', credential: `pul-${HEX.slice(0, 40)}`, detector: 'secret.pulumi-token', fixedLength: true },
  { name: 'New Relic key', credential: 'NRAK-ABCDEFGHIJ0123456789ABCDEFG', detector: 'secret.new-relic-key', fixedLength: true },
  { name: 'Stripe webhook secret', credential: `whsec_${body(32)}`, detector: 'secret.stripe-webhook-secret' },
];

/** How a credential is glued to its surroundings. */
const GLUED: { name: string; wrap: (credential: string) => string; letterBefore?: boolean; letterAfter?: boolean; digitAfter?: boolean }[] = [
  { name: 'underscore before', wrap: (credential) => `tool f_${credential} ok` },
  { name: 'identifier before', wrap: (credential) => `MY_TOKEN_${credential}` },
  { name: 'letters before', wrap: (credential) => `prefix${credential}`, letterBefore: true },
  { name: 'digit before', wrap: (credential) => `9${credential}` },
  { name: 'percent-encoded = before', wrap: (credential) => `https://example.test/?key%3D${credential}&x=1` },
  { name: '\\n escape before', wrap: (credential) => `{"content": "line one\\n${credential}\\nline two"}` },
  { name: 'underscore after', wrap: (credential) => `${credential}_x` },
  { name: 'letters after', wrap: (credential) => `${credential}zz`, letterAfter: true },
  { name: 'digit after, variable length', wrap: (credential) => `${credential}9`, digitAfter: true },
  { name: 'both sides', wrap: (credential) => `f_${credential}_x` },
];

function detectorsOf(text: string): string[] {
  const result = classifyText(text, OPTIONS);
  expect(result.failedClosed).toBe(false);
  return result.findings.map((finding) => finding.detector);
}

describe('credentials glued to identifiers', () => {
  const cases = CREDENTIALS.flatMap((credential) =>
    GLUED.filter(
      (glued) =>
        !(credential.wordEnding === true && glued.letterBefore === true) &&
        !(credential.lettersInAlphabet === true && glued.letterAfter === true) &&
        !(credential.fixedLength === true && glued.digitAfter === true),
    ).map((glued) => ({ ...credential, glued: glued.name, text: glued.wrap(credential.credential) })),
  );

  it.each(cases)('$name, $glued: $detector', ({ text, detector }) => {
    expect(detectorsOf(text)).toContain(detector);
    expect(classifyText(text, OPTIONS).level).toBe('restricted');
  });

  it('reports the glued credential at its own span, the identifier around it left out', () => {
    const text = 'call f_AKIAIOSFODNN7EXAMPLE_x now';
    const finding = classifyText(text, OPTIONS).findings.find((found) => found.detector === 'secret.aws-access-key-id');
    expect(finding === undefined ? undefined : text.slice(finding.span.start, finding.span.end)).toBe('AKIAIOSFODNN7EXAMPLE');
    expect(finding?.excerpt).not.toContain('IOSFODNN7');
  });

  it('finds a Slack token and a Telegram bot token where their own URLs and configs glue them', () => {
    expect(detectorsOf(`https://api.telegram.org/bot123456789:AA${body(33)}/getMe`)).toContain('secret.telegram-bot-token');
    expect(detectorsOf('SLACK_BOT_TOKEN_xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx')).toContain('secret.slack-token');
    expect(detectorsOf(`key_sk-ant-api03-${body(40)}`)).toContain('secret.anthropic-key');
    expect(detectorsOf(`OPENAI_KEY_sk-${body(48)}`)).toContain('secret.openai-key');
  });

  it('takes a letter before a prefix that also ends common words as a boundary still', () => {
    for (const { credential, detector } of CREDENTIALS.filter((candidate) => candidate.wordEnding === true)) {
      expect(detectorsOf(`prefix${credential}`), `prefix${credential}`).not.toContain(detector);
    }
  });

  it('still ends a fixed-length format where its alphabet ends: one more capital or digit is not that format', () => {
    for (const { credential, detector } of CREDENTIALS.filter((candidate) => candidate.fixedLength === true)) {
      // A digit belongs to every fixed-length format's alphabet here.
      expect(detectorsOf(`${credential}7`), `${credential}7`).not.toContain(detector);
      expect(detectorsOf(`f_${credential}7`), `f_${credential}7`).not.toContain(detector);
    }
    expect(detectorsOf('AKIAIOSFODNN7EXAMPLEX')).not.toContain('secret.aws-access-key-id');
    expect(detectorsOf('xAKIAIOSFODNN7EXAMPLEX')).not.toContain('secret.aws-access-key-id');
  });
});

describe('identifiers that contain a prefix are not glued credentials', () => {
  it.each([
    // `ghs_` ends `highs_`, `sk-` ends `risk-`/`task-`, `SG.` ends `MSG.`, `sk_test_` ends `risk_test_`, `hf_` ends `pdf_`.
    ['a snake_case identifier after highs_', 'const thighs_and_highs_of_the_long_weekend_2024_v2 = 1;'],
    ['a kebab-case name after risk-', 'see risk-assessment-2024-quarterly-report-v2 and task-runner-config-v3-final'],
    ['a method chain after MSG.', 'MSG.ConfigurationManagerItem.LoadAllTheSettingsFromTheDatabase2()'],
    ['a test name after risk_test_', 'def risk_test_CalculationOfValueAtRisk2024(): pass'],
    ['a file name after pdf_', 'open pdf_GeneratedDocumentWithLongName2X here'],
    ['a word that ends in AKIA', 'SLOVAKIAEASTERNREGIONS and EURASIAPACIFICREGIONSX'],
    ['an upper-case constant with AKIA but not 16 characters after it', 'export const SLOVAKIAREPUBLICNAMES1 = 1'],
  ])('%s', (_name, text) => {
    expect(detectorsOf(text).filter((detector) => detector.startsWith('secret.'))).toEqual([]);
  });
});
