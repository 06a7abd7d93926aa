/** Small pieces every page uses. */
import { useEffect, useState } from 'preact/hooks';
import type { BuildStatus, Platform } from '@buildmesh/protocol/browser';

export function StatusBadge({ status, cancelRequested }: { status: BuildStatus; cancelRequested?: boolean }) {
  const label = cancelRequested && status === 'running' ? 'canceling' : status.replace('_', ' ');
  return (
    <span class={`badge status-${status}`} data-status={status}>
      <span class="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

const PLATFORM_NAME: Record<Platform, string> = { android: 'Android', ios: 'iOS', web: 'Web' };
export function PlatformTag({ platform }: { platform: Platform }) {
  return <span class={`platform platform-${platform}`}>{PLATFORM_NAME[platform]}</span>;
}

/** Re-renders every `ms` (running durations, "3 min ago"). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Calls `fn` now and every `ms` while the page is visible. */
export function usePoll(fn: () => Promise<void> | void, ms: number, deps: unknown[]): void {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      if (stopped) return;
      if (document.visibilityState === 'visible') await Promise.resolve(fn()).catch(() => undefined);
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

export function Empty({ title, children }: { title: string; children?: preact.ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="muted">{children}</p>}
    </div>
  );
}

export function Copyable({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="ghost small"
      aria-label={label}
      onClick={async () => {
        await navigator.clipboard.writeText(text);
        setDone(true);
        setTimeout(() => setDone(false), 1200);
      }}
    >
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}
