import { describe, expect, it } from 'vitest';
import { routerModelContext } from '../../../src/catalog/discovery.js';

/** The arguments of a llama-server router's model (`status.args` of GET /v1/models), as build de3ff81 lists them. */
const args = (...extra: string[]): string[] => ['/usr/bin/llama-server', '--host', '127.0.0.1', '--port', '0', '--alias', 'tiny', ...extra, '--model', 'models/tiny.gguf', '--threads', '1'];

describe('routerModelContext', () => {
  it('reads --ctx-size (or -c) of the arguments the router starts the model with', () => {
    expect(routerModelContext(args('--ctx-size', '2048'))).toBe(2048);
    expect(routerModelContext(args('-c', '1024'))).toBe(1024);
  });

  it('splits it between --parallel slots unless the KV cache is unified, as llama-server does', () => {
    expect(routerModelContext(args('--ctx-size', '2048', '--parallel', '2'))).toBe(1024);
    expect(routerModelContext(args('--ctx-size', '2048', '-np', '4'))).toBe(512);
    expect(routerModelContext(args('--ctx-size', '2048', '--parallel', '2', '--kv-unified'))).toBe(2048);
  });

  it('is unknown without --ctx-size (the model gets its trained context, which the router does not list) or without arguments', () => {
    expect(routerModelContext(args())).toBeUndefined();
    expect(routerModelContext(args('--ctx-size', 'lots'))).toBeUndefined();
    expect(routerModelContext(undefined)).toBeUndefined();
  });
});
