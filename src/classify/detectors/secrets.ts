import type { Detector, DetectorMatch } from '../types.js';
import { maskSecret } from '../mask.js';
import { LiteralGate, matchesOf } from '../scan.js';

/**
 * `secret.*`: credentials with a recognisable shape -> restricted.
 *
 * The patterns are those of secretlint's `@secretlint/secretlint-rule-preset-recommend` (AWS, GCP,
 * GitHub, Slack, npm, SendGrid, Shopify, OpenAI, Anthropic, Linear, 1Password, private keys,
 * database connection strings), run synchronously here rather than through `lintSource`:
 * secretlint is asynchronous (the router and the invoke pipeline classify synchronously), costs
 * ~0.1 ms per 1 KB call and leaks one profiler mark per rule per call in a long-running gateway.
 * Where secretlint deliberately fails open we fail closed instead: AWS access key ids are scanned
 * (secretlint's `enableIDScanRule` is off by default), a private-key header counts even when its
 * body is a placeholder, the documented example keys are not exempt, the token lengths are
 * minimums rather than exact, and `secretlint-disable` comments in a prompt disable nothing.
 * A few well-known shapes secretlint lacks are added (Google API keys, Stripe, GitLab, Hugging
 * Face, JWTs, Azure storage keys, Twilio, Discord bot tokens, ...); Databricks' is secretlint's
 * own `@secretlint/secretlint-rule-databricks`, which the recommended preset does not load. `test/unit/classify/secretlint-parity.test.ts` checks on
 * the labelled corpus that everything secretlint reports is classified restricted here.
 *
 * secretlint's patterns want a word boundary around a token, so one joined to an identifier
 * (`f_AKIA…`, `MY_TOKEN_ghp_…`, `prefixsk-ant-…`), to a digit, to a `\n` escape or a `%3D`, or
 * followed by `_x`, would pass. A rule whose prefix is distinctive also has a `glued` pattern
 * without that boundary, in the format's exact shape (see `SecretRule.glued`); prefixes that also
 * end common words (`sk-` of `task-`, `sk_test_` of `risk_test_`) keep a letter before them as a
 * boundary, and short ones are taken glued only to an escape (`hf_`, `r8_`) or an identifier's
 * `_` (a bare `sk-`), as random base64url would otherwise match them.
 *
 * Every rule names literals, of which any match contains one. A LiteralGate (memchr scans for
 * each literal's rarest character) finds which occur; only those rules' patterns then run. That,
 * not the patterns, is what keeps the detector fast on text without secrets.
 */
interface SecretRule {
  id: string;
  reason: string;
  /** Case-sensitive fragments of which every match contains one; the pattern runs only if the gate finds one. */
  literals: string[];
  /** Instead of literals (none given): an expression that finds any match's text, where a literal's pivot would be a common letter. */
  gate?: RegExp;
  /** Global pattern; group `secret`, when present, is the span reported. */
  pattern: RegExp;
  /** Rejects shape-alikes the pattern cannot (must return true to report). */
  accept?: (match: RegExpExecArray) => boolean;
  /**
   * Where the secret lies when not in the match (a manifest's `kind: Secret` says its data values
   * are secrets): undefined rejects the match.
   */
  locate?: (match: RegExpExecArray) => { start: number; end: number; secret: string } | undefined;
  /**
   * The same credential glued to what precedes or follows it (`f_AKIA…`, `MY_TOKEN_ghp_…`,
   * `prefixsk-ant-…`, `AKIA…_x`, a `\n` escape or a `%3D` before it): `pattern` wants a word
   * boundary there, this does not. Only distinctive prefixes have one, and only the exact shape of
   * the format, so an identifier that happens to contain a prefix is not read as a key: the body
   * (its first named group that matched) must hold both digits and letters, and a fixed-length format ends where its
   * alphabet ends (an AWS key id followed by a further capital or digit is 21 characters, not a key id).
   */
  glued?: RegExp;
  /** What a glued match's body must be to read as a credential rather than a word (default: it holds both digits and letters). */
  gluedBody?: (body: string) => boolean;
}

const hasDigitAndLetter = (value: string): boolean => /\d/.test(value) && /[A-Za-z]/.test(value);

/**
 * A Hugging Face token's body: 34 random letters (the current format, no digits, as gitleaks
 * reads it) or letters and digits. A letters-only body must be mixed case, 8 capitals and 8 small
 * letters at least: a camelCase name of 34 letters has a capital per word.
 */
