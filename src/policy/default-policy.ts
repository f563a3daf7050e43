/**
 * The commented `policy.yaml` that `syndicate init` writes. It spells out the built-in
 * defaults (src/policy/defaults.ts) so the operator can see and edit every decision; a unit
 * test keeps the two equal. Schema: schemas/policy.v1.schema.json.
 */
export const DEFAULT_POLICY_YAML = `# syndicate policy — what may leave this machine, and where requests go.
# Check it with \`syndicate policy check\`; see the effective policy with \`syndicate policy show\`.
# Every section is optional: a section you delete falls back to the built-in default shown here.
apiVersion: syndicate/v1
kind: Policy

# Which provider classes may receive each sensitivity level (classified before any routing).
# Classes by exposure: local < approved_hosted < restricted_hosted; \`blocked\` is never called.
# restricted may only map to local, and a more sensitive level may never allow a class that a
# less sensitive level denies.
sensitivity:
  public: [local, approved_hosted, restricted_hosted]
  internal: [local, approved_hosted]
  confidential: [local]
  restricted: [local]

# Words that lift a request to at least confidential wherever they appear (whole word, any case).
# password, credential, screenshot and camera are always kept; add your own here.
indicatorWords: [password, credential, screenshot, camera]

# Your own patterns for known sensitive projects: a regex and/or keywords, each with a level.
# Example:
#   - name: project-atlas
#     level: confidential
#     keywords: [atlas, "acme merger"]
#   - name: customer-ids
#     level: restricted
#     regex: "CUST-[0-9]{6}"
patterns: []

# Routing preferences per workflow class. \`prefer\` is an ordered list of ranking keys:
# local, hosted, cheapest, fastest, priority (the model's declared priority). Nothing is assumed
# better unless listed. For interactive work a cold local model counts its load time against
# the first-token budget.
workflows:
  interactive:
    prefer: [fastest, priority]
    latencyBudget:
      firstTokenMs: 1500
  batch:
    prefer: [cheapest, priority]
    latencyBudget: {}

# Task rules: when a keyword appears in the prompt, models carrying one of preferTags rank first.
tasks:
  - name: code
    keywords: [code, function, refactor, stack trace, compile, typescript, javascript, python, rust, bug, unit test]
    preferTags: [code]

# Trust tiers of callers: the highest level each may send and the classes each may use
# (intersected with the sensitivity map above).
trustTiers:
  operator:
    description: "the operator at this terminal: every level, every callable class the sensitivity map allows"
    maxSensitivity: restricted
    allowedClasses: [local, approved_hosted, restricted_hosted]
  agent:
    description: "agents and tools calling through the gateway or MCP: up to confidential, never restricted_hosted"
    maxSensitivity: confidential
    allowedClasses: [local, approved_hosted]
  untrusted:
    description: "anything unidentified: local models only"
    maxSensitivity: internal
    allowedClasses: [local]
defaultTrustTier: operator

# Cost ceilings in USD, checked against price x estimated tokens before any call.
cost:
  perRequestUsd: 1
  perDayUsd: 20
  defaultOutputTokens: 1024   # assumed output when a request sets no max tokens (anthropic-wire models are sent it)

# Fallback walks the candidate list on failure, only towards the same or a stricter class.
fallback:
  order: []      # provider ids to try first when falling back
  maxHops: 3

# Hosted hostnames that may be called at all; a hosted provider on any other host is never called.
egress:
  allowHosts: [api.anthropic.com, api.openai.com, open.bigmodel.cn]

# Reference hosted price (USD per million tokens) used to estimate savings of local tokens: each
# local answer is priced as a hosted answer's spend is. A reference priced by input length takes
# its record's price.tiers here too (and cachedInputPerMTok for the tokens an engine cached).
savings:
  referenceModel: anthropic:claude-sonnet-5-5
  inputPerMTok: 2
  outputPerMTok: 10

# Images given by URL (not data:) are fetched by the engine that receives them (vLLM, llama-server):
# the URL, and what its query string carries, leaves this host. For a request only local providers
# may receive, refuse (the client is told to send the image inline) or allow, per level:
#   remoteUrls: { confidential: allow }
# A request a hosted class may receive sends its URLs as given; restricted is always refused.
media:
  remoteUrls: refuse

# Evidence retention: envelopes older than retentionDays are deleted by "syndicate evidence prune"
# (given no --older-than) and by "syndicate serve" at start and daily; the chain stays verifiable.
# Unset: evidence is kept until pruned by hand.
# evidence:
#   retentionDays: 90

# Required capabilities. Requests with tools need a model tagged toolsTag (unless requireToolsTag
# is false); requests with images need visionTag; requests for JSON rank (demote) or drop (exclude) providers declaring
# weak_json_adherence — a strict json_schema request always drops them; providers declaring
# nonstandard_tool_call_serialization are kept (repair: the wire adapter re-serialises tool-call
# arguments to JSON text) or dropped (exclude).
capabilities:
  nonstandardToolCalls: repair
  weakJson: demote
  visionTag: vision
  toolsTag: tools
  requireToolsTag: true
  rules: []
  # Example:
  #   - name: code-needs-medium
  #     when: { task: code }
  #     require: { minCapabilityClass: medium }
`;
