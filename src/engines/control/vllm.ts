import type { EngineController, EngineState } from './types.js';
import { controlFailure, engineClient, engineCommand, member, unsupported, waitUntil } from './http.js';
import { engineJson } from '../../transport/engine-info.js';

/** What releases a vLLM's model, naming `provider`, the record whose engine it is. */
function sleepModeHint(provider: string | undefined): string {
  return `start vLLM with --enable-sleep-mode and VLLM_SERVER_DEV_MODE=1 to release and restore its model on request, or stop the process (${engineCommand('stop', provider)}, if syndicate started it)`;
}

/**
 * vLLM serves one model per process. Started with `--enable-sleep-mode` (and
 * `VLLM_SERVER_DEV_MODE=1`, which exposes the endpoints) it can release the model's GPU memory
 * and take it back without a restart: `POST /sleep?level=1` is the unload, `POST /wake_up` the
 * load, `GET /is_sleeping` the state. Without it a model is resident for as long as the process runs.
 */
export function vllmController(baseUrl: string, headers: Record<string, string> = {}, provider?: string): EngineController {
  const { root, ask, servedModels } = engineClient(baseUrl, headers);
  /** undefined: no sleep mode on this server. */
  const sleeping = async (): Promise<boolean | undefined> => {
    const url = `${root}/is_sleeping`;
    const answer = await ask(url);
    if (answer.status === 404) return undefined;
    const value = member(engineJson(url, answer), 'is_sleeping');
    return typeof value === 'boolean' ? value : undefined;
  };
  return {
    kind: 'vllm',
    async state(): Promise<EngineState> {
      const [served, asleep] = await Promise.all([servedModels(), sleeping()]);
      return {
        resident: served.map((model) => ({ model, state: asleep === true ? ('sleeping' as const) : ('loaded' as const) })),
        available: served,
        mode: asleep === undefined ? 'single-model' : 'sleep-mode',
      };
    },
    async load(model, options): Promise<void> {
      const served = await servedModels();
      if (!served.includes(model)) throw unsupported(`this vLLM serves ${served.join(', ')}: one model per process`, 'start another vLLM process for that model and register it');
      if ((await sleeping()) !== true) return;
      const url = `${root}/wake_up`;
      const answer = await ask(url, { method: 'POST', timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`waking ${model}`, url, answer);
      await waitUntil(`vLLM waking ${model}`, async () => (await sleeping()) === false, options.timeoutMs);
    },
    async unload(model, options): Promise<void> {
      const asleep = await sleeping();
      if (asleep === undefined) throw unsupported(`this vLLM has no sleep mode: it holds ${model} for as long as it runs`, sleepModeHint(provider));
      if (asleep) return;
      const url = `${root}/sleep?level=1`;
      const answer = await ask(url, { method: 'POST', timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`putting ${model} to sleep`, url, answer);
      await waitUntil(`vLLM releasing ${model}`, async () => (await sleeping()) === true, options.timeoutMs);
    },
  };
}
