import { McpServer, type RegisteredTool } from '@modelcontextprotocol/sdk/server/mcp.js';
import { normalizeObjectSchema } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { toJsonSchemaCompat } from '@modelcontextprotocol/sdk/server/zod-json-schema-compat.js';
import { ErrorCode, isJSONRPCRequest, ListToolsRequestSchema, McpError, type CallToolResult, type ListToolsResult, type ServerNotification, type ServerRequest, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import { isValidBase64 } from 'zod/v4/core';
import { classifyText } from '../classify/index.js';
import { parseDuration } from '../common/duration.js';
import { inLevelOrder, SENSITIVITY_LEVELS, SESSION_ID_PATTERN, SESSION_ID_RULE, WORKFLOW_CLASSES } from '../common/vocabulary.js';
import { InterruptedError, ownCopyOf, SyndicateError, UsageError } from '../errors.js';
import { commandsForHome, type HomePaths } from '../home/home.js';
import { createPipelineContext, currentPolicy } from '../invoke/context.js';
import { explainRequestRoute, explainRoute, keylessRouteError, unavailableRouteError, type ExplainOptions, type RouteConditions, type RouteExplanation, type RouteQuestion } from '../invoke/explain-route.js';
import { GATEWAY_MODEL_NAMING, MCP_MODEL_NAMING } from '../invoke/model-naming.js';
import { invoke } from '../invoke/pipeline.js';
import { followRegistryForWarmUp, warmPipeline, type RegistryWarmUpFollower, type RegistryWarmUpReport, type WarmUpReport } from '../invoke/warm-up.js';
import { IMAGE_TYPES_TEXT, imageParts, PROMPT_OPTION_CARRIERS, promptRequestParts, type PromptOptionNames, type PromptRequestParts } from '../invoke/prompt-options.js';
import { refuseRequestOverLimit, sizedImages, type SizedMessage } from '../invoke/request-size.js';
import { providerChoice } from '../invoke/provider-choice.js';
import { routeDeniedSentence, unavailableSentence } from '../invoke/route-refusal.js';
import { contentStopSentence, invocationSummary } from '../invoke/summary.js';
import type { AttemptStarted, InvocationResult, PipelineContext } from '../invoke/types.js';
import { computeMetrics, windowUntilNow } from '../metrics/index.js';
import { prunedWindowWarning } from '../evidence/retention.js';
import { LivePolicy, type PolicyChange } from '../policy/live.js';
import { requireTrustTier } from '../policy/trust-tiers.js';
import { listProviders } from '../registry/registry.js';
import { providerSummary } from '../registry/summary.js';
import { describeHold, holdsInForce, type HoldReport } from '../router/shared-holds.js';
import { invokeInSession, refuseSessionOverrides, sessionRouteQuestion, sessionTurnSummary, type SessionOverrideNames } from '../sessions/converse.js';
import { findSession, recordedSessionId } from '../sessions/sessions.js';
import { StoreFileWatch } from '../store/store-file.js';
import type { Store } from '../store/store.js';
import { promptMessage, TEMPERATURE_RANGE, type CanonicalRequest, type CanonicalResponse, type StreamPart } from '../wire/canonical.js';
import { REASONING_EFFORTS } from '../wire/reasoning.js';
import { isRecord, stringField } from '../wire/json.js';
import { jsonSchemaFormat, toolDefinitionsFrom } from '../wire/request-files.js';
import { decodeGatewayRequest, REQUEST_FAMILIES } from '../wire/request-family.js';
import type { Policy } from '../policy/types.js';

/** The tools an agent sees, in the order `tools/list` gives them. */
export const MCP_TOOLS = ['complete', 'classify', 'route_explain', 'providers', 'metrics'] as const;

export interface McpServerOptions {
  home: HomePaths;
  store: Store;
  /** The version `initialize` reports (syndicate's own). */
  version: string;
  /** Trust tier of the agents on this server; default: the policy's `defaultTrustTier`. */
  trustTier?: string;
  env?: NodeJS.ProcessEnv;
  /** The policy file was re-read after an edit (or found invalid: local providers only until fixed). */
  onPolicyChange?: (change: PolicyChange) => void;
  /**
   * The pipeline to run on: the gateway's, for `/mcp` (its live policy, group commits and provider
   * health, its trust tier checked when it started). Default: the server's own, following the policy file.
   */
  pipeline?: PipelineContext;
  /** Each `complete` invocation as it ends, answered or failed (the gateway's `/metrics` counts them). */
  onInvocationEnd?: (outcome: { result: InvocationResult } | { error: unknown }) => void;
  /**
   * How long a `complete` call with a progress token goes without a notification before one says
   * it is still waiting (default `PROGRESS_HEARTBEAT_MS`).
   */
  progressHeartbeatMs?: number;
}

export interface SyndicateMcpServer {
  server: McpServer;
  /** Connects the server to `transport` (`server.connect`), taking a tool call's `arguments: null` as none given (`acceptNullArguments`). */
  connect(transport: Transport): Promise<void>;
  /** Tool calls still running. */
  readonly inFlight: number;
  /**
   * Cancels the `complete` calls in flight (their evidence says the server stopped, and `why`:
   * default "its client went away") and waits for every call to end.
   */
  drain(why?: string): Promise<void>;
  /** Cancels the `complete` calls in flight with `reason` (their evidence gives its message). */
  cancel(reason: Error): void;
  /** Resolves once every tool call in flight has ended (its evidence completed). */
  settled(): Promise<void>;
  /** Loads what the first tool call would otherwise load (`warmPipeline`): call it before connecting the transport. */
  warmUp(): Promise<WarmUpReport>;
  /**
   * Loads the tokenizer in the background when a priced model is registered while the server runs
   * (`followRegistryForWarmUp`): `syndicate mcp` calls it before `warmUp` and stops it before
   * closing the store. The gateway's /mcp shares the gateway's pipeline, which the gateway follows.
   */
  followRegistry(onWarmUp?: (report: RegistryWarmUpReport) => void): RegistryWarmUpFollower;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const sensitivity = z.enum(SENSITIVITY_LEVELS);
const provider = z.object({ id: z.string(), version: z.number(), class: z.string() });
const finding = z.object({ detector: z.string(), level: sensitivity, reason: z.string() }).loose();
/**
 * A text argument that must name something (`provider`, `model`, `metrics`' `session`): empty or
 * only spaces is an invalid argument, not "no provider   is registered" or the policy's choice.
 */
const nonBlank = (): z.ZodString => z.string().regex(/\S/, 'must not be empty or blank');
/** The workflow a prompt is routed for (`run --workflow`), as `complete` and `route_explain` take it. */
const workflowArgument = z
  .enum(WORKFLOW_CLASSES)
  .optional()
  .describe("what the routing prefers, as the policy's `workflows` say: `interactive` (default; the default policy: the fastest model within a first-token budget) or `batch` (the cheapest, with no latency budget: a slow local model may take it)");
/** The holds in force (`holdsInForce`), as `provider list --json` and `route --json` give them. */
const heldBack = z.array(z.object({ provider: z.string(), model: z.string().optional(), state: z.enum(['down', 'rate_limited', 'tools_refused']), until: z.string(), reason: z.string() }).loose());

/**
 * The JSON Schema of an argument object whose members may be anything (a JSON Schema, a request
 * body, annotations): `additionalProperties: true` rather than the `{}` zod writes, which means
 * the same, but which a host that narrows tool schemas to OpenAI's subset (Codex) takes, as any
 * schema without a type, for a string: the model would be told the members are strings.
 */
const ANY_MEMBERS = { additionalProperties: true } as const;

/** An image sent with the prompt, in MCP's own image content shape (`{type: "image", data, mimeType}`). */
const imageArgument = z.strictObject({
  type: z.literal('image').optional(),
  // Checked as z.base64() checks it, without the `format: "base64"` it lists (no JSON Schema format: a host whose Ajv checks
  // arguments refuses to compile the schema) nor its pattern (whose backtracking overflows the stack on a screenshot's bytes).
  data: z.string().refine(isValidBase64, 'Invalid base64-encoded string').meta({ contentEncoding: 'base64' }).describe('the image bytes, base64-encoded'),
  mimeType: z.string().describe(`its type: image/png, image/jpeg, image/gif or image/webp (checked against its bytes)`),
  // What MCP image content may carry besides, for its client (an image another tool returned, passed on as it came): taken, never sent.
  annotations: z.object({}).loose().meta(ANY_MEMBERS).optional().describe("MCP content annotations (audience, priority, lastModified): accepted as another tool's image content carries them, not sent"),
  _meta: z.record(z.string(), z.unknown()).meta(ANY_MEMBERS).optional(),
});

/** What a prompt is sent with beyond its text, as `run --image`, `--schema`, `--reasoning-effort`, `--tools` and `--tool-choice` send it. */
const promptOptionsInput = {
  temperature: z.number().min(TEMPERATURE_RANGE.minimum).max(TEMPERATURE_RANGE.maximum).optional().describe('sampling temperature'),
  images: z
    .array(imageArgument)
    .min(1)
    .optional()
    .describe(`images sent with the prompt, before it, as MCP image content: ${IMAGE_TYPES_TEXT}, told by their bytes; classified as image content (confidential) and routed to vision models only`),
  schema: z
    .record(z.string(), z.unknown())
    .meta(ANY_MEMBERS)
    .optional()
    .describe('a JSON Schema object the answer must follow (structured output: sent as a json_schema response format named `answer`)'),
  jsonMode: z.boolean().optional().describe('ask for a JSON object as the answer (any object; give `schema` for one that follows a schema instead)'),
  reasoningEffort: z.enum(REASONING_EFFORTS).optional().describe('how hard a reasoning model thinks (sent as reasoning_effort, or Anthropic thinking)'),
  tools: z
    // Each an object (as `ANY_MEMBERS`: `{}` would be a string to Codex), checked by `run`'s reader, whose errors name the JSON pointer.
    .array(z.unknown().meta({ type: 'object' }))
    .optional()
    .describe('tool definitions the model may call, each in OpenAI form {"type": "function", "function": {"name", "description", "parameters"}} or Anthropic form {"name", "description", "input_schema"}; its calls come back in `toolCalls` (not run)'),
  toolChoice: z.string().min(1).optional().describe('auto, none, required, or a tool name to force that tool (with `tools`)'),
};
type PromptOptionArguments = { maxTokens?: number | undefined } & { [K in keyof typeof promptOptionsInput]?: z.infer<(typeof promptOptionsInput)[K]> };

/** How `complete` and `route_explain` name the prompt options in their errors. */
const MCP_PROMPT_OPTION_NAMES: PromptOptionNames = { tools: '`tools`', toolChoice: '`toolChoice`', imageNamedBy: 'its `mimeType`', otherImage: 'or send another image' };

/** The arguments of `route_explain`: `complete`'s question, or a whole gateway request body. */
const routeExplainInput = z.strictObject({
  prompt: z.string().min(1).optional().describe('the user message (or give `request` instead)'),
  request: z
    .record(z.string(), z.unknown())
    .meta(ANY_MEMBERS)
    .optional()
    .describe("a whole request body, as the gateway takes it (OpenAI chat or text completions, Responses or embeddings, Anthropic Messages, Ollama /api/chat or /api/generate: tools, tool_choice, thinking, images, its model and max_tokens), decoded by the gateway's own parsers; instead of `prompt`"),
  format: z
    .enum(REQUEST_FAMILIES)
    .optional()
    .describe('the API of `request` (default: told from its fields; a body that has nothing only one API has, such as {"model", "max_tokens", "messages"} alone, needs it: `openai` for chat completions, `anthropic` for Messages)'),
  anthropicBeta: z.string().optional().describe('the anthropic-beta header sent with an Anthropic Messages `request` (NAME[,NAME])'),
  system: z.string().optional().describe('system prompt (classified with the prompt, as `complete` does)'),
  model: nonBlank().optional().describe('`auto` (default), a model id or alias, or `provider:model`'),
  provider: nonBlank().optional().describe('only consider this provider (or `provider:model`, as `complete` takes it)'),
  workflow: workflowArgument,
  sensitivity: sensitivity.optional().describe('raises the classified level, never lowers it'),
  maxTokens: z.number().int().positive().optional().describe('output tokens the request would ask for'),
  ...promptOptionsInput,
  session: z.string().regex(SESSION_ID_PATTERN, SESSION_ID_RULE).optional().describe("a stored session (id or name): routed as `complete` would send the prompt in it (its model, system prompt and conversation so far, within its capability envelope); with `request`, its envelope bounds the route, as the gateway's x-syndicate-session header does; any other id changes nothing"),
});
type RouteExplainArguments = z.infer<typeof routeExplainInput>;

/** The `complete` arguments a stored session decides, named as the agent sends them. */
const COMPLETE_ARGUMENT_NAMES: SessionOverrideNames = { provider: '`provider`', model: '`model`', system: '`system`', session: '`session`', tools: '`tools`' };

/** How often a `complete` call with a progress token reports the answer growing. */
const PROGRESS_INTERVAL_MS = 250;
/**
 * How long a call with a progress token goes without a notification before one says it is still
 * waiting: a local model loading or reading a long context can take minutes before its first
 * token, and a client that resets its request timeout on progress (the SDK's 60 s by default)
 * would otherwise cancel it.
 */
const PROGRESS_HEARTBEAT_MS = 5_000;

// The tools' definitions, built once per process and shared by every server: the gateway builds one per `/mcp` request.
const COMPLETE_TOOL = {
  title: 'Governed completion',
  description:
    'Answer a prompt through the operator\'s policy: classified on this host first, routed to a permitted provider ' +
    '(local when the data is sensitive), recorded as evidence. Returns the answer, where it went and why.',
  inputSchema: z.strictObject({
    prompt: z.string().min(1).describe('the user message'),
    system: z.string().optional().describe('system prompt'),
    model: nonBlank().optional().describe('`auto` (default), a model id or alias, or `provider:model`'),
    provider: nonBlank().optional().describe('use only this provider; every policy rule still applies'),
    maxTokens: z.number().int().positive().optional().describe('maximum tokens to generate'),
    ...promptOptionsInput,
    workflow: workflowArgument,
    sensitivity: sensitivity.optional().describe('raises the classified level, never lowers it'),
    session: z.string().regex(SESSION_ID_PATTERN, SESSION_ID_RULE).optional().describe("a stored session (id or name): the prompt continues its conversation on its model, within its capability envelope, and the turn is appended, as `run --session`; any other id only labels the evidence"),
  }),
  outputSchema: {
    answer: z.string(),
    provider,
    model: z.string(),
    sensitivity,
    evidenceId: z.string(),
    requestId: z.string(),
    permitId: z.string(),
    finishReason: z.string(),
    costUsd: z.number().nullable(),
    tokens: z.object({ inputTokens: z.number(), outputTokens: z.number() }).loose().optional(),
    fidelity: z.object({}).loose(),
    latency: z.object({ totalMs: z.number() }).loose(),
    markers: z.array(z.string()),
    warnings: z.array(z.object({}).loose()),
    attempts: z.array(z.object({}).loose()),
    /** Candidates of the fallback walk not called, with why (a hold came into force during it); empty when none. */
    passedOver: z.array(z.object({ provider: z.string(), model: z.string(), reason: z.string() })),
    reasoning: z.string().nullable(),
    /** The model's refusal to answer (the text content then holds it); null when it did not refuse. */
    refusal: z.string().nullable(),
    toolCalls: z.array(z.object({}).loose()),
    /** The stored session continued: `turn` null and `kept` false when the turn was not kept (its provider stopped the answer for its content). */
    session: z.object({ id: z.string(), turn: z.number().nullable(), kept: z.boolean() }).optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
};

/** A classification as `classify` returns it, and as `route_explain` shows it. */
const classificationShape = { level: sensitivity, failedClosed: z.boolean(), findings: z.array(finding) };

const CLASSIFY_TOOL = {
  title: 'Classify sensitivity',
  description:
    'Classify a text as public, internal, confidential or restricted with the operator\'s detectors and policy words; ' +
    'nothing leaves this host. Secrets in the findings are masked.',
  inputSchema: z.strictObject({
    text: z.string().min(1).describe('the text to classify'),
    sensitivity: sensitivity.optional().describe('raises the level, never lowers it'),
  }),
  outputSchema: classificationShape,
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const ROUTE_EXPLAIN_TOOL = {
  title: 'Explain the route',
  description:
    'Classify a prompt — or a whole request body the gateway takes (`request`: OpenAI, Anthropic or Ollama) — and show where the policy ' +
    'would send it, as `complete` or the gateway would: every candidate in order and every excluded provider with its reason — without calling any model.',
  inputSchema: routeExplainInput,
  outputSchema: {
    classification: z.object(classificationShape).loose(),
    estimatedPromptTokens: z.number(),
    plan: z.object({ sensitivity, candidates: z.array(z.object({}).loose()), excluded: z.array(z.object({}).loose()), explanation: z.string() }).loose(),
    skipped: z.array(z.object({}).loose()),
    holds: heldBack,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const PROVIDERS_TOOL = {
  title: 'Registered providers',
  description:
    'The providers registered on this host: class (local, hosted, blocked), wire format, base URL, models and status; ' +
    'and what every syndicate process on this host holds out of routes now (a provider, or one of its models: rate-limited or down, or refusing tools for requests with tools only; until when, why).',
  // No arguments: one given is refused by name, as every tool refuses one it does not know (a `provider` filter would otherwise be dropped unheeded).
  inputSchema: z.strictObject({}),
  outputSchema: {
    providers: z.array(
      z.object({ id: z.string(), version: z.number(), status: z.enum(['active', 'retired']), class: z.string(), wire: z.string(), models: z.array(z.string()) }).loose(),
    ),
    holds: heldBack,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const METRICS_TOOL = {
  title: 'Metrics',
  description:
    'What happened, from the evidence: requests and tokens local vs hosted, where each sensitivity level went, ' +
    'answers, tokens, spend and latency per provider and model, load times, total spend and estimated savings.',
  inputSchema: z.strictObject({
    since: z.string().optional().describe('how far back, with its unit: 90m, 24h (default), 7d'),
    session: nonBlank().optional().describe("only one session's requests (a stored session's id or name, or the id its requests carry)"),
    sensitivity: z
      .array(sensitivity)
      .min(1)
      .optional()
      .describe('only the requests the classifier gave one of these levels (["confidential", "restricted"]: confidential and above); requests refused before they were classified and model loads are left out'),
  }),
  outputSchema: { metrics: z.object({ window: z.object({}).loose(), requests: z.object({}).loose(), tokens: z.object({}).loose() }).loose() },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

/** Every tool's definition by name, in the order `tools/list` gives them. */
export const TOOL_DEFINITIONS = { complete: COMPLETE_TOOL, classify: CLASSIFY_TOOL, route_explain: ROUTE_EXPLAIN_TOOL, providers: PROVIDERS_TOOL, metrics: METRICS_TOOL };

let listedTools: ListToolsResult | undefined;

/**
 * The `tools/list` answer, derived once per process from the tools as registered, as the SDK's own
 * handler derives it on every list (a test pins the two equal): converting the tools' zod schemas
 * to JSON Schema is about half the CPU of a `/mcp` request that lists them, and the gateway builds
 * a server per request.
 */
function listToolsOnce(registered: Partial<Record<string, RegisteredTool>>): ListToolsResult {
  const jsonSchema = (schema: RegisteredTool['inputSchema'], pipeStrategy: 'input' | 'output'): Tool['inputSchema'] | undefined => {
    const object = normalizeObjectSchema(schema);
    return object === undefined ? undefined : (toJsonSchemaCompat(object, { strictUnions: true, pipeStrategy }) as Tool['inputSchema']);
  };
  listedTools ??= {
    tools: Object.entries(registered).flatMap(([name, tool]): Tool[] => {
      if (tool === undefined || !tool.enabled) return [];
      const outputSchema = jsonSchema(tool.outputSchema, 'output');
      return [
        {
          name,
          title: tool.title,
          description: tool.description,
          inputSchema: jsonSchema(tool.inputSchema, 'input') ?? { type: 'object', properties: {} },
          annotations: tool.annotations,
          execution: tool.execution,
          _meta: tool._meta,
          ...(outputSchema === undefined ? {} : { outputSchema }),
        },
      ];
    }),
  };
  return listedTools;
}

/** One JSON Schema validator (an Ajv instance) for every server, instead of one per server. */
const JSON_SCHEMA_VALIDATOR = new AjvJsonSchemaValidator();

/**
 * The MCP server (`syndicate mcp`): an agent's tools over the same pipeline as `run` and the
 * gateway. `complete` is one governed invocation (classify → route → permit → invoke →
 * evidence, caller `mcp`); `classify`, `route_explain`, `providers` and `metrics` report what the
 * CLI's `--json` documents report. A refused or failed call is a tool result with `isError` and
 * the reason and hint, never a protocol error; the policy file is followed live as the gateway does.
 * Input schemas are strict: an argument a tool does not know is refused (the agent sees which)
 * rather than dropped — a misspelt `sensitivty: restricted` must not send the prompt out at its
 * classified level as if the raise had never been asked for.
 */
export function createMcpServer(options: McpServerOptions): SyndicateMcpServer {
  const env = options.env ?? process.env;
  const pipeline: PipelineContext = options.pipeline ?? ownPipeline(options, env);

  const server = new McpServer(
    { name: 'syndicate', version: options.version },
    {
      instructions:
        'Governed LLM inference on this host. `complete` classifies the prompt before anything leaves the machine, ' +
        'routes it by the operator\'s policy (sensitive data stays on local models), and records hash-chained evidence. ' +
        'Use `route_explain` to see where a prompt would go without calling a model.',
      jsonSchemaValidator: JSON_SCHEMA_VALIDATOR,
    },
  );
  const running = new Set<Promise<unknown>>();
  /** An invocation of `complete`, told to `onInvocationEnd` as it ends. */
  const observed = async <T>(invocation: Promise<T>, resultOf: (answer: T) => InvocationResult): Promise<T> => {
    const onEnd = options.onInvocationEnd;
    if (onEnd === undefined) return invocation;
    try {
      const answer = await invocation;
      onEnd({ result: resultOf(answer) });
      return answer;
    } catch (error) {
      onEnd({ error });
      throw error;
    }
  };
  const cancellations = new Set<AbortController>();
  const tracked = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    const forget = (): void => {
      running.delete(work);
    };
    work.then(forget, forget);
    return work;
  };

  const registered: Partial<Record<(typeof MCP_TOOLS)[number], RegisteredTool>> = {};
  registered.complete = server.registerTool(
    'complete',
    COMPLETE_TOOL,
    (input, extra) =>
      tracked(
        toolResult(options.home, async () => {
          // Checked before the call is tracked for cancellation: a bad argument sends nothing.
          const parts = await promptParts(input);
          const cancellation = new AbortController();
          const onCancel = (): void =>
            cancellation.abort(new InterruptedError(`cancelled by the MCP client${clientReason(extra.signal.reason)} before the answer ended`, { hint: 'the capture so far is kept as partial evidence' }));
          if (extra.signal.aborted) onCancel();
          else extra.signal.addEventListener('abort', onCancel, { once: true });
          cancellations.add(cancellation);
          const progress = progressReporter(extra, options.progressHeartbeatMs ?? PROGRESS_HEARTBEAT_MS);
          const settings: Omit<CanonicalRequest, 'model' | 'system' | 'messages'> = {
            ...parts.settings,
            // Streamed only for a client that asked for progress: the answer's growth is the progress.
            stream: progress !== undefined,
          };
          const common = {
            caller: 'mcp',
            signal: cancellation.signal,
            modelNaming: MCP_MODEL_NAMING,
            ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
            ...(input.workflow === undefined ? {} : { workflow: input.workflow }),
            ...(input.sensitivity === undefined ? {} : { sensitivityHint: input.sensitivity }),
            ...(progress === undefined
              ? {}
              : {
                  onAttempt: (attempt: AttemptStarted) => progress.say(`asking ${attempt.provider.id}:${attempt.model} (${attempt.sensitivity})`),
                  // Counted, never shown before the result: a stream that breaks mid-answer may still fall back.
                  onPartArrived: (part: StreamPart) => progress.arrived(part),
                }),
          };
          try {
            // A stored session carries its conversation and decides the model, as for `run --session`; any other id is a label.
            const storedSession = input.session === undefined ? undefined : findSession(options.store, input.session);
            if (storedSession !== undefined) {
              refuseSessionOverrides(storedSession, sessionOverrides(input, parts), COMPLETE_ARGUMENT_NAMES);
              const answered = await observed(
                invokeInSession(pipeline, {
                  ...common,
                  sessionId: storedSession.id,
                  prompt: input.prompt,
                  images: parts.images,
                  settings,
                  argumentNames: COMPLETE_ARGUMENT_NAMES,
                }),
                (answer) => answer.result,
              );
              const session = sessionTurnSummary(answered);
              // Many hosts show the model the text alone: it says the turn was not kept, as `structured.session.kept` does.
              const answer = answerText(answered.result.response);
              const note = session.kept ? '' : notKeptNote(answered.result.response, answered.session.name ?? answered.session.id);
              const text = [answer, note].filter((part) => part !== '').join('\n\n');
              return { text, structured: { ...invocationSummary(answered.result), session } };
            }
            // The whole request within the input limit, as `run`'s (a stored session's turn is measured with its conversation).
            refuseCompleteOverLimit(input.system, input.prompt, parts);
            const { provider: providerId, model: providerModel } = providerChoice(input.provider, 'provider');
            const request: CanonicalRequest = {
              model: providerModel ?? input.model ?? 'auto',
              ...(input.system === undefined ? {} : { system: input.system }),
              messages: [promptMessage(input.prompt, imageParts(parts.images))],
              ...settings,
            };
            const result = await observed(
              invoke(pipeline, {
                ...common,
                request,
                ...(providerId === undefined ? {} : { provider: providerId }),
                ...(input.session === undefined ? {} : { sessionId: input.session }),
              }),
              (answer) => answer,
            );
            return { text: answerText(result.response), structured: invocationSummary(result) };
          } finally {
            progress?.stop();
            extra.signal.removeEventListener('abort', onCancel);
            cancellations.delete(cancellation);
          }
        }),
      ),
  );

  registered.classify = server.registerTool(
    'classify',
    CLASSIFY_TOOL,
    (input) =>
      toolResult(options.home, () => {
        const { policy } = currentPolicy(pipeline);
        const { level, findings, failedClosed } = classifyText(input.text, {
          indicatorWords: policy.indicatorWords,
          patterns: policy.patterns,
          ...(input.sensitivity === undefined ? {} : { hint: input.sensitivity }),
        });
        const detectors = [...new Set(findings.map((entry) => entry.detector))];
        const text = `${level}${failedClosed ? ' (the classifier failed closed)' : ''}${detectors.length === 0 ? '' : `: ${detectors.join(', ')}`}`;
        return { text, structured: { level, failedClosed, findings } };
      }),
  );

  /** `route_explain` of a prompt: the question `complete` would ask. */
  const explainPrompt = async (input: RouteExplainArguments, conditions: RouteConditions, policy: Policy, explainOptions: ExplainOptions): Promise<RouteExplanation> => {
    if (input.prompt === undefined) throw new UsageError('route_explain needs a `prompt` or a `request`', { hint: 'give the prompt as `prompt`, or a whole request body as `request`' });
    for (const name of ['format', 'anthropicBeta'] as const) {
      if (input[name] !== undefined) throw new UsageError(`\`${name}\` applies to \`request\` only`, { hint: `give a whole request body as \`request\`, or drop \`${name}\`` });
    }
    // Its system prompt and its `provider:model` choice, or in a stored session the session's
    // model, system prompt and conversation so far.
    const parts = await promptParts(input);
    const storedSession = input.session === undefined ? undefined : findSession(options.store, input.session);
    let asked: Pick<RouteQuestion, 'system' | 'history' | 'model' | 'provider' | 'sensitivity'>;
    if (storedSession === undefined) {
      // The whole request within the input limit, refused as `complete` refuses it.
      refuseCompleteOverLimit(input.system, input.prompt, parts);
      const { provider: providerId, model: providerModel } = providerChoice(input.provider, 'provider');
      asked = {
        ...(input.system === undefined ? {} : { system: input.system }),
        model: providerModel ?? input.model ?? 'auto',
        ...(providerId === undefined ? {} : { provider: providerId }),
      };
    } else {
      // Measured with the conversation, and routed at least at the levels its turns were marked with, as `complete` sends the turn.
      asked = sessionRouteQuestion(options.store, storedSession, policy, {
        prompt: completePrompt(input.prompt, parts),
        overrides: sessionOverrides(input, parts),
        names: COMPLETE_ARGUMENT_NAMES,
        ...(conditions.sensitivity === undefined ? {} : { sensitivity: conditions.sensitivity }),
      });
    }
    return explainRoute(options.store, policy, { ...conditions, ...asked, text: input.prompt, images: imageParts(parts.images), settings: parts.settings }, explainOptions);
  };

  registered.route_explain = server.registerTool(
    'route_explain',
    ROUTE_EXPLAIN_TOOL,
    (input) =>
      toolResult(options.home, async () => {
        const { policy, failure } = currentPolicy(pipeline);
        // The tool's text is the explanation, under the refusal's hint. The prompt estimated as
        // `complete` estimates it: the tokenizer is loaded only when the count could change the plan.
        const explainOptions: ExplainOptions = {
          env,
          modelNaming: MCP_MODEL_NAMING,
          promptEstimate: 'bounded',
          whereEveryRule: 'the explanation below says why each provider was excluded',
          ...(failure === undefined ? {} : { policyFailure: failure }),
        };
        const conditions = {
          workflow: input.workflow ?? 'interactive',
          ...(input.sensitivity === undefined ? {} : { sensitivity: input.sensitivity }),
          ...(options.trustTier === undefined ? {} : { trustTier: options.trustTier }),
          ...(input.session === undefined ? {} : { session: input.session }),
        };
        const routed =
          input.request === undefined
            ? await explainPrompt(input, conditions, policy, explainOptions)
            : await explainRequestRoute(options.store, policy, decodedRequestArgument(input, input.request), conditions, { ...explainOptions, modelNaming: GATEWAY_MODEL_NAMING });
        const { plan, classification, estimatedPromptTokens, skipped, holds } = routed;
        return { text: [`${verdictOf(routed, options.home)}${plan.explanation}`, ...heldBackLines(holds)].join('\n'), structured: { classification, estimatedPromptTokens, plan, skipped, holds } };
      }),
  );

  registered.providers = server.registerTool(
    'providers',
    PROVIDERS_TOOL,
    () =>
      toolResult(options.home, () => {
        const registered = listProviders(options.store);
        const providers = registered.map(providerSummary);
        const holds = holdsInForce(options.store, registered);
        const lines = providers.map((entry) => `${entry.id} v${entry.version} ${entry.class} ${entry.wire} ${entry.status}: ${entry.models.join(', ')}`);
        return { text: lines.length === 0 ? 'no providers registered' : [...lines, ...heldBackLines(holds)].join('\n'), structured: { providers, holds } };
      }),
  );

  registered.metrics = server.registerTool(
    'metrics',
    METRICS_TOOL,
    (input) =>
      toolResult(options.home, () => {
        const durationMs = parseDuration(input.since ?? '24h', 'since', { minimumMs: 1 });
        const session = input.session === undefined ? undefined : recordedSessionId(options.store, input.session);
        const sensitivities = input.sensitivity === undefined ? undefined : inLevelOrder(input.sensitivity);
        const metrics = computeMetrics(options.store, currentPolicy(pipeline).policy, windowUntilNow(durationMs, { session, sensitivities }));
        const { requests, tokens } = metrics;
        // A window a prune reached into counts only what it kept, as `metrics` warns.
        const prunedWarning = prunedWindowWarning(options.store, Date.parse(metrics.window.since));
        const text =
          `${requests.total} answered: ${requests.local} local, ${requests.hosted} hosted, ${requests.denied} denied; ` +
          `${tokens.local.total} local and ${tokens.hosted.total} hosted tokens since ${metrics.window.since}` +
          (metrics.window.sensitivity === undefined ? '' : `, sensitivity ${metrics.window.sensitivity.join(',')} only`) +
          (prunedWarning === undefined ? '' : `\n${prunedWarning}`);
        return { text, structured: { metrics } };
      }),
  );
  // Replaces the list handler the SDK registered with the tools: the same answer, derived once.
  server.server.setRequestHandler(ListToolsRequestSchema, () => listToolsOnce(registered));
  server.server.setRequestHandler(UnknownToolCallSchema, (request) => {
    throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name} (this server's tools: ${Object.keys(registered).join(', ')})`);
  });

  const cancel = (reason: Error): void => {
    // Each its own copy: the pipeline adds its call's ids to the error it ends with (`withDetails`).
    for (const cancellation of cancellations) cancellation.abort(ownCopyOf(reason));
  };
  const settled = async (): Promise<void> => {
    await Promise.allSettled([...running]);
  };
  return {
    server,
    connect: async (transport) => {
      acceptNullArguments(transport);
      refuseUnknownTools(transport, Object.keys(registered));
      await server.connect(transport);
    },
    get inFlight() {
      return running.size;
    },
    drain: async (why = 'its client went away') => {
      cancel(new InterruptedError(`the MCP server stopped (${why}) before the answer ended`, { hint: 'the capture so far is kept as partial evidence' }));
      await settled();
    },
    cancel,
    settled,
    warmUp: () => warmPipeline(pipeline),
    followRegistry: (onWarmUp) => followRegistryForWarmUp(pipeline, onWarmUp === undefined ? {} : { onWarmUp }),
  };
}

/**
 * Takes a `tools/call` whose `arguments` is `null` as one without arguments. Clients whose JSON
 * library writes an absent map as `null` (Go, Java and C# ones) send it for a tool called without
 * arguments; the SDK's request schema accepts `arguments` absent but not `null`, and answered the
 * call with an Internal error (-32603) whose message was the raw schema failure, which tells a
 * client the server is broken (typescript-sdk#2012). With it absent, `providers` and `metrics`
 * answer, and a tool that needs arguments says which, as a tool error the agent can act on. Set
 * before `connect`: the SDK's Protocol calls an `onmessage` that was already there first, with the
 * same message.
 */
function acceptNullArguments(transport: Transport): void {
  const previous = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message) && message.method === 'tools/call' && isRecord(message.params) && message.params['arguments'] === null) {
      delete message.params['arguments'];
    }
    previous?.(message, extra);
  };
}

/** Where `refuseUnknownTools` sends a call of a tool this server does not have. */
const UNKNOWN_TOOL_METHOD = 'syndicate/unknown_tool';
const UnknownToolCallSchema = z.object({ method: z.literal(UNKNOWN_TOOL_METHOD), params: z.object({ name: z.string() }).passthrough() });

/**
 * Answers a `tools/call` of a tool this server does not have with a JSON-RPC error, Invalid params
 * (-32602), as the MCP specification (2025-06-18 and 2025-11-25, *Tools: Error Handling*) lists
 * unknown tools among protocol errors. The SDK's `McpServer` (1.x) threw that error and then caught
 * it, answering a tool result with `isError: true` (typescript-sdk#1510; 2.x answers the error). The
 * call goes to a method of this server's own (`UNKNOWN_TOOL_METHOD`), whose handler throws it: the
 * SDK still reads and answers the request, with its id, progress and cancellation. Set before
 * `connect`, as `acceptNullArguments`.
 */
function refuseUnknownTools(transport: Transport, toolNames: readonly string[]): void {
  const known = new Set(toolNames);
  const previous = transport.onmessage;
  transport.onmessage = (message, extra) => {
    if (isJSONRPCRequest(message) && message.method === 'tools/call' && isRecord(message.params)) {
      const name = message.params['name'];
      if (typeof name === 'string' && !known.has(name)) message.method = UNKNOWN_TOOL_METHOD;
    }
    previous?.(message, extra);
  };
}

/** The pipeline of `syndicate mcp`: its own, following the policy file as the gateway does. */
function ownPipeline(options: McpServerOptions, env: NodeJS.ProcessEnv): PipelineContext {
  const pipeline = createPipelineContext(options.home, options.store, env);
  requireTrustTier(pipeline.policy, options.trustTier);
  pipeline.livePolicy = new LivePolicy(options.home.policyPath, pipeline.policy, options.onPolicyChange === undefined ? {} : { onChange: options.onPolicyChange });
  pipeline.longRunning = true;
  pipeline.storeFile = new StoreFileWatch(options.store.path);
  return pipeline;
}

/**
 * The `request` argument of `route_explain`, decoded as `route --request` decodes a body (the
 * gateway faces' parsers): a body they refuse is a tool error naming the JSON pointer, and the
 * fields the body says are refused beside it, as `route --request` refuses their flags.
 */
function decodedRequestArgument(input: RouteExplainArguments, body: Record<string, unknown>): CanonicalRequest {
  if (input.prompt !== undefined) throw new UsageError('give either `prompt` or `request`, not both', { hint: "put the prompt in the request body's messages" });
  const bodyCarried: ReadonlyArray<readonly [keyof RouteExplainArguments, string]> = [
    ['model', 'its `model` field'],
    ['provider', 'its `model` field as `provider:model`'],
    ...(['system', 'maxTokens', 'temperature', 'images', 'schema', 'jsonMode', 'reasoningEffort', 'tools', 'toolChoice'] as const).map((name) => [name, PROMPT_OPTION_CARRIERS[name]] as const),
  ];
  for (const [name, carrier] of bodyCarried) {
    if (input[name] !== undefined) throw new UsageError(`\`${name}\` does not apply to \`request\`: the body says it`, { hint: `set ${carrier} in the body` });
  }
  return decodeGatewayRequest(JSON.stringify(body), 'request', {
    ...(input.format === undefined ? {} : { family: input.format }),
    ...(input.anthropicBeta === undefined ? {} : { anthropicBeta: input.anthropicBeta }),
    formatOption: (family) => `format: "${family}"`,
    betaOption: 'anthropicBeta',
  }).request;
}

/**
 * What a route without candidates comes to, as `route` and `complete` say it, before the
 * explanation: unavailable when what may take it is only down, or when every candidate lacks its key; refused for a request field the
 * gateway names (its code and param); otherwise refused by the policy. Each with the hint the
 * refusal carries (what would take it: a model to tag, a class the policy allows). Empty when it has candidates.
 */
function verdictOf(routed: RouteExplanation, home: HomePaths): string {
  const { plan } = routed;
  // Every candidate skipped for its unset key (in the server's environment) fails `complete` as unavailable too.
  const unavailable = keylessRouteError(routed, 'server') ?? unavailableRouteError(routed);
  if (plan.candidates.length > 0 && unavailable === undefined) return '';
  // Its sentence without the models (the explanation below names each).
  if (unavailable !== undefined) return `${unavailableSentence(unavailable)}\nhint: ${commandsForHome(unavailable.hint ?? '', home)}\n`;
  const refusal = routed.refusal();
  const hint = `hint: ${commandsForHome(refusal.hint ?? '', home)}\n`;
  if (refusal.code === 'route_denied') return `${routeDeniedSentence(plan.sensitivity)}\n${hint}`;
  const param = refusal.details?.['param'];
  return `${refusal.message} (${refusal.code}${typeof param === 'string' ? `, param ${param}` : ''})\n${hint}`;
}

/**
 * Runs a tool body: its text and structured content, or — for syndicate's own errors (policy
 * refusals, unavailable providers, bad arguments) — an `isError` result with the reason, the
 * error code and the hint (its `syndicate …` commands made to work for the server's home), which
 * the agent can act on. Anything else is a bug and propagates.
 */
async function toolResult(
  home: HomePaths,
  body: () => { text: string; structured: object } | Promise<{ text: string; structured: object }>,
): Promise<CallToolResult> {
  try {
    const { text, structured } = await body();
    return { content: [{ type: 'text', text }], structuredContent: structured as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof SyndicateError)) throw error;
    const lines = [`${error.message} (${error.code})`, ...(error.hint === undefined ? [] : [`hint: ${commandsForHome(error.hint, home)}`]), ...detailLines(error.details, home)];
    return { content: [{ type: 'text', text: lines.join('\n') }], isError: true };
  }
}

/**
 * What a refusal's or failure's details say that its message does not, as `run --json` gives
 * them: what made the request as sensitive as it is (the findings' reasons, never the text they
 * found), and the evidence that recorded it (the gateway gives its request id in a header).
 */
function detailLines(details: Record<string, unknown> | undefined, home: HomePaths): string[] {
  if (details === undefined) return [];
  const lines: string[] = [];
  const { sensitivity, findings, evidenceId, attempts } = details;
  // The findings at the request's level: those below it did not make it so (nor did a `sensitivity` raise, which has none).
  const decisive = Array.isArray(findings) ? findings.filter((finding: unknown) => stringMember(finding, 'level') === sensitivity) : [];
  const reasons = [...new Set(decisive.flatMap((finding: unknown) => stringMember(finding, 'reason') ?? []))];
  if (typeof sensitivity === 'string' && reasons.length > 0) lines.push(`classified ${sensitivity}: ${reasons.join('; ')}`);
  // Every attempt's row when the walk made attempts (the last is `evidenceId`), else the refusal's own.
  const attempted = Array.isArray(attempts) ? attempts.flatMap((attempt: unknown) => stringMember(attempt, 'evidenceId') ?? []) : [];
  const recorded = attempted.length > 0 ? attempted : typeof evidenceId === 'string' ? [evidenceId] : [];
  if (recorded.length > 0) lines.push(`evidence: ${recorded.map((id) => commandsForHome(`\`syndicate evidence show ${id}\``, home)).join(', ')}`);
  return lines;
}

function stringMember(value: unknown, name: string): string | undefined {
  return isRecord(value) ? stringField(value, name) : undefined;
}

/** The arguments a stored session decides or cannot keep, as `complete` and `route_explain` were given them. */
function sessionOverrides(
  input: { provider?: string | undefined; model?: string | undefined; system?: string | undefined },
  parts: PromptRequestParts,
): { provider?: string; model?: string; system?: string; tools: boolean } {
  return {
    ...(input.provider === undefined ? {} : { provider: input.provider }),
    ...(input.model === undefined ? {} : { model: input.model }),
    ...(input.system === undefined ? {} : { system: input.system }),
    tools: parts.settings.tools !== undefined,
  };
}

/**
 * The images and settings the prompt options of `complete` or `route_explain` send, checked as
 * `run` checks its flags (the same image reader, schema and tools readers and messages), each
 * error naming the argument at fault.
 */
async function promptParts(input: PromptOptionArguments): Promise<PromptRequestParts> {
  if (input.schema !== undefined && input.jsonMode === true) {
    throw new UsageError('`schema` and `jsonMode` both ask for the form of the answer', { hint: 'give `schema` for an answer that follows it, or `jsonMode: true` for any JSON object' });
  }
  return promptRequestParts(
    {
      images: (input.images ?? []).map((image, index) => ({ bytes: Buffer.from(image.data, 'base64'), name: `\`images[${index}]\``, declaredType: image.mimeType })),
      ...(input.maxTokens === undefined ? {} : { maxTokens: input.maxTokens }),
      ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
      ...(input.schema === undefined ? (input.jsonMode === true ? { responseFormat: { type: 'json_object' } as const } : {}) : { responseFormat: jsonSchemaFormat(input.schema, 'answer', '`schema`') }),
      ...(input.reasoningEffort === undefined ? {} : { reasoningEffort: input.reasoningEffort }),
      ...(input.tools === undefined ? {} : { tools: { definitions: toolDefinitionsFrom(input.tools, '`tools`'), source: '`tools`' } }),
      ...(input.toolChoice === undefined ? {} : { toolChoice: input.toolChoice }),
    },
    MCP_PROMPT_OPTION_NAMES,
  );
}

