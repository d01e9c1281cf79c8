import { createContext, useContext } from 'react';
import type { Schemas } from './api';

export type AdminMe = Schemas['AdminMeDto'];

/** Whether `held` grants `needed`: exact, `*`, or `resource:*` (as the API decides). */
export function grants(held: readonly string[], needed: string): boolean {
  const resource = needed.split(':')[0];
  return held.some((s) => s === '*' || s === needed || s === `${resource}:*`);
}

export interface Session {
  me: AdminMe;
  can: (scope: string) => boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
