import type { EngineController, EngineState, ResidentModel } from './types.js';
import { sameOllamaModel } from '../../registry/model-names.js';
import { arrayMember, controlFailure, engineClient, numberMember, stringMember, waitUntil } from './http.js';

/** Ollama's `keep_alive`: a duration string (`5m`), or seconds as a number (`-1` keeps the model for ever). */
function keepAliveValue(text: string): string | number {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/**
 * Ollama: resident models from `GET /api/ps` (sizes, VRAM, keep-alive expiry), the pulled ones
 * from `GET /api/tags`. A model is loaded by `POST /api/generate` with no prompt (the answer
 * comes once it is loaded, `done_reason: "load"`) — an embedding model by `POST /api/embed` with
 * no input, as Ollama's GenerateHandler refuses a model without the completion capability (400
 * `"x" does not support generate`) where its EmbedHandler asks for none — with the load's
 * `keep_alive` and `options` (`num_ctx`: the context the runner is started with). It is unloaded
 * by `/api/generate` with `keep_alive: 0` (checked before any capability) — which answers at once
 * while the engine frees the model, so the unload is followed on `/api/ps` until the model is gone.
 */
export function ollamaController(baseUrl: string, headers: Record<string, string> = {}): EngineController {
  const { root, ask, askJson } = engineClient(baseUrl, headers);
  const resident = async (): Promise<ResidentModel[]> => {
    const body = await askJson(`${root}/api/ps`);
    return arrayMember(body, 'models').flatMap((entry): ResidentModel[] => {
      const model = stringMember(entry, 'name') ?? stringMember(entry, 'model');
      if (model === undefined) return [];
      const sizeBytes = numberMember(entry, 'size');
      const vramBytes = numberMember(entry, 'size_vram');
      const expiresAt = stringMember(entry, 'expires_at');
      const contextLength = numberMember(entry, 'context_length');
      return [
        {
          model,
          state: 'loaded',
          ...(sizeBytes === undefined ? {} : { sizeBytes }),
          ...(vramBytes === undefined ? {} : { vramBytes }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
          ...(contextLength === undefined ? {} : { contextLength }),
        },
      ];
    });
  };
  const isResident = async (model: string): Promise<boolean> => (await resident()).some((entry) => sameOllamaModel(entry.model, model));
  return {
    kind: 'ollama',
    async state(): Promise<EngineState> {
      const [models, tags, version] = await Promise.all([
        resident(),
        askJson(`${root}/api/tags`).catch(() => undefined),
        askJson(`${root}/api/version`).catch(() => undefined),
      ]);
      const available = tags === undefined ? undefined : arrayMember(tags, 'models').map((entry) => stringMember(entry, 'name')).filter((name): name is string => name !== undefined);
      const versionText = stringMember(version, 'version');
      return { resident: models, available, ...(versionText === undefined ? {} : { version: versionText }) };
    },
    async load(model, options): Promise<void> {
      const url = `${root}${options.embedding === true ? '/api/embed' : '/api/generate'}`;
      const body: Record<string, unknown> = { model };
      if (options.keepAlive !== undefined) body['keep_alive'] = keepAliveValue(options.keepAlive);
      if (options.modelOptions !== undefined) body['options'] = options.modelOptions;
      const answer = await ask(url, { method: 'POST', body, timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`loading ${model}`, url, answer, answer.status === 404 ? `pull it first: ollama pull ${model}` : undefined);
      await waitUntil(`Ollama reporting ${model} loaded`, () => isResident(model), Math.min(options.timeoutMs, 10_000));
    },
    async unload(model, options): Promise<void> {
      const url = `${root}/api/generate`;
      const answer = await ask(url, { method: 'POST', body: { model, keep_alive: 0 }, timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`unloading ${model}`, url, answer);
      await waitUntil(`Ollama releasing ${model}`, async () => !(await isResident(model)), options.timeoutMs);
    },
  };
}
