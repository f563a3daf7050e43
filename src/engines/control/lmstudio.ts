import type { EngineController, EngineState, ResidentModel } from './types.js';
import { arrayMember, controlFailure, engineClient, member, numberMember, stringMember, unsupported } from './http.js';
import { engineJson } from '../../transport/engine-info.js';

interface LmStudioModel {
  key: string;
  /** Ids of its loaded instances (LM Studio can hold several copies of one model). */
  instances: string[];
  sizeBytes: number | undefined;
}

/**
 * The models of LM Studio's `GET /api/v0/models` answer (0.3.6 and later; lmstudio-ai/docs
 * 1_developer/2_rest/endpoints.mdx) with their `state`: `loaded`, `not-loaded` (or `loading`).
 */
export function lmStudioV0Models(body: unknown): { id: string; state: string | undefined }[] {
  return arrayMember(body, 'data')
    .map((entry) => ({ id: stringMember(entry, 'id'), state: stringMember(entry, 'state') }))
    .filter((entry): entry is { id: string; state: string | undefined } => entry.id !== undefined);
}

/** Models LM Studio holds loaded, from its `GET /api/v0/models` answer; undefined for another answer. */
export function residentFromLmStudio(body: unknown): string[] | undefined {
  if (!Array.isArray(member(body, 'data'))) return undefined;
  return lmStudioV0Models(body)
    .filter((entry) => entry.state === 'loaded')
    .map((entry) => entry.id);
}

const V1_NEEDED_HINT = 'LM Studio 0.4 or later loads and unloads through its REST API; with an older one use `lms load MODEL` / `lms unload MODEL`';

/**
 * LM Studio: its v1 REST API (0.4 and later) lists models with their loaded instances
 * (`GET /api/v1/models`), loads (`POST /api/v1/models/load`, answered once loaded) and unloads
 * by instance id. A load is sent only when the model has no loaded instance: LM Studio answers a
 * second load with a second copy. Older releases only have `GET /api/v0/models`
 * (`state: loaded | not-loaded`), which is read for the state.
 */
export function lmStudioController(baseUrl: string, headers: Record<string, string> = {}): EngineController {
  const { root, ask, askJson } = engineClient(baseUrl, headers);
  const v1Models = async (): Promise<LmStudioModel[] | undefined> => {
    const url = `${root}/api/v1/models`;
    const answer = await ask(url);
    if (answer.status === 404) return undefined;
    return arrayMember(engineJson(url, answer), 'models').flatMap((entry): LmStudioModel[] => {
      const key = stringMember(entry, 'key');
      if (key === undefined) return [];
      const instances = arrayMember(entry, 'loaded_instances').map((instance) => stringMember(instance, 'id')).filter((id): id is string => id !== undefined);
      return [{ key, instances, sizeBytes: numberMember(entry, 'size_bytes') }];
    });
  };
  const requireV1 = async (): Promise<LmStudioModel[]> => {
    const models = await v1Models();
    if (models === undefined) throw unsupported('this LM Studio has no v1 REST API (GET /api/v1/models answered 404)', V1_NEEDED_HINT);
    return models;
  };
  return {
    kind: 'lmstudio',
    async state(): Promise<EngineState> {
      const models = await v1Models();
      if (models !== undefined) {
        const resident = models
          .filter((model) => model.instances.length > 0)
          .map((model): ResidentModel => ({ model: model.key, state: 'loaded', ...(model.sizeBytes === undefined ? {} : { sizeBytes: model.sizeBytes }) }));
        return { resident, available: models.map((model) => model.key) };
      }
      const legacy = await askJson(`${root}/api/v0/models`);
      return {
        resident: (residentFromLmStudio(legacy) ?? []).map((model): ResidentModel => ({ model, state: 'loaded' })),
        available: lmStudioV0Models(legacy).map((entry) => entry.id),
      };
    },
    async load(model, options): Promise<void> {
      const models = await requireV1();
      if (models.find((entry) => entry.key === model)?.instances.length) return;
      const url = `${root}/api/v1/models/load`;
      const answer = await ask(url, { method: 'POST', body: { model }, timeoutMs: options.timeoutMs });
      if (answer.status < 200 || answer.status > 299) throw controlFailure(`loading ${model}`, url, answer, answer.status === 404 ? `download it first: lms get ${model}` : undefined);
    },
    async unload(model, options): Promise<void> {
      const models = await requireV1();
      const url = `${root}/api/v1/models/unload`;
      for (const instance of models.find((entry) => entry.key === model)?.instances ?? []) {
        const answer = await ask(url, { method: 'POST', body: { instance_id: instance }, timeoutMs: options.timeoutMs });
        if (answer.status < 200 || answer.status > 299) throw controlFailure(`unloading ${model} (instance ${instance})`, url, answer);
      }
    },
  };
}
