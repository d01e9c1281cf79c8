import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

export type Loaded<T> = { status: 'loading' } | { status: 'error'; error: ApiError } | { status: 'ok'; data: T };

export function asApiError(err: unknown): ApiError {
  return err instanceof ApiError ? err : new ApiError(0, 'CLIENT_ERROR', err instanceof Error ? err.message : String(err), null);
}

/** Loads once per change of `deps`; `reload` loads again. Answers of superseded loads are ignored. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): [Loaded<T>, () => void] {
  const [state, setState] = useState<Loaded<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    const id = ++latest.current;
    setState((s) => (s.status === 'ok' ? s : { status: 'loading' }));
    load().then(
      (data) => id === latest.current && setState({ status: 'ok', data }),
      (err) => id === latest.current && setState({ status: 'error', error: asApiError(err) }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return [state, useCallback(() => setTick((t) => t + 1), [])];
}

export interface Paged<T> {
  state: Loaded<{ data: T[]; nextCursor: string | null }>;
  page: number;
  next: (() => void) | null;
  previous: (() => void) | null;
  reload: () => void;
}

/** Cursor pagination: remembers the cursors of the pages before, so Previous works without offsets. */
export function usePaged<T>(fetchPage: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>, deps: readonly unknown[]): Paged<T> {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setCursors([undefined]), deps); // eslint-disable-line react-hooks/exhaustive-deps
  const cursor = cursors[cursors.length - 1];
  const [state, reload] = useLoad(() => fetchPage(cursor), [...deps, cursor]);
  const nextCursor = state.status === 'ok' ? state.data.nextCursor : null;
  return {
    state,
    page: cursors.length,
    next: nextCursor ? () => setCursors((c) => [...c, nextCursor]) : null,
    previous: cursors.length > 1 ? () => setCursors((c) => c.slice(0, -1)) : null,
    reload,
  };
}

/** Runs an action with a busy flag and keeps its error for display. */
export function useAction(): { busy: boolean; error: ApiError | null; run: <T>(action: () => Promise<T>) => Promise<T | undefined>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (err) {
      setError(asApiError(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: useCallback(() => setError(null), []) };
}