function isHuggingFaceBody(body: string): boolean {
  if (hasDigitAndLetter(body)) return true;
  if (body.length !== 34 || !/^[A-Za-z]+$/.test(body)) return false;
  const capitals = body.replace(/[^A-Z]/g, '').length;
  return capitals >= 8 && body.length - capitals >= 8;
}

const RULES: SecretRule[] = [
  {
    id: 'secret.private-key',
    reason: 'private key block',
    literals: ['PRIVATE KEY', 'PuTTY-User-Key'],
    // The whole block when its END line is there (bounded), otherwise the header alone.
    pattern:
      /-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,12000}?-----END[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)?|PuTTY-User-Key-File-\d+:[^\n]*/g,
  },
  {
    id: 'secret.aws-access-key-id',
    reason: 'AWS access key id',
    literals: ['A3T', 'AKIA', 'AGPA', 'AIDA', 'AROA', 'AIPA', 'ANPA', 'ANVA', 'ASIA', 'ABIA', 'ACCA'],
    pattern: /\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
    glued: /(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA|ABIA|ACCA)(?<body>[A-Z0-9]{16})(?![A-Z0-9])/g,
  },
  {
    id: 'secret.aws-secret-access-key',
    reason: 'AWS secret access key',
    literals: ['secret', 'Secret', 'SECRET'],
    pattern:
      /["']?(?:aws|AWS|Aws)?_?(?:secret|SECRET|Secret)_?(?:access|ACCESS|Access)?_?(?:key|KEY|Key)["']?\s*(?::|=>|=)\s*["']?(?<secret>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/g,
  },
  {
    id: 'secret.gcp-service-account',
    reason: 'GCP service account key (JSON)',
    literals: ['private_key_id', 'service_account'],
    pattern: /"private_key_id"\s*:\s*"(?<secret>[0-9a-f]{16,64})"|"type"\s*:\s*"service_account"/g,
  },
  {
    id: 'secret.google-api-key',
    reason: 'Google API key',
    literals: ['AIza'],
    pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    glued: /AIza(?<body>[0-9A-Za-z_-]{35})(?![0-9A-Za-z-])/g,
  },
  {
    id: 'secret.google-oauth',
    reason: 'Google OAuth access token or client secret',
    literals: ['ya29.', 'GOCSPX-'],
    pattern: /\bya29\.[0-9A-Za-z_-]{20,}|\bGOCSPX-[0-9A-Za-z_-]{20,}/g,
    glued: /(?:ya29\.|GOCSPX-)(?<body>[0-9A-Za-z_-]{20,})/g,
  },
  {
    id: 'secret.github-token',
    reason: 'GitHub token',
    literals: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_', 'x-oauth-basic'],
    pattern:
      /(?<![A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{20,255}(?![A-Za-z0-9_])|(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,255}(?![A-Za-z0-9_])|https?:\/\/(?<secret>[^\s:@/]{1,256}):x-oauth-basic@github\.com/g,
    glued: /(?:ghp|gho|ghu|ghs|ghr)_(?<body>[A-Za-z0-9]{36})(?![A-Za-z0-9])|github_pat_(?<pat>[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.gitlab-token',
    reason: 'GitLab token',
    literals: ['glpat-', 'gldt-', 'glptt-', 'GR1348941'],
    pattern: /(?<![A-Za-z0-9])(?:glpat|gldt|glptt)-[A-Za-z0-9_-]{20,}|\bGR1348941[A-Za-z0-9_-]{20,}/g,
    glued: /(?:glpat|gldt|glptt)-(?<body>[A-Za-z0-9-]{20,})/g,
  },
  {
    id: 'secret.slack-token',
    reason: 'Slack token or incoming webhook',
    literals: ['xoxb-', 'xoxp-', 'xoxa-', 'xoxo-', 'xoxr-', 'xoxe-', 'xoxs-', 'xapp-', 'hooks.slack.com'],
    pattern:
      /\b(?:xoxb|xoxp|xapp|xoxa|xoxo|xoxr|xoxe|xoxs)-(?:\d-)?(?:[a-zA-Z0-9]{1,40}-)+[a-zA-Z0-9]{1,40}\b|https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{10,}/gi,
    glued: /(?:xoxb|xoxp|xapp|xoxa|xoxo|xoxr|xoxe|xoxs)-(?<body>(?:\d-)?\d{4,}-(?:[a-zA-Z0-9]{1,40}-)*[a-zA-Z0-9]{8,40})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.npm-token',
    reason: 'npm access token',
    literals: ['npm_', '_authToken'],
    pattern: /(?<![A-Za-z0-9])npm_[A-Za-z0-9_]{36,}(?![A-Za-z0-9_])|_authToken\s*=\s*(?<secret>[^$\s{][^\s]*)/g,
    glued: /npm_(?<body>[A-Za-z0-9]{36})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.sendgrid-key',
    reason: 'SendGrid API key',
    literals: ['SG.'],
    pattern: /(?<![A-Za-z])SG\.[\w-]{16,128}\.[\w-]{16,128}/g,
    glued: /SG\.(?<body>[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/g,
  },
  {
    id: 'secret.shopify-token',
    reason: 'Shopify access token',
    literals: ['shppa_', 'shpca_', 'shpat_', 'shpss_'],
    pattern: /(?<![A-Za-z])(?:shppa|shpca|shpat|shpss)_[a-zA-Z0-9]{32,64}(?![a-zA-Z0-9])/g,
    glued: /(?:shppa|shpca|shpat|shpss)_(?<body>[a-fA-F0-9]{32})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.anthropic-key',
    reason: 'Anthropic API key',
    literals: ['sk-ant-'],
    pattern: /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{20,}/g,
    glued: /sk-ant-[a-z]+\d\d-(?<body>[A-Za-z0-9_-]{20,})/g,
  },
  {
    id: 'secret.openai-key',
    reason: 'OpenAI API key',
    literals: ['sk-'],
    // secretlint requires the `T3BlbkFJ` marker; keys shown in docs and older formats lack it.
    pattern: /(?<![A-Za-z0-9_-])sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}/g,
    accept: (match) => hasDigitAndLetter(match[0].slice(3)),
    // `sk-` also ends words (`task-proj-…`, `risk-…`): a letter before still ends the match, unless
    // the key holds `T3BlbkFJ` (base64 of `OpenAI`), the marker OpenAI's keys carry and no word
    // does. A bare `sk-` turns up in random base64url too: glued to an identifier's `_` or an
    // escape only, or with the marker.
    glued: /(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))sk-(?<body>(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,})|(?<=[A-Za-z0-9]_|\\[nrt]|%[0-9A-Fa-f]{2})sk-(?!ant-)(?<bare>[A-Za-z0-9_-]{20,})|sk-(?!ant-)(?<marked>[A-Za-z0-9_-]{10,}T3BlbkFJ[A-Za-z0-9_-]{10,})/g,
  },
  {
    id: 'secret.groq-key',
    reason: 'Groq API key',
    literals: ['gsk_'],
    pattern: /(?<![A-Za-z0-9])gsk_[A-Za-z0-9]{40,}/g,
    glued: /gsk_(?<body>[A-Za-z0-9]{40,})/g,
  },
  {
    id: 'secret.xai-key',
    reason: 'xAI API key',
    literals: ['xai-'],
    pattern: /(?<![A-Za-z0-9])xai-[A-Za-z0-9]{60,}/g,
    glued: /xai-(?<body>[A-Za-z0-9]{60,})/g,
  },
  {
    id: 'secret.huggingface-token',
    reason: 'Hugging Face token',
    literals: ['hf_'],
    pattern: /(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])/g,
    accept: (match) => isHuggingFaceBody(match[0].slice(3)),
    // A three-character prefix: glued to an escape (`\nhf_…`, `%3Dhf_…`), or to letters or digits
    // in the letters-only form when nothing of base64url's alphabet follows: quoted random
    // base64url ids end in `hf_` and 34 letters and digits once in ~13 MB, in 34 letters ~1 000 times less often.
    glued: /(?<=\\[nrt]|%[0-9A-Fa-f]{2})hf_(?<body>[A-Za-z0-9]{34})(?![A-Za-z0-9])|(?<=[A-Za-z0-9])hf_(?<joined>[A-Za-z]{34})(?![A-Za-z0-9_-])/g,
    gluedBody: isHuggingFaceBody,
  },
  {
    id: 'secret.linear-key',
    reason: 'Linear API key',
    literals: ['lin_api_'],
    pattern: /(?<![A-Za-z])lin_api_[a-zA-Z0-9_]{32,128}(?![a-zA-Z0-9_])/g,
    glued: /(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))lin_api_(?<body>[a-zA-Z0-9]{40})(?![a-zA-Z0-9])/g,
  },
  {
    id: 'secret.1password-token',
    reason: '1Password service account token',
    literals: ['ops_ey'],
    pattern: /(?<![A-Za-z])ops_ey[A-Za-z0-9+/=]{60,1280}/g,
    glued: /(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))ops_ey(?<body>[A-Za-z0-9+/=]{60,1280})/g,
  },
  {
    id: 'secret.stripe-key',
    reason: 'Stripe secret or restricted key',
    literals: ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_'],
    pattern: /(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g,
    glued: /(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))(?:sk|rk)_(?:live|test)_(?<body>[A-Za-z0-9]{24,})/g,
  },
  {
    id: 'secret.digitalocean-token',
    reason: 'DigitalOcean token',
    literals: ['dop_v1_', 'doo_v1_', 'dor_v1_'],
    pattern: /\bdo[opr]_v1_[a-f0-9]{64}\b/g,
    glued: /do[opr]_v1_(?<body>[a-f0-9]{64})(?![a-f0-9])/g,
  },
  {
    id: 'secret.azure-storage-key',
    reason: 'Azure storage account key or SAS signature',
    literals: ['AccountKey=', 'SharedAccessKey=', '?sig=', '&sig='],
    pattern: /(?:AccountKey|SharedAccessKey)=(?<secret>[A-Za-z0-9+/]{30,}={0,2})|[?&]sig=(?<signature>[A-Za-z0-9%+/]{30,}={0,2})/g,
  },
  {
    id: 'secret.telegram-bot-token',
    reason: 'Telegram bot token',
    literals: [':AA'],
    pattern: /\b\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g,
    // The Bot API's own URLs write it glued to `bot` (`https://api.telegram.org/bot123456789:AA…/getMe`).
    glued: /(?<![0-9])(?<body>\d{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])/g,
  },
  {
    id: 'secret.age-key',
    reason: 'age secret key',
    literals: ['AGE-SECRET-KEY-'],
    pattern: /AGE-SECRET-KEY-1[0-9A-Z]{58}/g,
  },
  {
    id: 'secret.jwt',
    reason: 'JSON Web Token (a bearer credential)',
    literals: ['eyJ'],
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    glued: /eyJ(?<body>[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})/g,
  },
  {
    id: 'secret.pypi-token',
    reason: 'PyPI API token',
    literals: ['pypi-AgE'],
    pattern: /(?<![A-Za-z0-9])pypi-AgE[A-Za-z0-9_-]{50,}/g,
    glued: /pypi-AgE(?<body>[A-Za-z0-9_-]{50,})/g,
  },
  {
    id: 'secret.vault-token',
    reason: 'HashiCorp Vault token',
    // A service token's body starts `CAES` (base64 of its protobuf) and runs to ~90 characters, a
    // batch token's starts `AAAA` (its barrier key term, four bytes) and runs past 100; a recovery
    // token's has no fixed start. `hvs.` and `hvr.` share their gate pass (on `v`); `hvb.AAAA` rides on `A`'s.
    literals: ['hvs.', 'hvb.AAAA', 'hvr.'],
    pattern: /\b(?:hvs\.(?:CAES[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{90,})|hvb\.AAAA[A-Za-z0-9_-]{100,}|hvr\.[A-Za-z0-9_-]{24,})/g,
    accept: (match) => hasDigitAndLetter(match[0].slice(4)),
    glued: /hvs\.(?<body>CAES[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{90,})|hvb\.AAAA(?<batch>[A-Za-z0-9_-]{100,})|hvr\.(?<recovery>[A-Za-z0-9_-]{24,})/g,
  },
  {
    id: 'secret.pulumi-token',
    reason: 'Pulumi access token',
    literals: ['pul-'],
    pattern: /\bpul-[a-f0-9]{40}\b/g,
    glued: /pul-(?<body>[a-f0-9]{40})(?![a-f0-9])/g,
  },
  {
    id: 'secret.sentry-token',
    reason: 'Sentry auth token',
    literals: ['sntrys_', 'sntryu_'],
    pattern: /\bsntrys_eyJ[A-Za-z0-9+/=_-]{60,}|\bsntryu_[a-f0-9]{64}\b/g,
    glued: /sntrys_eyJ(?<body>[A-Za-z0-9+/=_-]{60,})|sntryu_(?<hex>[a-f0-9]{64})(?![a-f0-9])/g,
  },
  {
    id: 'secret.replicate-token',
    reason: 'Replicate API token',
    literals: ['r8_'],
    pattern: /(?<![A-Za-z0-9])r8_[A-Za-z0-9]{37}(?![A-Za-z0-9])/g,
    accept: (match) => hasDigitAndLetter(match[0].slice(3)),
    // After an escape, or glued to a word that names a credential (`tokenr8_…`, `REPLICATE_API_TOKENr8_…`,
    // `apikeyr8_…`) when nothing of base64url's alphabet follows: a token has no marker, and quoted random base64url ids end in `r8_` and 37
    // letters and digits once in ~40 MB, so one glued to any other letters or digits is not told
    // from them; one right after `token`, `key`, `secret` or `replicate` is: a random id holds one of
    // them before `r8_` ~80 000 times less often (`key`, the shortest: 3 of 64³ spellings), once in ~3 TB.
    glued: /(?<=\\[nrt]|%[0-9A-Fa-f]{2})r8_(?<body>[A-Za-z0-9]{37})(?![A-Za-z0-9])|(?<=(?:[Tt]oken|TOKEN|[Kk]ey|KEY|[Ss]ecret|SECRET|[Rr]eplicate|REPLICATE))r8_(?<named>[A-Za-z0-9]{37})(?![A-Za-z0-9_-])/g,
  },
  {
    id: 'secret.perplexity-key',
    reason: 'Perplexity API key',
    literals: ['pplx-'],
    pattern: /(?<![A-Za-z0-9])pplx-[A-Za-z0-9]{40,}/g,
    glued: /pplx-(?<body>[A-Za-z0-9]{40,})/g,
  },
  {
    id: 'secret.heroku-key',
    reason: 'Heroku API key',
    literals: ['HRKU-'],
    pattern: /\bHRKU-[A-Za-z0-9_-]{30,}/g,
    glued: /HRKU-(?<body>[A-Za-z0-9_-]{30,})/g,
  },
  {
    id: 'secret.azure-ad-client-secret',
    reason: 'Microsoft Entra ID (Azure AD) client secret',
    literals: ['Q~'],
    pattern: /(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g,
  },
  {
    id: 'secret.stripe-webhook-secret',
    reason: 'Stripe webhook signing secret',
    literals: ['whsec_'],
    pattern: /(?<![A-Za-z0-9])whsec_[A-Za-z0-9+/]{32,}/g,
    glued: /whsec_(?<body>[A-Za-z0-9+/]{32,})/g,
  },
  {
    id: 'secret.atlassian-token',
    reason: 'Atlassian or Bitbucket API token',
    literals: ['ATATT3', 'ATBB'],
    pattern: /(?<![A-Za-z0-9])(?:ATATT3[A-Za-z0-9_=-]{100,}|ATBB[A-Za-z0-9]{28,})/g,
    glued: /ATATT3(?<body>[A-Za-z0-9_=-]{100,})|(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))ATBB(?<bitbucket>[A-Za-z0-9]{28,})/g,
  },
  {
    id: 'secret.postman-key',
    reason: 'Postman API key',
    literals: ['PMAK-'],
    pattern: /\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b/g,
    glued: /PMAK-(?<body>[a-f0-9]{24}-[a-f0-9]{34})(?![a-f0-9])/g,
  },
  {
    id: 'secret.grafana-token',
    reason: 'Grafana Cloud or service account token',
    literals: ['glc_', 'glsa_'],
    pattern: /(?<![A-Za-z0-9])(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})/g,
    glued: /(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))glc_(?<body>[A-Za-z0-9+/]{32,}={0,2})|glsa_(?<sa>[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})(?![A-Fa-f0-9])/g,
  },
  {
    id: 'secret.new-relic-key',
    reason: 'New Relic API key',
    literals: ['NRAK-', 'NRII-'],
    pattern: /\bNR(?:AK|II)-[A-Z0-9]{27}\b/g,
    glued: /NR(?:AK|II)-(?<body>[A-Z0-9]{27})(?![A-Z0-9])/g,
  },
  {
    id: 'secret.supabase-key',
    reason: 'Supabase access token or secret key',
    literals: ['sbp_', 'sb_secret_'],
    pattern: /(?<![A-Za-z0-9])(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})/g,
    glued: /sbp_(?<body>[a-f0-9]{40})(?![a-f0-9])|(?:(?<![A-Za-z])|(?<=\\[nrt]|%[0-9A-Fa-f]{2}))sb_secret_(?<secretKey>[A-Za-z0-9_-]{20,})/g,
  },
  {
    id: 'secret.notion-token',
    reason: 'Notion integration token',
    literals: ['ntn_'],
    pattern: /(?<![A-Za-z0-9])ntn_[0-9]{11}[A-Za-z0-9]{35}(?![A-Za-z0-9])/g,
    glued: /ntn_(?<body>[0-9]{11}[A-Za-z0-9]{35})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.mailgun-key',
    reason: 'Mailgun API key',
    literals: ['key-'],
    pattern: /\bkey-[a-f0-9]{32}(?![A-Za-z0-9])/g,
    accept: (match) => hasDigitAndLetter(match[0].slice(4)),
    // `apikey-…`, `MAILGUN_key-…`, `\nkey-…`: the same 32 hex digits, whatever word ends in `key`.
    glued: /key-(?<body>[a-f0-9]{32})(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.mailchimp-key',
    reason: 'Mailchimp API key',
    literals: ['-us'],
    // The datacenter suffix first (a pattern starting with 32 hex digits would be tried at every character); the key before it.
    pattern: /-us\d{1,2}\b/g,
    locate: (match) => {
      const start = match.index - 32;
      const key = match.input.slice(Math.max(0, start), match.index);
      if (start < 0 || !/^[a-f0-9]{32}$/.test(key) || !hasDigitAndLetter(key) || /[A-Za-z0-9]/.test(match.input[start - 1] ?? '')) return undefined;
      const end = match.index + match[0].length;
      return { start, end, secret: match.input.slice(start, end) };
    },
  },
  {
    id: 'secret.discord-webhook',
    reason: 'Discord webhook URL',
    literals: ['/api/webhooks/'],
    pattern: /https:\/\/(?:canary\.|ptb\.)?discord(?:app)?\.com\/api\/webhooks\/\d{5,30}\/[A-Za-z0-9_-]{40,}/g,
  },
  {
    id: 'secret.square-token',
    reason: 'Square access token or application secret',
    literals: ['sq0atp-', 'sq0csp-'],
    pattern: /\bsq0(?:atp|csp)-[0-9A-Za-z_-]{22,}/g,
    glued: /sq0(?:atp|csp)-(?<body>[0-9A-Za-z_-]{22,})/g,
  },
  {
    id: 'secret.kubernetes-secret',
    reason: 'Kubernetes Secret manifest with data (its values are secrets, base64 or not)',
    literals: ['Secret'],
    pattern: /\bkind["']?\s*:\s*["']?Secret\b(?!["']?\w)/g,
    // What `kubectl get secret -o yaml` prints: secretlint's no-k8s-kind-secret rule, which its recommended preset does not load.
    locate: (match) => kubernetesSecretValue(match.input, match.index),
  },
  {
    id: 'secret.jwk-private-key',
    reason: 'private or secret JSON Web Key (its "d" or "k" member)',
    literals: ['"kty"'],
    // A JWK (RFC 7517/7518) holds its private part in `d` (RSA, EC, OKP) and a symmetric key in `k`
    // (`oct`): what a JWKS file, an OIDC provider's signing-key config or `jose` code carries.
    pattern: /"kty"\s*:\s*"(?:RSA|EC|OKP|oct)"/g,
    locate: (match) => jwkPrivateMember(match.input, match.index),
  },
  {
    id: 'secret.twilio-key',
    reason: 'Twilio API key',
    literals: ['SK'],
    // An API key's SID, `SK` and 32 hex digits: Twilio authenticates with it and its secret, and the
    // SID names the key the secret goes with (GitHub secret scanning and gitleaks read it alone too).
    pattern: /(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])/g,
    accept: (match) => hasDigitAndLetter(match[0].slice(2)),
    glued: /SK(?<body>[0-9a-f]{32})(?![0-9A-Za-z])/g,
  },
  {
    id: 'secret.twilio-auth-token',
    reason: 'Twilio auth token beside its account SID',
    literals: ['AC'],
    // An account SID (`AC` and 32 hex digits) is an id, not a secret; the 32 hex digits beside it
    // (`Client("AC…", "<token>")`, `AC…:<token>`, a config's next line) are its auth token.
    pattern: /(?<![A-Za-z0-9])AC[0-9a-f]{32}(?![A-Za-z0-9])/g,
    locate: (match) => twilioAuthToken(match.input, match.index, match.index + match[0].length),
  },
  {
    id: 'secret.databricks-token',
    reason: 'Databricks personal access token',
    // `dapi` would pivot the LiteralGate on `p`, a pass of its own over a common letter (0.47 ms per
    // MB); the expression's own search for `dapi` costs a third of that.
    literals: [],
    gate: /dapi[A-Fa-f0-9]{32}/,
    // secretlint's `@secretlint/secretlint-rule-databricks` (12.0.0, Node 20) pattern: `dapi`, 32
    // hex digits (Databricks writes them in small letters), an optional `-<digit>` suffix.
    pattern: /(?<!\p{L})dapi[A-Fa-f0-9]{32}(?:-[0-9])?(?![A-Fa-f0-9])/gu,
    glued: /dapi(?<body>[a-f0-9]{32})(?:-[0-9])?(?![A-Za-z0-9])/g,
  },
  {
    id: 'secret.database-url',
    reason: 'database connection string with a password',
    literals: ['db://', '+srv://', 'sql://', 'sqlx://', 'res://', 'is://', 'iss://', 'qp://', 'qps://', 'ver://', 'use://'],
    pattern:
      /\b(?:mongodb(?:\+srv)?|(?:jdbc:)?mysqlx?|postgres(?:ql)?|rediss?|amqps?|mssql|sqlserver|cockroachdb|clickhouse):\/\/[^\s:/@]{0,100}:(?<secret>[^\s@/]{1,200})@[^\s/?]{1,100}/gi,
    accept: (match) => {
      const secret = match.groups?.secret ?? '';
      return secret.length > 0 && !/^(?:\$\{[^}]*\}|\{\{[^}]*\}\}|<[^>]*>|\*+|%[A-Z_]+%)$/.test(secret);
    },
  },
];

