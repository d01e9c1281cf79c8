export * from './counter-store';
export * from './memory-counter.store';
export * from './redis-counter.store';
