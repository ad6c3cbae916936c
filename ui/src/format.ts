// Formatting and small pure rules the screens share (unit-tested in format.test.ts).

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * Bytes in binary units with IEC symbols — B, KiB, MiB, GiB, TiB (1 MiB =
 * 1,048,576 bytes; plan caps are binary, Free = 25 GiB) — with one decimal,
 * dropped when it is 0: 1536 → "1.5 KiB", 25 GiB → "25 GiB", 12 → "12 B".
 * The same rules as `photopro_wire::units::format_bytes`, so the app, the CLI
 * and the daemon show the same text for the same bytes.
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  const units = ["KiB", "MiB", "GiB", "TiB"];
  if (bytes < 1024) return `${Math.floor(bytes)} B`;
  let unit = 0;
  while (unit < units.length - 1 && bytes >= 1024 ** (unit + 2)) unit++;
  let tenths = Math.round((bytes / 1024 ** (unit + 1)) * 10) / 10;
  if (tenths >= 1024 && unit < units.length - 1) {
    // 1023.96 MiB reads as "1 GiB", not "1024 MiB".
    unit++;
    tenths = Math.round((bytes / 1024 ** (unit + 1)) * 10) / 10;
  }
  return `${Number.isInteger(tenths) ? tenths.toFixed(0) : tenths.toFixed(1)} ${units[unit]}`;
}

/** A local capture time as the index stores it ("2025-01-31T18:04:05", or EXIF's "2025:01:31 18:04:05") → date parts, or null. */
export function parseExifDate(text: string | null | undefined): { year: number; month: number; day: number } | null {
  if (!text) return null;
  const match = /^(\d{4})[:-](\d{2})[:-](\d{2})/.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  return { year, month, day };
}

/** "31 Jan 2025" */
export function formatDay(text: string | null | undefined): string | null {
  const d = parseExifDate(text);
  return d ? `${d.day} ${MONTHS[d.month - 1]} ${d.year}` : null;
}

/** A shoot's dates, as short as is unambiguous: "3 Jan 2025", "3–5 Jan 2025", "30 Jan – 2 Feb 2025". */
export function formatDateRange(first: string | null, last: string | null): string | null {
  const a = parseExifDate(first);
  const b = parseExifDate(last) ?? a;
  if (!a || !b) return null;
  if (a.year === b.year && a.month === b.month && a.day === b.day) return formatDay(first);
  if (a.year === b.year && a.month === b.month) return `${a.day}–${b.day} ${MONTHS[a.month - 1]} ${a.year}`;
  if (a.year === b.year) return `${a.day} ${MONTHS[a.month - 1]} – ${b.day} ${MONTHS[b.month - 1]} ${a.year}`;
  return `${formatDay(first)} – ${formatDay(last)}`;
}

export function plural(count: number, one: string, many = one + "s"): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? one : many}`;
}

/** The usage bar's severity: the API's thresholds are 80 % and 95 %; 100 % is the cap. */
export type UsageLevel = "ok" | "warning" | "critical" | "full";
export function usageLevel(used: number, limit: number): UsageLevel {
  if (limit <= 0) return "full";
  const percent = (used / limit) * 100;
  if (percent >= 100) return "full";
  if (percent >= 95) return "critical";
  if (percent >= 80) return "warning";
  return "ok";
}

export function tierName(tier: string): string {
  return tier.charAt(0) + tier.slice(1).toLowerCase();
}

export function formatPrice(cents: number): string {
  return cents % 100 === 0 ? `$${cents / 100}` : `$${(cents / 100).toFixed(2)}`;
}

/** Unix seconds → "5 minutes ago" style, relative to `now` (ms). */
export function formatAgo(seconds: number | null, now = Date.now()): string | null {
  if (seconds == null) return null;
  const delta = Math.max(0, Math.round(now / 1000 - seconds));
  if (delta < 45) return "just now";
  if (delta < 90) return "a minute ago";
  if (delta < 3600) return `${Math.round(delta / 60)} minutes ago`;
  if (delta < 5400) return "an hour ago";
  if (delta < 86400) return `${Math.round(delta / 3600)} hours ago`;
  const days = Math.round(delta / 86400);
  return days === 1 ? "yesterday" : `${days} days ago`;
}
