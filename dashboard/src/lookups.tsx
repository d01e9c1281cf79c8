import { useEffect, useState } from 'react';
import { api, call, type ListQuery, type Schemas } from './api';
import { useLoad } from './hooks';
import { href } from './router';
import { useSession } from './session';

/** Plans by id, for names and selects (empty without plans:read). */
export function usePlans() {
  const { can } = useSession();
  return useLoad(async () => {
    if (!can('plans:read')) return [];
    const plans: Schemas['PlanDto'][] = [];
    let cursor: string | undefined;
    // Operators have few plans; five pages of 100 is far more than any price list.
    for (let i = 0; i < 5; i++) {
      const query: ListQuery<'/v1/admin/plans'> = { limit: 100, cursor };
      const page = await call(api.GET('/v1/admin/plans', { params: { query } }));
      plans.push(...page.data);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return plans;
  }, []);
}

export type NameKind = 'consumer' | 'key';

/** What a list shows instead of an id: a name, and for a key the start of its plaintext. */
export interface Named {
  name: string;
  start?: string;
  consumerId?: string | null;
}

/**
 * Names of ids that lists carry (billing periods name consumers, audit entries name keys), read through
 * the existing get routes. Each id is asked once per tab (a renamed resource is forgotten by the form
 * that renamed it), at most six at a time, so a page of 25 rows costs a handful of requests once.
 */
const cache: Record<NameKind, Map<string, Promise<Named | null>>> = { consumer: new Map(), key: new Map() };
const queue: (() => void)[] = [];
let running = 0;

function limited<T>(task: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const start = () => {
      running++;
      task()
        .then(resolve, reject)
        .finally(() => {
          running--;
          queue.shift()?.();
        });
    };
    if (running < 6) start();
    else queue.push(start);
  });
}

function lookup(kind: NameKind, id: string): Promise<Named | null> {
  let found = cache[kind].get(id);
  if (!found) {
    const params = { params: { path: { id } } };
    found = limited(() =>
      kind === 'consumer'
        ? call(api.GET('/v1/admin/consumers/{id}', params)).then((c): Named => ({ name: c.name }))
        : call(api.GET('/v1/admin/keys/{id}', params)).then((k): Named => ({ name: k.name, start: k.start, consumerId: k.consumerId })),
    ).catch(() => null);
    cache[kind].set(id, found);
  }
  return found;
}

export function forgetName(kind: NameKind, id: string): void {
  cache[kind].delete(id);
}

/** The names of `ids` once known (an id the key may not read, or that no longer exists, stays without one). */
export function useNames(kind: NameKind, ids: readonly (string | null | undefined)[]): { names: Map<string, Named | null>; done: boolean } {
  const { can } = useSession();
  const allowed = can(kind === 'consumer' ? 'consumers:read' : 'keys:read');
  const wanted = [...new Set(ids.filter((id): id is string => !!id))].sort();
  const signature = wanted.join(',');
  const [state, setState] = useState<{ signature: string; names: Map<string, Named | null> }>({ signature: '', names: new Map() });
  useEffect(() => {
    if (!allowed || wanted.length === 0) {
      setState({ signature, names: new Map() });
      return;
    }
    let live = true;
    void Promise.all(wanted.map(async (id) => [id, await lookup(kind, id)] as const)).then((pairs) => live && setState({ signature, names: new Map(pairs) }));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind, signature, allowed]);
  return { names: state.names, done: !allowed || state.signature === signature };
}

/**
 * A resource as people read it: its name, linked, with the id on hover and in small type after it for
 * copying. Without a name (not readable, or deleted) the id itself.
 */
export function NameLink({ kind, id, named, done }: { kind: NameKind; id: string; named: Named | null | undefined; done: boolean }) {
  const target = href(kind === 'consumer' ? 'consumers' : 'keys', id);
  if (!done) return <span aria-busy="true" className="muted">…</span>;
  if (!named) {
    return (
      <a href={target}>
        <code>{id}</code>
      </a>
    );
  }
  return (
    <a href={target} title={id} className="named">
      {named.name}
      {named.start ? <small> {named.start}…</small> : null}
    </a>
  );
}

export function useConsumerNames(ids: readonly (string | null | undefined)[]) {
  return useNames('consumer', ids);
}
