import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Usage, UsageView } from "../types";
import { UsageBar } from "./UsageBar";

const GIB = 2 ** 30;
const usage = (used: number, limit: number, warning: Usage["warning"] = null): Usage => ({
  plan: { tier: "FREE", add_ons: [] },
  used_bytes: used,
  reserved_bytes: 0,
  limit_bytes: limit,
  percent_used: (used / limit) * 100,
  warning,
  classes: [
    { storage_class: "STANDARD", bytes: used * 0.75, object_count: 10, percent_of_limit: 0, monthly_cost_usd: 0 },
    { storage_class: "INFREQUENT_ACCESS", bytes: used * 0.25, object_count: 3, percent_of_limit: 0, monthly_cost_usd: 0 },
  ],
  trash_bytes: 0,
  monthly_storage_cost_usd: 0,
  top_folders: [],
});
const starter = { tier: "STARTER" as const, limit_bytes: 100 * GIB, monthly_price_cents: 900 };

afterEach(cleanup);

describe("UsageBar", () => {
  it("says it is not connected, with a way to connect, and shows no numbers", () => {
    const open = vi.fn();
    render(<UsageBar usage={{ state: "not_connected", reason: "Pair this computer in Settings." }} onOpenSettings={open} />);
    expect(screen.getByText("Not connected")).toBeTruthy();
    expect(screen.queryByRole("meter")).toBeNull();
    screen.getByRole("button", { name: "Connect…" }).click();
    expect(open).toHaveBeenCalled();
  });

  it("shows used of limit per storage class without alerts below 80 %", () => {
    const view: UsageView = { state: "connected", api_url: "x", usage: usage(5 * GIB, 25 * GIB), upgrade: starter };
    render(<UsageBar usage={view} onOpenSettings={() => {}} />);
    expect(screen.getByText("5 GiB of 25 GiB")).toBeTruthy();
    expect(screen.getByRole("meter").getAttribute("aria-valuenow")).toBe(String(5 * GIB));
    expect(screen.getByText(/Standard 3.8 GiB/)).toBeTruthy();
    expect(screen.getByText(/Infrequent 1.3 GiB/)).toBeTruthy();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByRole("status")).toBeNull();
  });

  it("warns at the API's threshold and names the tier that fits", () => {
    const view: UsageView = { state: "connected", api_url: "x", usage: usage(21 * GIB, 25 * GIB, { threshold_percent: 80, message: "" }), upgrade: starter };
    const { container } = render(<UsageBar usage={view} onOpenSettings={() => {}} />);
    expect(container.firstElementChild!.className).toContain("warning");
    expect(screen.getByRole("status").textContent).toMatch(/You've used 84 % of your 25 GiB.*Starter gives you 100 GiB for \$9\/month/);
  });

  it("at the cap says uploads stopped and offers the upgrade", () => {
    const view: UsageView = { state: "connected", api_url: "x", usage: usage(25 * GIB, 25 * GIB, { threshold_percent: 95, message: "" }), upgrade: starter };
    render(<UsageBar usage={view} onOpenSettings={() => {}} />);
    expect(screen.getByRole("alert").textContent).toMatch(/Your storage is full.*upgrade to Starter \(100 GiB for \$9\/month\)/);
  });

  it("reports an unreachable API in words", () => {
    render(<UsageBar usage={{ state: "unreachable", api_url: "x", message: "Cannot reach x: connection refused" }} onOpenSettings={() => {}} />);
    expect(screen.getByText("Offline")).toBeTruthy();
    expect(screen.getByText(/connection refused/)).toBeTruthy();
  });
});
