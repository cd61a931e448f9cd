import type { Measurement } from "./measure.ts";

const ROW = 46; // height of one bar's row
const LABEL = 96; // width of the store names' column
const BAR_MAX = 360; // width of the longest bar
const WIDTH = 820;
const TOP = 78; // room for the title
const BOTTOM = 48; // room for the footnote

/**
 * A horizontal bar chart of requests per second, one bar per store, written as plain SVG
 * (no charting library): the baseline in grey, the stores in blue, each bar labelled with
 * its numbers and its share of the baseline.
 */
export function barChartSvg(
  results: Measurement[],
  { title, subtitle, footnote }: { title: string; subtitle: string; footnote: string },
): string {
  const fastest = Math.max(...results.map((result) => result.requestsPerSec), 1);
  const baseline = results.find((result) => result.store === "none")?.requestsPerSec;
  const height = TOP + results.length * ROW + BOTTOM;

  const rows = results.map((result, index) => {
    const y = TOP + index * ROW;
    const width = Math.max(1, Math.round((result.requestsPerSec / fastest) * BAR_MAX));
    const share = baseline ? ` · ${Math.round((result.requestsPerSec / baseline) * 100)}%` : "";
    const label = `${result.requestsPerSec.toLocaleString("en-US")} req/s${share} · p50 ${result.p50Ms} ms · p99 ${result.p99Ms} ms`;
    const color = result.store === "none" ? "#9aa0a6" : "#1a73e8";
    return [
      `  <text x="${LABEL - 10}" y="${y + 22}" text-anchor="end" font-weight="600">${escapeXml(result.store)}</text>`,
      `  <rect x="${LABEL}" y="${y + 6}" width="${width}" height="24" rx="3" fill="${color}"/>`,
      `  <text x="${LABEL + width + 8}" y="${y + 22}">${escapeXml(label)}</text>`,
    ].join("\n");
  });

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="14" fill="#1d232a">
  <title>${escapeXml(title)}</title>
  <rect width="100%" height="100%" fill="#ffffff"/>
  <text x="16" y="28" font-size="18" font-weight="700">${escapeXml(title)}</text>
  <text x="16" y="52" fill="#5f6368">${escapeXml(subtitle)}</text>
${rows.join("\n")}
  <text x="16" y="${height - 18}" font-size="12" fill="#5f6368">${escapeXml(footnote)}</text>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
