import { api, call, type Schemas } from '../api';
import type { useAction } from '../hooks';

/** Suspends an active consumer (every key refused with CONSUMER_SUSPENDED) or resumes a suspended one. */
export function SuspendResume({
  consumer,
  disabled,
  onDone,
  run,
}: {
  consumer: Schemas['ConsumerDto'];
  disabled: boolean;
  onDone: () => void;
  run: ReturnType<typeof useAction>['run'];
}) {
  const suspend = consumer.status === 'active';
  return (
    <button
      type="button"
      className="secondary outline small"
      disabled={disabled}
      aria-label={`${suspend ? 'Suspend' : 'Resume'} ${consumer.name}`}
      onClick={async () => {
        const params = { path: { id: consumer.id } };
        const done = await run(() => call(suspend ? api.POST('/v1/admin/consumers/{id}/suspend', { params }) : api.POST('/v1/admin/consumers/{id}/resume', { params })));
        if (done) onDone();
      }}
    >
      {suspend ? 'Suspend' : 'Resume'}
    </button>
  );
}
