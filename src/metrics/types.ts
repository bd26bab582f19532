/** One measured value before it gets a timestamp and a retention. */
export interface MetricValue {
  name: string;
  labels: Record<string, string>;
  value: number;
}
