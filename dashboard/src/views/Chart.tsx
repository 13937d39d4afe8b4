import { useEffect, useRef } from "react";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);

/** A Chart.js chart with a text alternative (the figures as a table for screen readers). */
export function ChartView({ config, label, testId }: { config: ChartConfiguration; label: string; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options } });
    return () => chart.destroy();
  }, [config]);
  const labels = (config.data.labels ?? []) as string[];
  return (
    <figure className="chart" data-testid={testId}>
      <div className="chart-box">
        <canvas ref={canvas} role="img" aria-label={label} />
      </div>
      <figcaption>{label}</figcaption>
      {/* A table is never smaller than its rows: the hidden box around it keeps it from
          stretching the page by its height. */}
      <div className="sr-only">
        <table>
          <thead>
            <tr>
              <th scope="col">Label</th>
              {config.data.datasets.map((set) => (
                <th scope="col" key={String(set.label)}>
                  {set.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {labels.map((row, index) => (
              <tr key={row}>
                <th scope="row">{row}</th>
                {config.data.datasets.map((set) => (
                  <td key={String(set.label)}>{String(set.data[index] ?? "")}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