/** A prompt's text and its images' sizes, as the bound on the whole request measures them. */
function completePrompt(text: string, parts: PromptRequestParts): SizedMessage {
  return { text, images: sizedImages(parts.images) };
}

/**
 * `complete`'s bound on the whole request without a stored session (`refuseRequestOverLimit`), the
 * hint naming its `images`; `route_explain` refuses what `complete` would.
 */
function refuseCompleteOverLimit(system: string | undefined, prompt: string, parts: PromptRequestParts): void {
  refuseRequestOverLimit({ systemPrompt: system ?? null, prompt: completePrompt(prompt, parts) }, '`images`');
}

/**
 * A `complete` result's text content: the answer — with the model's refusal when it refused, what
 * it answered (`refusal` in the structured content says it was one) —, then one line per tool call
 * (`tool call NAME ARGUMENTS`, as `run` prints them).
 */
/**
 * The note after the text of a session turn the provider stopped for its content, which the session
 * does not keep (`keptInSession`), in the words of `run`'s warning.
 */
function notKeptNote(response: Pick<CanonicalResponse, 'rawFinishReason'>, session: string): string {
  return `[${contentStopSentence(response)}: the turn is not kept in session ${session}; rephrase the prompt]`;
}

function answerText(response: Pick<CanonicalResponse, 'text' | 'refusal' | 'toolCalls'>): string {
  const answer = response.text + (response.refusal ?? '');
  return [...(answer === '' ? [] : [answer]), ...response.toolCalls.map((call) => `tool call ${call.name} ${call.arguments}`)].join('\n');
}

