import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatDateRange, formatDay, formatPrice, parseExifDate, usageLevel } from "./format";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"], [1, "1 B"], [1023, "1023 B"], [1024, "1 KiB"], [1536, "1.5 KiB"], [10_000, "9.8 KiB"],
    [25 * 2 ** 30, "25 GiB"], [26_843_545_600, "25 GiB"], [2 * 2 ** 40, "2 TiB"], [1.5 * 2 ** 40, "1.5 TiB"],
    [157.4 * 2 ** 20, "157.4 MiB"], [200 * 2 ** 20, "200 MiB"], [2 ** 20 - 1, "1 MiB"], [2 ** 30 - 1, "1 GiB"],
    [-1, "–"],
  ])("%d → %s", (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe("dates", () => {
  it("parses EXIF local times and rejects junk", () => {
    expect(parseExifDate("2025:01:31 18:04:05")).toEqual({ year: 2025, month: 1, day: 31 });
    expect(parseExifDate("0000:00:00 00:00:00")).toBeNull();
    expect(parseExifDate(null)).toBeNull();
    expect(formatDay("2014:04:05 10:00:00")).toBe("5 Apr 2014");
    expect(parseExifDate("2016-06-23T16:31:59")).toEqual({ year: 2016, month: 6, day: 23 });
  });
  it.each([
    ["2025:01:03 10:00:00", "2025:01:03 18:00:00", "3 Jan 2025"],
    ["2025:01:03 10:00:00", "2025:01:05 18:00:00", "3–5 Jan 2025"],
    ["2025:01:30 10:00:00", "2025:02:02 18:00:00", "30 Jan – 2 Feb 2025"],
    ["2024:12:30 10:00:00", "2025:01:02 18:00:00", "30 Dec 2024 – 2 Jan 2025"],
  ])("range %s – %s", (a, b, text) => expect(formatDateRange(a, b)).toBe(text));
  it("has no range without dates", () => expect(formatDateRange(null, null)).toBeNull());
  it("says how long ago", () => {
    const now = 1_700_000_000_000;
    expect(formatAgo(now / 1000 - 10, now)).toBe("just now");
    expect(formatAgo(now / 1000 - 600, now)).toBe("10 minutes ago");
    expect(formatAgo(now / 1000 - 86400, now)).toBe("yesterday");
    expect(formatAgo(null, now)).toBeNull();
  });
});

describe("usage", () => {
  it("follows the API's thresholds", () => {
    expect(usageLevel(79, 100)).toBe("ok");
    expect(usageLevel(80, 100)).toBe("warning");
    expect(usageLevel(95, 100)).toBe("critical");
    expect(usageLevel(100, 100)).toBe("full");
    expect(usageLevel(0, 0)).toBe("full");
  });
  it("prints prices", () => {
    expect(formatPrice(900)).toBe("$9");
    expect(formatPrice(1950)).toBe("$19.50");
  });
});
