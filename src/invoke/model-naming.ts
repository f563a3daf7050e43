/**
 * How a surface's user names a model, for the hint of a model nothing serves: how they let the
 * policy choose, and what lists the models they may name. The surface decides; the list is the same.
 */
export interface ModelNaming {
  /** Followed by "to let the policy choose", e.g. `send model "auto"`. */
  auto: string;
  /** Where the models are listed, a clause of its own (`` `syndicate provider list` lists them ``). */
  listing: string;
}

/** Gateway clients send a model name, listed by `GET /v1/models`; one that cannot change it can be given an alias. */
export const GATEWAY_MODEL_NAMING: ModelNaming = {
  auto: 'send model "auto"',
  listing: '`syndicate provider list` and GET /v1/models list them (a client that cannot change its model name: add the name under `aliases:` of a model in its provider record)',
};

/** The CLI (`run`, `embed`, `route`): `--model`, whose default is `auto`. */
export const CLI_MODEL_NAMING: ModelNaming = { auto: 'name no model (`--model auto`, the default)', listing: '`syndicate provider list` lists them' };

/** MCP agents: the `model` argument of `complete` and `route_explain`, the models listed by the `providers` tool. */
export const MCP_MODEL_NAMING: ModelNaming = { auto: 'leave `model` out (or send "auto")', listing: 'the `providers` tool lists them' };
