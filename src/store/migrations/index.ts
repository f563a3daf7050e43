import { registryMigration } from './001-registry.js';
import { permitsMigration } from './002-permits.js';
import { evidenceMigration } from './003-evidence.js';
import { deviationsMigration } from './004-deviations.js';
import { leanPermitIndexesMigration } from './005-lean-permit-indexes.js';
import { onePermitRowMigration } from './006-one-permit-row.js';
import { engineEventsMigration } from './007-engine-events.js';
import { evidenceBlocksMigration } from './008-evidence-blocks.js';
import { promptCacheTokensMigration } from './009-prompt-cache-tokens.js';
import { answersByModelMigration } from './010-answers-by-model.js';
import { pricedAnswersMigration } from './011-priced-answers.js';
import { attemptsByModelMigration } from './012-attempts-by-model.js';
import { evidencePrunesMigration } from './013-evidence-prunes.js';
import { sessionsMigration } from './014-sessions.js';
import { engineControlMigration } from './015-engine-control.js';
import { engineProcessIdentityMigration } from './016-engine-process-identity.js';
import { healthHoldsMigration } from './017-health-holds.js';
import { engineEventOutcomesMigration } from './018-engine-event-outcomes.js';
import { healthReleasesMigration } from './019-health-releases.js';
import { prunesOverBreaksMigration } from './020-prunes-over-breaks.js';
import { sessionChainsMigration } from './021-session-chains.js';
import { checkpointLinksMigration } from './022-checkpoint-links.js';
import { toolsRefusalsMigration } from './023-tools-refusals.js';
import { sessionImagesMigration } from './024-session-images.js';
import { holdFailuresMigration } from './025-hold-failures.js';
import { sessionMessageSensitivityMigration } from './026-session-message-sensitivity.js';
import { engineSupervisorsMigration } from './027-engine-supervisors.js';
import { pruneLinksMigration } from './028-prune-links.js';
import type { SqliteDatabase } from '../store.js';

/** A numbered schema change. Versions are never reused or edited once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Fills what SQL cannot compute (hashes) in the rows already stored: run after `sql`, in the same transaction. */
  backfill?: (db: SqliteDatabase) => void;
}

/** Every migration, one file each, in order. Append new ones; never renumber. */
export const MIGRATIONS: readonly Migration[] = [registryMigration, permitsMigration, evidenceMigration, deviationsMigration, leanPermitIndexesMigration, onePermitRowMigration, engineEventsMigration, evidenceBlocksMigration, promptCacheTokensMigration, answersByModelMigration, pricedAnswersMigration, attemptsByModelMigration, evidencePrunesMigration, sessionsMigration, engineControlMigration, engineProcessIdentityMigration, healthHoldsMigration, engineEventOutcomesMigration, healthReleasesMigration, prunesOverBreaksMigration, sessionChainsMigration, checkpointLinksMigration, toolsRefusalsMigration, sessionImagesMigration, holdFailuresMigration, sessionMessageSensitivityMigration, engineSupervisorsMigration, pruneLinksMigration];
