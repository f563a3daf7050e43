import type { Detector } from '../types.js';
import { credentialAssignmentDetector } from './credential-assignment.js';
import { imageMentionsDetector } from './image-mentions.js';
import { indicatorWordsDetector } from './indicator-words.js';
import { internalHostsDetector } from './internal-hosts.js';
import { localPathsDetector } from './local-paths.js';
import { operatorPatternsDetector } from './operator-patterns.js';
import { cardDetector } from './pii-card.js';
import { dateOfBirthDetector } from './pii-dob.js';
import { emailDetector } from './pii-email.js';
import { ibanDetector } from './pii-iban.js';
import { phoneDetector } from './pii-phone.js';
import { ssnDetector } from './pii-ssn.js';
import { secretsDetector } from './secrets.js';

/**
 * The built-in detectors, in reporting order: shape-recognised secrets before generic credential
 * assignments, so that when both cover the same bytes the more specific finding is kept.
 */
export const BUILT_IN_DETECTORS: readonly Detector[] = [
  secretsDetector,
  credentialAssignmentDetector,
  indicatorWordsDetector,
  localPathsDetector,
  imageMentionsDetector,
  emailDetector,
  phoneDetector,
  cardDetector,
  ibanDetector,
  ssnDetector,
  dateOfBirthDetector,
  internalHostsDetector,
  operatorPatternsDetector,
];

export { SECRET_RULE_IDS } from './secrets.js';
