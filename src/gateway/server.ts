import type { HomePaths } from '../home/home.js';
import { readSecretFile } from '../home/home.js';
import { StoreError } from '../errors.js';
import { createPipelineContext } from '../invoke/context.js';
import { invoke } from '../invoke/pipeline.js';
import { startBackgroundCheckpoint } from '../store/background-checkpoint.js';
import type { Store } from '../store/store.js';
import { createGateway, type Gateway } from './app.js';
import { listenGateway, type GatewayListenOptions, type RunningGateway } from './node-adapter.js';

/** SQLite page cache of the gateway's connection, in KiB. */
const GATEWAY_CACHE_KIB = 2048;

/** Everything `syndicate serve` needs to start the gateway. */
export interface StartGatewayOptions extends GatewayListenOptions {
  home: HomePaths;
  store: Store;
  /** Trust tier of gateway callers; default: the policy's `defaultTrustTier`. */
  trustTier?: string;
  env?: NodeJS.ProcessEnv;
  onInternalError?: (error: unknown) => void;
}

/** A running gateway with its core (for metrics and tests). */
export interface StartedGateway extends RunningGateway {
  gateway: Gateway;
}

/** The bearer token `syndicate init` wrote (trimmed); a missing or empty file is a store error with the fix. */
export function readGatewayToken(home: HomePaths): string {
  const token = readSecretFile(home.gatewayTokenPath, 'gateway token').toString('utf8').trim();
  if (token === '') {
    throw new StoreError(`the gateway token file ${home.gatewayTokenPath} is empty`, {
      hint: 'delete it and run `syndicate init` to create a new token',
    });
  }
  return token;
}

/** Loads the policy, permit key and token, builds the core and listens. */
export async function startGateway(options: StartGatewayOptions): Promise<StartedGateway> {
  const token = readGatewayToken(options.home);
  const pipeline = createPipelineContext(options.home, options.store, options.env);
  const gateway = createGateway({
    pipeline,
    invoke,
    token,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: options.bodyLimitBytes }),
    ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
    ...(options.onInternalError === undefined ? {} : { onInternalError: options.onInternalError }),
  });
  // SQLite's default page cache is 16 MB per connection and fills as the store grows; a 2 KB-page
  // store written at its right edge needs a small fraction of that (the gateway's RSS target is 120 MB).
  options.store.db.pragma(`cache_size = -${GATEWAY_CACHE_KIB}`);
  const running = await listenGateway(gateway, options);
  // A long-running process: keep SQLite's WAL checkpoints off the request path.
  const checkpoint = startBackgroundCheckpoint(options.store);
  return {
    ...running,
    gateway,
    close: async () => {
      await running.close();
      await checkpoint.stop();
    },
  };
}
