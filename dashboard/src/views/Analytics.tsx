import { lazy, Suspense, useMemo, useState } from "react";
import type { ChartConfiguration } from "chart.js";
import type { Api } from "@switchboard/client";
import { duration, number } from "../format";
import { errorText, useLoad } from "../hooks";
import { LoadState } from "./Admin";

// Chart.js is loaded with the analytics page only: the first page stays small.
const ChartView = lazy(() => import("./Chart").then((module) => ({ default: module.ChartView })));

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function useRange() {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 6 * 86_400_000)));
  const [to, setTo] = useState(isoDay(today));
  const picker = (
    <fieldset className="range">
      <legend>Date range (UTC)</legend>
      <label>
        From
        <input type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        To
        <input type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
      </label>
    </fieldset>
  );
  return { from, to, picker };
}

const COLOURS = { customer: "#1f5fa8", agent: "#b5470b", admin: "#5b6b2d" };

/** What a chart shows when its range has nothing to draw: words, not empty axes. */
function NoData({ what }: { what: string }) {
  return (
    <p className="no-data" role="note">
      No {what} in this range yet.
    </p>
  );
}

export function Analytics({ api }: { api: Api }) {
  const { from, to, picker } = useRange();
  const [performance] = useLoad(() => api.get("/admin/chat-dashboard/agent-performance", { query: { from, to } }), [api, from, to]);
  const [satisfaction] = useLoad(() => api.get("/admin/chat-dashboard/satisfaction", { query: { from, to } }), [api, from, to]);
  const [messages] = useLoad(() => api.get("/admin/chat-dashboard/message-analytics", { query: { from, to } }), [api, from, to]);
  const [daily] = useLoad(() => api.get("/admin/reports/daily", { query: { from, to } }), [api, from, to]);
  const ready = <T,>(load: { state: string; data?: T }) => (load.state === "ready" ? load.data : undefined);
  const team = ready(performance)?.team;
  const csat = ready(satisfaction);
  const totals = ready(messages)?.totals;
  return (
    <section aria-labelledby="analytics-title" className="analytics">
      <h1 id="analytics-title">Analytics</h1>
      {picker}
      <h2 className="sr-only">Headline figures</h2>
      <dl className="cards headline" data-testid="headline">
        <div className="card"><dt>Sessions created</dt><dd>{team ? team.sessions_created : "…"}</dd></div>
        <div className="card"><dt>Sessions closed</dt><dd>{team ? team.sessions_closed : "…"}</dd></div>
        <div className="card"><dt>First response (median)</dt><dd>{team ? duration(team.first_response.median_seconds) : "…"}</dd></div>
        <div className="card"><dt>Handle time (median)</dt><dd>{team ? duration(team.handle.median_seconds) : "…"}</dd></div>
        <div className="card"><dt>CSAT</dt><dd>{csat ? (csat.csat.average == null ? "—" : `${number(csat.csat.average, 2)} / 5`) : "…"}</dd></div>
        <div className="card"><dt>Messages</dt><dd>{totals ? totals.customer + totals.agent + totals.admin : "…"}</dd></div>
        <div className="card"><dt>Transfers</dt><dd>{team ? team.transfers : "…"}</dd></div>
      </dl>
      {performance.state === "error" && <p className="error" role="alert">Could not load agent performance: {performance.message}</p>}
      <div className="charts">
        <div>
          <h2>Sessions per day</h2>
          <LoadState load={daily}>
            {(report) =>
              report.days.every((d) => d.figures.sessions_created === 0 && d.figures.sessions_closed === 0) ? (
                <NoData what="sessions" />
              ) : (
                <Suspense fallback={<p role="status">Loading chart…</p>}>
                  <DailyChart
                    days={report.days.map((d) => ({
                      day: d.day,
                      created: d.figures.sessions_created,
                      closed: d.figures.sessions_closed,
                      response: d.figures.first_response.median_seconds ?? null,
                    }))}
                  />
                </Suspense>
              )
            }
          </LoadState>
        </div>
        <div>
          <h2>Agents</h2>
          <LoadState load={performance}>
            {(report) =>
              report.agents.length === 0 ? (
                <NoData what="agent activity" />
              ) : (
                <Suspense fallback={<p role="status">Loading chart…</p>}>
                  <RankingChart agents={report.agents.map((a) => ({ id: a.agent_id, handled: a.handled, response: a.first_response.median_seconds ?? null }))} />
                </Suspense>
              )
            }
          </LoadState>
        </div>
        <div>
          <h2>Satisfaction</h2>
          <LoadState load={satisfaction}>
            {(report) =>
              report.csat.rated === 0 ? (
                <NoData what="ratings" />
              ) : (
                <>
                  <p className="small">
                    {report.csat.rated} ratings of {report.sessions_closed} closed sessions.
                  </p>
                  <Suspense fallback={<p role="status">Loading chart…</p>}>
                    <ChartView
                      testId="chart-csat"
                      label="Average CSAT by day"
                      config={{
                        type: "line",
                        data: {
                          labels: report.days.map((d) => d.day),
                          datasets: [{ label: "Average CSAT", data: report.days.map((d) => d.average ?? null), borderColor: "#1f5fa8", spanGaps: true }],
                        },
                        options: { scales: { y: { min: 1, max: 5 } } },
                      }}
                    />
                  </Suspense>
                </>
              )
            }
          </LoadState>
        </div>
        <div>
          <h2>Messages</h2>
          <LoadState load={messages}>
            {(report) =>
              report.totals.customer + report.totals.agent + report.totals.admin === 0 ? (
                <NoData what="messages" />
              ) : (
                <>
                  <p className="small">
                    {report.totals.customer} from customers, {report.totals.agent} from agents, {report.totals.admin} from admins.
                  </p>
                  <Suspense fallback={<p role="status">Loading chart…</p>}>
                    <VolumeChart hours={report.by_hour} />
                  </Suspense>
                </>
              )
            }
          </LoadState>
        </div>
      </div>
    </section>
  );
}

