/**
 * The subset of node-llama-cpp's API that syndicate uses, declared by hand: the package is not a
 * dependency (it is installed on demand by `syndicate engine install`, see runtime.ts), so its
 * own declarations are not available at compile time.
 */
export interface NodeLlamaCppModule {
  getLlama(options?: Record<string, unknown>): Promise<unknown>;
}