/** The first value of a `data:` or `stringData:` map, in YAML or JSON. */
const KUBERNETES_SECRET_DATA = /(?:^|[\s{,])["']?(?:data|stringData)["']?\s*:\s*(?:\{\s*)?(?:\r?\n[ \t]+)?["']?[\w.-]+["']?\s*:\s*["']?(?<value>[^\s"'{}][^\s"',{}]*)/gm;
/** How far from its `kind: Secret` a manifest's data is looked for, either way. */
const MANIFEST_REACH = 4000;

/** A Kubernetes Secret manifest's first data value, near its `kind: Secret` at `kindAt`. */
function kubernetesSecretValue(text: string, kindAt: number): { start: number; end: number; secret: string } | undefined {
  const from = Math.max(0, kindAt - MANIFEST_REACH);
  const found = matchesOf(KUBERNETES_SECRET_DATA, text.slice(from, kindAt + MANIFEST_REACH)).next();
  if (found.done === true) return undefined;
  const value = found.value.groups?.value ?? '';
  const end = from + found.value.index + found.value[0].length;
  return { start: end - value.length, end, secret: value };
}

/** How far from its `"kty"` a JWK's object is looked for, either way (an RSA key's members take ~3 KB at 4096 bits). */
const JWK_REACH = 8000;
const JWK_PRIVATE_MEMBER = /"(?:d|k)"\s*:\s*"(?<value>[A-Za-z0-9_-]{16,})"/;

/** The `d` or `k` member of the JSON object around the `"kty"` at `ktyAt`, undefined for a public key. */
function jwkPrivateMember(text: string, ktyAt: number): { start: number; end: number; secret: string } | undefined {
  const open = text.lastIndexOf('{', ktyAt);
  if (open === -1 || ktyAt - open > JWK_REACH || text.lastIndexOf('}', ktyAt) > open) return undefined;
  const close = text.indexOf('}', ktyAt);
  const object = text.slice(open, close === -1 ? Math.min(text.length, ktyAt + JWK_REACH) : Math.min(close + 1, ktyAt + JWK_REACH));
  const member = JWK_PRIVATE_MEMBER.exec(object);
  const value = member?.groups?.value;
  if (member === null || value === undefined) return undefined;
  const end = open + member.index + member[0].length - 1;
  return { start: end - value.length, end, secret: value };
}

/** How far from an account SID its auth token is looked for, either way (a call's arguments, a config's next lines). */
const TWILIO_REACH = 200;
const HEX_32 = /(?<![A-Za-z0-9])[0-9a-f]{32}(?![A-Za-z0-9])/g;

/** The auth token (32 hex digits, letters and digits both, not another SID) nearest after, else before, the account SID at [sidStart, sidEnd). */
function twilioAuthToken(text: string, sidStart: number, sidEnd: number): { start: number; end: number; secret: string } | undefined {
  const after = text.slice(sidEnd, sidEnd + TWILIO_REACH);
  const before = text.slice(Math.max(0, sidStart - TWILIO_REACH), sidStart);
  const candidates = [...matchesOf(HEX_32, after)].map((match) => ({ start: sidEnd + match.index, secret: match[0] }));
  const earlier = [...matchesOf(HEX_32, before)].map((match) => ({ start: sidStart - before.length + match.index, secret: match[0] }));
  for (const { start, secret } of [...candidates, ...earlier.reverse()]) {
    if (hasDigitAndLetter(secret)) return { start, end: start + secret.length, secret };
  }
  return undefined;
}

/**
 * A Discord bot token: three base64url parts joined by dots, the first the bot's numeric id (a
 * snowflake of 17 to 20 digits) in base64, the second six characters (a timestamp), the third 27
 * to 38 (an HMAC). No literal marks one, so the second part's two dots are looked for (`indexOf`
 * over the dots, ~0.1–0.4 ms per MB of mixed text; an expression for them took 0.7) and the first
 * part is decoded to its digits: a
 * JWT, a version or a dotted name has no such part.
 */
const BASE64URL_CODES = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-') BASE64URL_CODES[character.charCodeAt(0)] = 1;
const isBase64Url = (code: number): boolean => code < 128 && BASE64URL_CODES[code] === 1;

function discordBotTokens(text: string, matches: DetectorMatch[]): void {
  for (let dot = text.indexOf('.'); dot !== -1; dot = text.indexOf('.', dot + 1)) {
    if (text.charCodeAt(dot + 7) !== 46) continue;
    let middle = dot + 1;
    while (middle < dot + 7 && isBase64Url(text.charCodeAt(middle))) middle += 1;
    if (middle !== dot + 7) continue;
    let start = dot;
    while (start > 0 && dot - start <= 28 && isBase64Url(text.charCodeAt(start - 1))) start -= 1;
    let end = dot + 8;
    while (end < text.length && end - dot - 8 <= 38 && isBase64Url(text.charCodeAt(end))) end += 1;
    const idLength = dot - start;
    const hmacLength = end - dot - 8;
    if (idLength < 23 || idLength > 28 || hmacLength < 27 || hmacLength > 38) continue;
    if (/[A-Za-z0-9_.-]/.test(text.charAt(start - 1)) || /[A-Za-z0-9_.-]/.test(text.charAt(end))) continue;
    if (!/^\d{17,20}$/.test(Buffer.from(text.slice(start, dot), 'base64url').toString('latin1'))) continue;
    const token = text.slice(start, end);
    matches.push({ detector: 'secret.discord-bot-token', level: 'restricted', reason: 'Discord bot token', start, end, excerpt: maskSecret(token) });
  }
}

const GATE = new LiteralGate(RULES.flatMap((rule) => rule.literals));

/** The rules one of whose literals occurs in the text. */
function triggeredRules(text: string): SecretRule[] {
  const present = GATE.present(text);
  return RULES.filter((rule) => (rule.gate === undefined ? rule.literals.some((literal) => present.has(literal)) : rule.gate.test(text)));
}

export const secretsDetector: Detector = {
  id: 'secret',
  scan(text) {
    const matches: DetectorMatch[] = [];
    for (const rule of triggeredRules(text)) {
      const found = matches.length;
      for (const match of matchesOf(rule.pattern, text)) {
        if (rule.accept !== undefined && !rule.accept(match)) continue;
        const located = rule.locate?.(match);
        if (rule.locate !== undefined && located === undefined) continue;
        const start = located?.start ?? match.index;
        const end = located?.end ?? start + match[0].length;
        const secret = located?.secret ?? match.groups?.secret ?? match.groups?.signature ?? match[0];
        matches.push({
          detector: rule.id,
          level: 'restricted',
          reason: rule.reason,
          start,
          end,
          excerpt: rule.id === 'secret.private-key' ? privateKeyExcerpt(match[0]) : maskSecret(secret),
        });
      }
      if (rule.glued !== undefined) addGlued(rule, rule.glued, text, matches, matches.slice(found));
    }
    discordBotTokens(text, matches);
    return matches;
  },
};

/** `rule`'s glued matches (see `SecretRule.glued`) that none of its boundary-delimited `bounded` matches overlaps. */
function addGlued(rule: SecretRule, glued: RegExp, text: string, matches: DetectorMatch[], bounded: readonly DetectorMatch[]): void {
  for (const match of matchesOf(glued, text)) {
    const start = match.index;
    const end = start + match[0].length;
    if (bounded.some((known) => known.start < end && known.end > start)) continue;
    const body = Object.values(match.groups ?? {}).find((group) => group !== undefined) ?? match[0];
    if (!(rule.gluedBody ?? hasDigitAndLetter)(body) || (rule.accept !== undefined && !rule.accept(match))) continue;
    matches.push({ detector: rule.id, level: 'restricted', reason: `${rule.reason} (joined to the text around it)`, start, end, excerpt: maskSecret(match[0]) });
  }
}

function privateKeyExcerpt(block: string): string {
  const header = /^-----BEGIN[^\n-]*-----|^PuTTY-User-Key-File-\d+/.exec(block)?.[0] ?? 'private key';
  return `${header}…`;
}

/** Rule ids, for documentation and tests. */
export const SECRET_RULE_IDS: readonly string[] = [...RULES.map((rule) => rule.id), 'secret.discord-bot-token'];
