import { describe, expect, it } from 'vitest';
import { baseUrlProblem, checkProviderValue } from '../../../src/registry/checks.js';

function record(baseUrl: string, providerClass: string): Record<string, unknown> {
  return {
    apiVersion: 'syndicate/v1',
    kind: 'Provider',
    id: 'demo',
    class: providerClass,
    wire: 'openai',
    baseUrl,
    ...(providerClass === 'local' ? {} : { auth: { env: 'DEMO_API_KEY' } }),
    models: [{ id: 'm', contextWindow: 1, capabilityClass: 'small' }],
  };
}

describe('the base URL and its port', () => {
  it.each(['http://127.0.0.1:1/v1', 'http://127.0.0.1:65535/v1', 'https://api.openai.com/v1', 'https://api.openai.com:443/v1', 'http://[::1]:8000/v1', 'http://[::1]/v1', 'https://user@host:8443/v1'])(
    'accepts %s',
    (url) => {
      expect(baseUrlProblem(url)).toBeUndefined();
    },
  );

  it.each([
    ['https://api.openai.com:99999/v1', '"99999"'],
    ['http://127.0.0.1:65536/v1', '"65536"'],
    ['https://api.openai.com:0/v1', '"0"'],
    ['http://[::1]:0/v1', '"0"'],
    ['https://api.openai.com:44x/v1', '"44x"'],
  ])('refuses %s: port must be 1-65535', (url, port) => {
    expect(baseUrlProblem(url)).toBe(`port must be 1-65535, got ${port} in ${JSON.stringify(url)}`);
  });

  it.each(['approved_hosted', 'restricted_hosted', 'local'])('registration as %s gets the port problem at /baseUrl, and no other', async (providerClass) => {
    const host = providerClass === 'local' ? '127.0.0.1' : 'api.openai.com';
    for (const port of ['99999', '0']) {
      const { record: checked, problems } = await checkProviderValue(record(`https://${host}:${port}/v1`, providerClass), 'demo.yaml');
      expect(checked).toBeUndefined();
      expect(problems).toEqual([
        {
          file: 'demo.yaml',
          pointer: '/baseUrl',
          message: `port must be 1-65535, got "${port}" in "https://${host}:${port}/v1"`,
          hint: "use the port the API listens on, or leave the port out for the scheme's default (443 for https, 80 for http)",
        },
      ]);
    }
  });
});