function RankingChart({ agents }: { agents: { id: string; handled: number; response: number | null }[] }) {
  const config = useMemo<ChartConfiguration>(() => {
    const ranked = [...agents].sort((a, b) => b.handled - a.handled);
    return {
      type: "bar",
      data: {
        labels: ranked.map((a) => a.id),
        datasets: [
          { label: "Sessions handled", data: ranked.map((a) => a.handled), backgroundColor: "#1f5fa8" },
          { label: "Median first response (s)", data: ranked.map((a) => a.response), backgroundColor: "#b5470b" },
        ],
      },
    };
  }, [agents]);
  return <ChartView testId="chart-agents" label="Agents ranked by sessions handled, with median first response" config={config} />;
}

function DailyChart({ days }: { days: { day: string; created: number; closed: number; response: number | null }[] }) {
  const config = useMemo<ChartConfiguration>(
    () => ({
      type: "bar",
      data: {
        labels: days.map((d) => d.day),
        datasets: [
          { type: "bar", label: "Sessions created", data: days.map((d) => d.created), backgroundColor: "#1f5fa8", yAxisID: "y" },
          { type: "bar", label: "Sessions closed", data: days.map((d) => d.closed), backgroundColor: "#5b6b2d", yAxisID: "y" },
          { type: "line", label: "Median first response (s)", data: days.map((d) => d.response), borderColor: "#b5470b", yAxisID: "seconds", spanGaps: true },
        ],
      },
      options: { scales: { y: { beginAtZero: true }, seconds: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } },
    }),
    [days],
  );
  return <ChartView testId="chart-daily" label="Sessions per day and the median first response time" config={config} />;
}

function VolumeChart({ hours }: { hours: { hour: string; customer: number; agent: number; admin: number }[] }) {
  const config = useMemo<ChartConfiguration>(
    () => ({
      type: "bar",
      data: {
        labels: hours.map((h) => `${h.hour.slice(5, 10)} ${h.hour.slice(11, 13)}h`),
        datasets: (["customer", "agent", "admin"] as const).map((role) => ({
          label: role,
          data: hours.map((h) => h[role]),
          backgroundColor: COLOURS[role],
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true } } },
    }),
    [hours],
  );
  return <ChartView testId="chart-volume" label="Messages by hour (UTC), per sender role" config={config} />;
}

/** Saves text as a file the browser downloads. */
function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(url);
}

export function Reports({ api }: { api: Api }) {
  const { from, to, picker } = useRange();
  const [reports] = useLoad(() => api.get("/admin/reports", { query: { limit: 30 } }), [api]);
  const [note, setNote] = useState<string>();
  const csv = async (kind: "daily" | "conversations") => {
    setNote("Preparing…");
    try {
      const text =
        kind === "daily"
          ? await api.text("/admin/reports/daily", { query: { from, to, format: "csv" } })
          : await api.text("/admin/reports/conversations.csv", { query: { from, to } });
      download(`switchboard-${kind}-${from}-${to}.csv`, text, "text/csv");
      setNote(undefined);
    } catch (caught) {
      setNote(`Export failed: ${errorText(caught)}`);
    }
  };
  const pdf = async (id: string) => {
    try {
      const link = await api.get("/admin/reports/{report_id}/download", { path: { report_id: id } });
      window.location.assign(link.url);
    } catch (caught) {
      setNote(`Download failed: ${errorText(caught)}`);
    }
  };
  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <h2>CSV exports</h2>
      {picker}
      <div className="buttons">
        <button type="button" onClick={() => void csv("daily")}>Daily figures (CSV)</button>
        <button type="button" onClick={() => void csv("conversations")}>Conversations (CSV)</button>
      </div>
      {note && <p role="status">{note}</p>}
      <h2>Daily PDF reports</h2>
      <LoadState load={reports} empty={(page) => page.items.length === 0}>
        {(page) => (
          <ul className="reports">
            {page.items.map((report) => (
              <li key={report.id}>
                <button type="button" className="link" onClick={() => void pdf(report.id)}>
                  {report.day} ({Math.round(report.size_bytes / 1024)} KiB)
                </button>
              </li>
            ))}
          </ul>
        )}
      </LoadState>
    </section>
  );
}
