import type { HomePaths } from '../home/home.js';
import { loadPermitKey } from '../permits/index.js';
import { loadPolicy } from '../policy/load.js';
import { coldStartEstimator } from '../router/cold-starts.js';
import { firstTokenSeed } from '../router/first-tokens.js';
import { sharedHealthMonitor } from '../router/health.js';
import type { Store } from '../store/store.js';
import type { CurrentPolicy } from '../policy/live.js';
import type { PipelineContext } from './types.js';

/** Builds the pipeline context every surface needs from the data directory and an open store. */
export function createPipelineContext(home: HomePaths, store: Store, env: NodeJS.ProcessEnv = process.env): PipelineContext {
  return {
    store,
    policy: loadPolicy(home.policyPath),
    permitKey: loadPermitKey(home.permitKeyPath),
    health: sharedHealthMonitor(store),
    env,
    coldStarts: coldStartEstimator(store),
    firstTokens: firstTokenSeed(store),
  };
}

/** The policy for the next request: the live one when the context follows the policy file, else the one it was built with. */
export function currentPolicy(context: PipelineContext): CurrentPolicy {
  return context.livePolicy?.current() ?? { policy: context.policy };
}