/** How long a client's reason for a cancellation may be in the evidence. */
const CLIENT_REASON_CHARACTERS = 200;

/**
 * The reason a client gave with `notifications/cancelled` (the SDK client's request timeout says
 * `Request timed out`), for the evidence: an operator sees a host's timeout apart from an agent
 * changing its mind. Empty when it gave none (the server closing aborts without one).
 */
function clientReason(reason: unknown): string {
  if (typeof reason !== 'string') return '';
  const line = reason.replace(/\s+/g, ' ').trim();
  if (line === '') return '';
  return ` (${line.length > CLIENT_REASON_CHARACTERS ? `${line.slice(0, CLIENT_REASON_CHARACTERS)}…` : line})`;
}

interface ProgressReporter {
  say(message: string): void;
  /** A stream part arrived: the answer (its text, or a tool call's arguments) or the reasoning before it grew. */
  arrived(part: StreamPart): void;
  /** The call ended: no more notifications. */
  stop(): void;
}

/**
 * Progress notifications for a call whose client sent a progress token; undefined otherwise. A
 * reasoning model thinks for a while before its answer: its reasoning is progress too, so a
 * client that resets its timeout on progress does not cancel a call that is thinking; nor one
 * waiting for its first token (a model loading, a long context read), told every `heartbeatMs`
 * that nothing else was sent.
 */
