/**
 * The llama.cpp backends the embedded engine knows, in one dependency-free module so the CLI can
 * offer them as option choices without loading the engine runtime.
 */

/** Backends `engine install --gpu` installs prebuilt binaries for (`cpu` is always installed). */
export const ENGINE_BACKENDS = ['cpu', 'cuda', 'vulkan', 'metal'] as const;
export type EngineBackend = (typeof ENGINE_BACKENDS)[number];

/** Backends `engine serve --gpu` accepts; `auto` lets node-llama-cpp pick the best one it has binaries for. */
export const ENGINE_GPU_CHOICES = ['auto', ...ENGINE_BACKENDS] as const;
export type EngineGpuChoice = (typeof ENGINE_GPU_CHOICES)[number];
