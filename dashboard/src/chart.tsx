import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from './format';

export interface ChartSeries {
  label: string;
  color: string;
  points: { start: string; quantity: number }[];
}

/**
 * A time series chart (uPlot: a few tens of KB, canvas, fast with thousands of points). Buckets missing
 * from the API's answer (no traffic) are drawn as zero. The x axis is in the browser's zone. Totals are
 * also written out as text, for screen readers and for anyone who wants the number.
 */
export function TimeChart({
  title,
  series,
  buckets = [],
  stacked = false,
  height = 220,
}: {
  title: string;
  series: ChartSeries[];
  /** Every bucket start of the range (seconds): buckets the API left out (no traffic) are drawn as zero. */
  buckets?: number[];
  stacked?: boolean;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const seen = series.flatMap((s) => s.points.map((p) => Date.parse(p.start) / 1000));
  const hasTraffic = seen.length > 0;
  const times = [...new Set([...buckets, ...seen])].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byTime = new Map(s.points.map((p) => [Date.parse(p.start) / 1000, p.quantity]));
    return times.map((t) => byTime.get(t) ?? 0);
  });
  if (stacked) for (let i = 1; i < columns.length; i++) columns[i] = columns[i].map((v, j) => v + columns[i - 1][j]);
  const key = JSON.stringify([times, columns, series.map((s) => s.label)]);

  useEffect(() => {
    const el = box.current;
    if (!el || !hasTraffic) return;
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => formatNumber(t)) }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: stacked ? s.color + '55' : undefined,
            width: 2,
            points: { show: times.length <= 62 },
          })),
        ],
      },
      [times, ...columns],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height, hasTraffic]);

  const totals = series.map((s) => ({ label: s.label, total: s.points.reduce((n, p) => n + p.quantity, 0) }));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      {!hasTraffic ? <p className="empty">No traffic in this range.</p> : <div ref={box} role="img" aria-label={`${title}: chart`} />}
      <dl className="totals" data-testid="chart-totals">
        {totals.map((t) => (
          <div key={t.label} data-series={t.label}>
            <dt>{t.label}</dt>
            <dd data-value={t.total}>{formatNumber(t.total)}</dd>
          </div>
        ))}
      </dl>
    </figure>
  );
}
