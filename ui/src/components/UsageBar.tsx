import { formatBytes, formatPrice, tierName, usageLevel } from "../format";
import type { UsageView } from "../types";

interface Props {
  usage: UsageView | null;
  onOpenSettings: () => void;
}

/** Always visible in the sidebar: used / limit per storage class, with the API's warnings. */
export function UsageBar({ usage, onOpenSettings }: Props) {
  if (usage === null) {
    return (
      <div className="usage" aria-busy="true" data-testid="usage">
        <h3>Cloud storage</h3>
        <div className="meter skeleton" />
      </div>
    );
  }
  if (usage.state === "not_connected") {
    return (
      <div className="usage" data-testid="usage" data-state="not_connected">
        <h3>Cloud storage <span>Not connected</span></h3>
        <div className="note">{usage.reason}</div>
        <button className="btn" style={{ marginTop: 8 }} onClick={onOpenSettings}>Connect…</button>
      </div>
    );
  }
  if (usage.state === "unreachable") {
    return (
      <div className="usage" data-testid="usage" data-state="unreachable">
        <h3>Cloud storage <span>Offline</span></h3>
        <div className="note">{usage.message}</div>
      </div>
    );
  }
  const u = usage.usage;
  const level = usageLevel(u.used_bytes, u.limit_bytes);
  const pct = (bytes: number) => `${Math.min(100, (bytes / Math.max(1, u.limit_bytes)) * 100)}%`;
  const standard = u.classes.find((c) => c.storage_class === "STANDARD")?.bytes ?? 0;
  const ia = u.classes.find((c) => c.storage_class === "INFREQUENT_ACCESS")?.bytes ?? 0;
  const other = Math.max(0, u.used_bytes - standard - ia);
  return (
    <div className={`usage ${level}`} data-testid="usage" data-state="connected" data-used={u.used_bytes} data-limit={u.limit_bytes}>
      <h3>{tierName(u.plan.tier)} plan <span>{formatBytes(u.used_bytes)} of {formatBytes(u.limit_bytes)}</span></h3>
      <div
        className="meter"
        role="meter"
        aria-label="Cloud storage used"
        aria-valuemin={0}
        aria-valuemax={u.limit_bytes}
        aria-valuenow={u.used_bytes}
        aria-valuetext={`${u.percent_used.toFixed(1)} % used`}
      >
        <div className="standard" style={{ width: pct(standard + other) }} />
        <div className="ia" style={{ width: pct(ia) }} />
        <div className="reserved" style={{ width: pct(u.reserved_bytes) }} />
      </div>
      <div className="legend">
        <span><i style={{ background: "var(--accent)" }} />Standard {formatBytes(standard + other)}</span>
        <span><i style={{ background: "#8a6ff0" }} />Infrequent {formatBytes(ia)}</span>
        {u.reserved_bytes > 0 && <span>Uploading {formatBytes(u.reserved_bytes)}</span>}
      </div>
      {level === "full" ? (
        <div className="alert" role="alert">
          <strong>Your storage is full.</strong> New photos won't upload until you make room
          {usage.upgrade ? <> or upgrade to <strong>{tierName(usage.upgrade.tier)}</strong> ({formatBytes(usage.upgrade.limit_bytes)} for {formatPrice(usage.upgrade.monthly_price_cents)}/month).</> : <>. Contact us about extra capacity.</>}
        </div>
      ) : u.warning ? (
        <div className="alert" role="status">
          You've used {Math.round(u.percent_used)} % of your {formatBytes(u.limit_bytes)}. Uploads stop at the cap.
          {usage.upgrade && <> <strong>{tierName(usage.upgrade.tier)}</strong> gives you {formatBytes(usage.upgrade.limit_bytes)} for {formatPrice(usage.upgrade.monthly_price_cents)}/month.</>}
        </div>
      ) : null}
    </div>
  );
}
