// Formatting and small pure rules the screens share (unit-tested in format.test.ts).

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** 1536 → "1.5 KB"; binary multiples, labelled the way Finder and Explorer users expect. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  const units = ["bytes", "KB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, "")} ${units[unit]}`;
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
