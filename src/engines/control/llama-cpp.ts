import type { EngineController, EngineState, ResidentModel } from './types.js';
import { arrayMember, controlFailure, engineClient, engineCommand, engineMessage, member, numberMember, stringMember, stopProcessHint, unsupported, waitUntil } from './http.js';
import { UpstreamError } from '../../errors.js';

interface RouterModel {
  id: string;
  /** `status.value`: unloaded, loading, loaded, sleeping, downloading. */
  status: string;
  failed: boolean;
  exitCode: number | undefined;
}

/** The models of llama-server's `GET /v1/models` answer, with each one's `status` when the server runs as a router. */
export function llamaCppModels(body: unknown): { router: boolean; models: RouterModel[] } {
  const entries = arrayMember(body, 'data');
  const router = entries.some((entry) => typeof member(entry, 'status') === 'object');
  const models = entries.flatMap((entry): RouterModel[] => {
    const id = stringMember(entry, 'id');
    if (id === undefined) return [];
    const status = member(entry, 'status');
    return [{ id, status: stringMember(status, 'value') ?? 'loaded', failed: member(status, 'failed') === true, exitCode: numberMember(status, 'exit_code') }];
  });
  return { router, models };
}

/** Models a router holds or is loading, from its `GET /v1/models` answer; undefined for a single-model server. */
export function residentFromLlamaCppRouter(body: unknown): string[] | undefined {
  const { router, models } = llamaCppModels(body);
  return router ? models.filter((entry) => entry.status === 'loaded').map((entry) => entry.id) : undefined;
}

const RESIDENT_STATES = new Set(['loaded', 'loading', 'sleeping']);

/**
 * Whether llama-server's name `served` and a record's `declared` id are the same model. Started
 * with `-m PATH` (and no `--alias`) llama-server names its model by that path as given
 * (`/models/qwen2.5-7b-instruct-q4_k_m.gguf`), while a record names it by its file, with or without
 * `.gguf` — as its router names the files of `--models-dir`.
 */
export function sameLlamaCppModel(served: string, declared: string): boolean {
  if (served === declared) return true;
  const file = served.split(/[\\/]/).pop() ?? served;
  return file !== served && (file === declared || file.replace(/\.gguf$/i, '') === declared);
}

/**
 * llama.cpp's `llama-server`. Started without a model it is a router (`--models-dir`,
 * `--models-preset` or its cache): `GET /v1/models` gives each model's `status`, and
 * `POST /models/load` / `POST /models/unload` answer at once while a child process loads or
 * exits — both are followed on the model list until the status says done (a load that fails
 * shows as `unloaded` with `failed` and the child's exit code). Started with `-m` it serves that
 * one model for its lifetime: nothing to load, and unloading means stopping the process. Hints
 * name `provider`, the record whose engine this is.
 */
export function llamaCppController(baseUrl: string, headers: Record<string, string> = {}, provider?: string): EngineController {
  const { root, ask, askJson } = engineClient(baseUrl, headers);
  const listModels = async (): Promise<{ router: boolean; models: RouterModel[] }> => llamaCppModels(await askJson(`${root}/v1/models`));
  const sleeping = async (): Promise<boolean> => member(await askJson(`${root}/props`).catch(() => undefined), 'is_sleeping') === true;
  const statusOf = async (model: string): Promise<RouterModel | undefined> => (await listModels()).models.find((entry) => entry.id === model);
  return {
    kind: 'llama.cpp',
    async state(): Promise<EngineState> {
      const { router, models } = await listModels();
      // Started with --sleep-idle-seconds, a single-model server unloads its model when idle and
      // loads it again on the next request; /props says which (reading it does not wake it).
      const asleep = !router && (await sleeping());
      const resident = models
        .filter((entry) => RESIDENT_STATES.has(entry.status))
        .map((entry): ResidentModel => ({ model: entry.id, state: asleep ? 'sleeping' : (entry.status as ResidentModel['state']) }));
      return { resident, available: models.map((entry) => entry.id), mode: router ? 'router' : 'single-model' };
    },
    async load(model, options): Promise<void> {
      const { router, models } = await listModels();
      if (!router) {
        if (models.some((entry) => sameLlamaCppModel(entry.id, model))) {
          // Asleep (--sleep-idle-seconds), it loads its model again for the first request that
          // needs it and answers once loaded: /tokenize of nothing is the lightest such request.
          if (await sleeping()) {
            const url = `${root}/tokenize`;
            const answer = await ask(url, { method: 'POST', body: { content: '' }, timeoutMs: options.timeoutMs });
            if (answer.status < 200 || answer.status > 299) throw controlFailure(`waking ${model}`, url, answer);
          }
          return;
        }
        throw unsupported(
          `this llama-server serves only ${models.map((entry) => entry.id).join(', ') || 'its one model'}: started with -m it cannot load another`,
          'start llama-server without -m and with --models-dir DIR (router mode) to load models on request, or run a second server for this model',
        );
      }
      const current = models.find((entry) => entry.id === model);
      if (current === undefined) {
        throw new UpstreamError(`llama-server has no model ${model} (it has ${models.map((entry) => entry.id).join(', ') || 'none'})`, {
          code: 'engine_model_not_found',
          isRetryable: false,
          // Measured: a file put there while it runs stays unknown to it until it is started again.
          hint: `put the GGUF file in the --models-dir directory (the model id is its file name without .gguf) and restart llama-server, which reads that directory only when it starts (${engineCommand('stop', provider)} and ${engineCommand('start', provider)}, if syndicate started it), then try again`,
        });
      }
      if (current.status !== 'loaded' && current.status !== 'loading') {
        const url = `${root}/models/load`;
        const answer = await ask(url, { method: 'POST', body: { model }, timeoutMs: options.timeoutMs });
        // "model is already running": another caller's load got there first; follow it like ours.
        if ((answer.status < 200 || answer.status > 299) && !/already running/i.test(engineMessage(answer))) throw controlFailure(`loading ${model}`, url, answer);
      }
      let failure: RouterModel | undefined;
      await waitUntil(`llama-server loading ${model}`, async () => {
        const status = await statusOf(model);
        if (status?.failed === true && status.status === 'unloaded') {
          failure = status;
          return true;
        }
        return status?.status === 'loaded';
      }, options.timeoutMs);
      if (failure !== undefined) {
        throw new UpstreamError(`llama-server could not load ${model}: its model process exited${failure.exitCode === undefined ? '' : ` with code ${failure.exitCode}`}`, {
          code: 'engine_load_failed',
          isRetryable: false,
          hint: "look at llama-server's log (engine start writes it beside the store: `syndicate engine status` shows where)",
        });
      }
    },
    async unload(model, options): Promise<void> {
      const { router, models } = await listModels();
      if (!router) {
        throw unsupported(`this llama-server was started with -m and serves ${models.map((entry) => entry.id).join(', ')} for its lifetime: it cannot unload it`, stopProcessHint(provider));
      }
      const current = models.find((entry) => entry.id === model);
      if (current === undefined || !RESIDENT_STATES.has(current.status)) return;
      const url = `${root}/models/unload`;
      const answer = await ask(url, { method: 'POST', body: { model }, timeoutMs: options.timeoutMs });
      if ((answer.status < 200 || answer.status > 299) && !/not running/i.test(engineMessage(answer))) throw controlFailure(`unloading ${model}`, url, answer);
      await waitUntil(`llama-server unloading ${model}`, async () => {
        const status = await statusOf(model);
        return status === undefined || !RESIDENT_STATES.has(status.status);
      }, options.timeoutMs);
    },
  };
}
