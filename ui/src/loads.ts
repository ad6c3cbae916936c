// Loading several things side by side without losing a failure: each load says
// in words what it fetches, and one message names every one that failed.
import { errorMessage } from "./api";

/** One thing to fetch ("the folder list") and where its result goes. */
export interface Load<T> {
  what: string;
  run: () => Promise<T>;
  apply: (value: T) => void;
}

/** Helps type a list of loads of different result types. */
export function load<T>(what: string, run: () => Promise<T>, apply: (value: T) => void): Load<unknown> {
  return { what, run, apply: apply as (value: unknown) => void };
}

/** A list in words: "a", "a and b", "a, b and c". */
function words(items: string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/**
 * The message for loads that failed, naming each, the first reason, and what
 * the user can do (`retry`); `null` when none failed. What loaded before stays shown.
 */
export function loadFailure(failed: { what: string; error: unknown }[], retry: string): string | null {
  if (failed.length === 0) return null;
  const reason = errorMessage(failed[0].error).replace(/[.\s]+$/, "");
  return `Could not load ${words(failed.map((f) => f.what))}: ${reason}. ${retry}`;
}

/** Run every load; each success is applied as it arrives. Resolves to the failure message, if any. */
export async function loadAll(loads: Load<unknown>[], retry: string): Promise<string | null> {
  const results = await Promise.allSettled(loads.map((l) => l.run().then(l.apply)));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ what: loads[i].what, error: r.reason }] : []));
  return loadFailure(failed, retry);
}
