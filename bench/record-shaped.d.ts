// Types of record-shaped.js, for the tests that import it (test/unit/classify/record-scaling.test.ts).
export function record(index: number): Record<string, string | number>;
export function jsonRecords(count: number): string;
export function csvRecords(count: number): string;
export function logLines(count: number): string;
export function pythonJsonRecords(count: number): string;
export function compactJsonRecords(count: number): string;
export function recordShaped(kind: 'json' | 'csv' | 'log', bytes: number): string;
