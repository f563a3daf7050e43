import { UpstreamError } from '../../errors.js';
import type { EngineController, EngineState, ResidentModel } from './types.js';
import { arrayMember, controlFailure, engineClient, member, stringMember, unsupported, waitUntil } from './http.js';

/**
 * The processes of llama-swap's `GET /running` answer (mostlygeek/llama-swap proxy/proxymanager.go
 * listRunningProcessesHandler): with process groups only those `ready`, with a matrix every one it
 * runs, `starting` included; the oldest releases list `model` without `state`.
 */
export function llamaSwapRunning(body: unknown): ResidentModel[] {
  return arrayMember(body, 'running').flatMap((entry): ResidentModel[] => {
    const model = stringMember(entry, 'model');
    if (model === undefined) return [];
    const state = stringMember(entry, 'state');
    return [{ model, state: state === 'ready' || state === undefined ? 'loaded' : 'loading' }];
  });
}

/** Models llama-swap has ready to answer, from its `GET /running` answer; undefined for another answer. */
export function residentFromLlamaSwap(body: unknown): string[] | undefined {
  if (!Array.isArray(member(body, 'running'))) return undefined;
  return llamaSwapRunning(body)
    .filter((entry) => entry.state === 'loaded')
    .map((entry) => entry.model);
}

/**
 * llama-swap: `GET /running` lists the upstream processes it runs (`state` `ready` or
 * `starting`), `GET /v1/models` the models it may start. It starts a model's process on the
 * first request for it, so a load is `GET /upstream/MODEL/health` (answered once the process is
 * ready); `POST /api/models/unload/MODEL` stops one (releases before that only had `GET /unload`,
 * which stops every model, so they are refused rather than used).
 */
export function llamaSwapController(baseUrl: string, headers: Record<string, string> = {}): EngineController {
  const { root, ask, askJson, servedModels } = engineClient(baseUrl, headers);
  const running = async (): Promise<ResidentModel[]> => llamaSwapRunning(await askJson(`${root}/running`));
  const isReady = async (model: string): Promise<boolean> => (await running()).some((entry) => entry.model === model && entry.state === 'loaded');
  return {
    kind: 'llama-swap',
    async state(): Promise<EngineState> {
      const [resident, available] = await Promise.all([running(), servedModels().catch(() => undefined)]);
      return { resident, available };
    },
    async load(model, options): Promise<void> {
      if (await isReady(model)) return;
      const available = await servedModels().catch(() => undefined);
      if (available !== undefined && !available.includes(model)) {
        throw new UpstreamError(`llama-swap has no model ${model} (its config.yaml lists ${available.join(', ') || 'none'})`, { code: 'engine_model_not_found', isRetryable: false, hint: "add it to llama-swap's config.yaml, or check the model id" });
      }
      const url = `${root}/upstream/${encodeURIComponent(model)}/health`;
      const answer = await ask(url, { timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`starting ${model}`, url, answer, 'check the model id against llama-swap\'s config.yaml and its log (GET /logs)');
      await waitUntil(`llama-swap reporting ${model} ready`, () => isReady(model), Math.min(options.timeoutMs, 10_000));
    },
    async unload(model, options): Promise<void> {
      if (!(await running()).some((entry) => entry.model === model)) return;
      const url = `${root}/api/models/unload/${encodeURIComponent(model)}`;
      const answer = await ask(url, { method: 'POST', timeoutMs: options.timeoutMs });
      if (answer.status === 404) {
        throw unsupported('this llama-swap cannot unload one model (no POST /api/models/unload/MODEL); its GET /unload would stop every model', 'upgrade llama-swap, or set a ttl for the model in its config.yaml');
      }
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`unloading ${model}`, url, answer);
      await waitUntil(`llama-swap stopping ${model}`, async () => !(await running()).some((entry) => entry.model === model), options.timeoutMs);
    },
  };
}