function progressReporter(extra: Extra, heartbeatMs: number): ProgressReporter | undefined {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  let progress = 0;
  let answered = 0;
  let reasoned = 0;
  let lastSentAt = 0;
  let attemptStartedAt = Date.now();
  let heartbeat: NodeJS.Timeout | undefined;
  let stopped = false;
  const state = (): string =>
    answered === 0 && reasoned > 0
      ? `thinking: ${reasoned} characters`
      : answered === 0
        ? `waiting for the first token: ${Math.round((Date.now() - attemptStartedAt) / 1000)} s`
        : `${answered} characters`;
  const send = (message: string): void => {
    if (stopped) return;
    lastSentAt = Date.now();
    // A client that went away cannot be told; the call itself notices through its signal.
    extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, message } }).catch(() => {});
    clearTimeout(heartbeat);
    heartbeat = setTimeout(() => {
      // Progress must increase with every notification.
      progress += 1;
      send(state());
    }, heartbeatMs);
    heartbeat.unref();
  };
  const grow = (characters: number): void => {
    // Progress must increase with every notification: a part that adds nothing sends none.
    if (characters === 0) return;
    progress += characters;
    if (Date.now() - lastSentAt >= PROGRESS_INTERVAL_MS) send(state());
  };
  return {
    say: (message) => {
      progress += 1;
      attemptStartedAt = Date.now();
      send(message);
    },
    arrived: (part) => {
      const answer = part.type === 'text-delta' || part.type === 'refusal-delta' ? part.text.length : part.type === 'tool-call-delta' ? part.argumentsDelta.length : 0;
      const reasoning = part.type === 'reasoning-delta' ? part.text.length : 0;
      answered += answer;
      reasoned += reasoning;
      grow(answer + reasoning);
    },
    stop: () => {
      stopped = true;
      clearTimeout(heartbeat);
    },
  };
}

/** One line per hold for a tool's text, as `route --explain` and `provider list` print them. */
function heldBackLines(holds: readonly HoldReport[]): string[] {
  return holds.map((hold) => `held back: ${describeHold(hold)}`);
}
