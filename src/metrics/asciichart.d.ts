/** Minimal typing of asciichart 1.5 (the package ships none). */
declare module 'asciichart' {
  export interface PlotConfig {
    height?: number;
    offset?: number;
    padding?: string;
    colors?: string[];
    min?: number;
    max?: number;
    format?: (value: number, index: number) => string;
  }
  export function plot(series: number[] | number[][], config?: PlotConfig): string;
  export const green: string;
  export const blue: string;
  export const reset: string;
  const asciichart: { plot: typeof plot; green: string; blue: string; reset: string };
  export default asciichart;
}
