import { EngineOperationError } from '../errors.js';
import { findDeclaredModel } from '../registry/model-names.js';
import { registerProviderRecord } from '../registry/register.js';
import { findProvider } from '../registry/registry.js';
import type { ProviderRecord, RegistrationOutcome } from '../registry/types.js';
import { sessionsPinnedTo } from '../sessions/sessions.js';
import type { Store } from '../store/store.js';
import { embeddedProviderRecord, type LoadedModelInfo } from './server/index.js';

/**
 * `engine serve --register ID`: writes (or versions, on a restart with another port or model
 * file, other options) the embedded engine's provider record, unless `refuseEngineRegistrationOver` refuses it.
 */
export async function registerEmbeddedEngine(store: Store, id: string, baseUrl: string, info: LoadedModelInfo, servedWith: readonly string[] = []): Promise<RegistrationOutcome> {
  return registerProviderRecord(store, embeddedProviderRecord(id, baseUrl, info, servedWith), `engine serve --register ${id}`, (record) =>
    refuseEngineRegistrationOver(store, id, record),
  );
}

/**
 * Refuses (exit 2) an `engine serve --register ID` that would silently replace what `ID` is: an
 * active record that is not an earlier registration of the embedded engine (a hosted `claude`, an
 * Ollama record: another class, wire or engine), or — given the record about to be written — one
 * whose models sessions are pinned to and that record drops. Called before the model loads
 * (without `replacement`) and again in the registration's transaction. A retired record is no
 * obstacle: `provider remove ID` was the operator's explicit choice.
 */
export function refuseEngineRegistrationOver(store: Store, id: string, replacement?: ProviderRecord): void {
  const existing = findProvider(store, id);
  if (existing === undefined || existing.retiredAt !== null) return;
  const { record } = existing;
  const models = record.models.map((model) => model.id);
  if (record.class !== 'local' || record.wire !== 'openai' || record.engine?.kind !== 'node-llama-cpp') {
    const engine = record.engine === undefined ? '' : `, engine ${record.engine.kind}`;
    throw new EngineOperationError(
      'provider_id_taken',
      `provider ${id} v${existing.currentVersion} is of class ${record.class} (${record.wire} wire${engine}) with models ${models.join(', ')}; ` +
        `--register ${id} would replace it with the local embedded engine, so nothing was registered`,
      {
        hint: `register the engine under another id (--register ${id}-local), or retire ${id} first if you mean to replace it: \`syndicate provider remove ${id}\``,
        details: { provider: id, version: existing.currentVersion, class: record.class, wire: record.wire, models },
      },
    );
  }
  if (replacement === undefined) return;
  const stranded = sessionsPinnedTo(store, id).flatMap((session) =>
    session.active.kind === 'pinned' && findDeclaredModel(replacement, session.active.model) === undefined ? [{ id: session.id, model: session.active.model }] : [],
  );
  if (stranded.length === 0) return;
  const pins = stranded.map((session) => `${session.id} on ${id}:${session.model}`);
  throw new EngineOperationError(
    'provider_models_in_use',
    `--register ${id} would drop models sessions are on (${pins.join(', ')}): this engine serves ${replacement.models.map((model) => model.id).join(', ')}; nothing was registered`,
    {
      hint: `serve the sessions' model again, register this engine under another id (--register ${id}-2), or first switch each session to another model: \`syndicate provider switch PROVIDER:MODEL --session ${stranded[0]?.id ?? 'ID'}\``,
      details: { provider: id, models, sessions: stranded.map((session) => session.id) },
    },
  );
}
