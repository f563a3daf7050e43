/**
 * The policy file `syndicate init` writes. Placeholder until the routing issue fills it in:
 * it already encodes the default sensitivity map so the file is meaningful from day one.
 */
export const DEFAULT_POLICY_YAML = `# syndicate policy (apiVersion syndicate/v1, kind Policy)
# Which provider classes may receive each sensitivity level.
apiVersion: syndicate/v1
kind: Policy
sensitivity:
  public: [local, approved_hosted, restricted_hosted]
  internal: [local, approved_hosted]
  confidential: [local]
  restricted: [local]
`;
