/**
 * The description `engine serve --register` writes in its provider record, and the model file read
 * back from it: what says how to serve that record's model again once the engine is down.
 */
export function embeddedRecordDescription(modelPath: string, backend: string): string {
  return `syndicate engine serve: ${modelPath} (node-llama-cpp, ${backend})`;
}

/** The model file an `engine serve --register` description names; undefined for any other description. */
export function servedModelPath(description: string | undefined): string | undefined {
  return /^syndicate engine serve: (.+) \(node-llama-cpp, [^()]*\)$/.exec(description ?? '')?.[1];
}
