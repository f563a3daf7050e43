import { describe, expect, it } from 'vitest';
import { hostOption, portOption } from '../../../src/cli/input.js';
import { UsageError } from '../../../src/errors.js';

function usageErrorOf(parse: () => unknown): UsageError {
  try {
    parse();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError, got a value');
}

describe('portOption', () => {
  it('takes 0 to 65535', () => {
    expect(portOption('0', 8089)).toBe(0);
    expect(portOption('8089', 8089)).toBe(8089);
    expect(portOption('65535', 8089)).toBe(65_535);
  });

  it.each(['99999', '65536', '-1', 'abc', '1.5', '', ' 80', '0x50', '1e3'])('refuses %j (exit 2) naming the flag, the range and the fix', (value) => {
    expect(usageErrorOf(() => portOption(value, 8089))).toMatchObject({
      exitCode: 2,
      message: `--port must be an integer from 0 to 65535, got "${value}"`,
      hint: 'for example --port 8089, or --port 0 to pick a free port',
    });
  });
});

describe('hostOption', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['[::1]', '::1'],
    ['localhost', 'localhost'],
    ['my-host.example.com', 'my-host.example.com'],
    ['0.0.0.0', '0.0.0.0'],
  ])('takes %j as %j', (value, host) => {
    expect(hostOption(value)).toBe(host);
  });

  it.each(['', ' ', '127.0.0.1:8089', 'http://127.0.0.1', '999.1.1.1', 'a b', '[localhost]', 'host/path', '-bad.example'])('refuses %j (exit 2), saying the port goes in --port', (value) => {
    expect(usageErrorOf(() => hostOption(value))).toMatchObject({
      exitCode: 2,
      message: `--host must be an IP address or a host name, got "${value}"`,
      hint: expect.stringContaining('the port goes in --port'),
    });
  });
});
