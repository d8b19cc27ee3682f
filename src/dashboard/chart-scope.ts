/** What the dashboard's throughput chart counts: every job's accepted units, or the shown job's. */
export const ChartScope = {
  All: 'all',
  Shown: 'shown',
} as const;
export type ChartScope = (typeof ChartScope)[keyof typeof ChartScope];
