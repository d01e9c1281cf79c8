import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import type { ApiError } from './api';
import type { Loaded, Paged } from './hooks';

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p aria-busy="true" role="status">
      {what}…
    </p>
  );
}

/** The API's own message, and the request id to quote when reporting it. */
export function ErrorBox({ error }: { error: ApiError }) {
  return (
    <div role="alert" className="error-box">
      <strong>{error.message}</strong>
      <small>
        {error.code}
        {error.status ? ` · HTTP ${error.status}` : ''}
        {error.requestId ? (
          <>
            {' · request id '}
            <code data-testid="request-id">{error.requestId}</code>
          </>
        ) : null}
      </small>
      {error.details.length ? (
        <ul>
          {error.details.map((d) => (
            <li key={d.field}>
              <code>{d.field}</code> {d.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Renders loading and error states, and the content once loaded. */
export function Show<T>({ state, children }: { state: Loaded<T>; children: (data: T) => ReactNode }) {
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') return <ErrorBox error={state.error} />;
  return <>{children(state.data)}</>;
}

export function Pager<T>({ paged, label }: { paged: Paged<T>; label: string }) {
  if (!paged.previous && !paged.next) return null;
  return (
    <nav aria-label={`${label} pages`} className="pager">
      <button type="button" className="secondary outline" disabled={!paged.previous} onClick={paged.previous ?? undefined}>
        ← Previous
      </button>
      <span>Page {paged.page}</span>
      <button type="button" className="secondary outline" disabled={!paged.next} onClick={paged.next ?? undefined}>
        Next →
      </button>
    </nav>
  );
}

/** Why a control is disabled, for the key the console holds. */
export function needs(scope: string): string {
  return `Your key lacks the ${scope} scope`;
}

/**
 * A button that asks first, in a modal dialog (focus moves into it, Escape cancels). `confirmLabel`
 * names the action again so that the confirming click is deliberate.
 */
export function ConfirmButton({
  label,
  title,
  children,
  confirmLabel,
  onConfirm,
  disabled,
  disabledReason,
  className = 'secondary',
}: {
  label: string;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<unknown> | void;
  disabled?: boolean;
  disabledReason?: string;
  className?: string;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button type="button" className={className} disabled={disabled} title={disabled ? disabledReason : undefined} onClick={() => dialog.current?.showModal()}>
        {label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <article>
          <h3 id={titleId}>{title}</h3>
          {children}
          <footer>
            <button type="button" className="secondary" onClick={() => dialog.current?.close()} autoFocus>
              Cancel
            </button>
            <button
              type="button"
              className="contrast"
              aria-busy={busy}
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await onConfirm();
                } finally {
                  setBusy(false);
                  dialog.current?.close();
                }
              }}
            >
              {confirmLabel}
            </button>
          </footer>
        </article>
      </dialog>
    </>
  );
}

/**
 * A secret shown once: read-only, selectable, with a copy button. `kept` says what Tollgate keeps of it
 * (a key: only a hash; a webhook signing secret is kept to sign, but never shown again).
 *
 * It is scrolled into the middle of the viewport and focused as soon as it appears (the form that asked
 * for it may have been long), and it goes away only by a deliberate act: ticking "I have stored it" and
 * pressing Done. Until then, closing or reloading the tab asks first.
 */
export function SecretOnce({
  label,
  value,
  children,
  kept = 'Tollgate keeps only a hash of it: store it now.',
  onDismiss,
}: {
  label: string;
  value: string;
  children?: ReactNode;
  kept?: string;
  onDismiss?: () => void;
}) {
  const id = useId();
  const box = useRef<HTMLElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const [manual, setManual] = useState(false);
  const [stored, setStored] = useState(false);
  useEffect(() => {
    setCopied(false);
    setStored(false);
    box.current?.scrollIntoView({ block: 'center' });
    input.current?.focus({ preventScroll: true });
  }, [value]);
  useEffect(() => {
    if (stored) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [stored]);
  return (
    <article className="secret-once" data-testid="secret-once" ref={box} aria-live="polite">
      <label htmlFor={id}>{label}</label>
      <fieldset role="group">
        <input id={id} ref={input} readOnly value={value} onFocus={(e) => e.currentTarget.select()} spellCheck={false} autoComplete="off" />
        <button
          type="button"
          onClick={async () => {
            // The Clipboard API exists only in secure contexts (HTTPS or localhost); elsewhere the text is
            // selected for the operator to copy with the keyboard.
            try {
              await navigator.clipboard.writeText(value);
              setCopied(true);
            } catch {
              input.current?.select();
              setCopied(false);
              setManual(true);
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </fieldset>
      <p role="note">
        <strong>You will not see it again.</strong> {kept} {manual ? 'It is selected: press Ctrl+C (⌘C) to copy it. ' : null}
        {children}
      </p>
      {onDismiss ? (
        <footer className="secret-done">
          <label htmlFor={`${id}-stored`}>
            <input id={`${id}-stored`} type="checkbox" checked={stored} onChange={(e) => setStored(e.target.checked)} />I have stored it somewhere safe
          </label>
          <button type="button" className="secondary" disabled={!stored} onClick={onDismiss}>
            Done
          </button>
        </footer>
      ) : null}
    </article>
  );
}

export function Field({ label, hint, children }: { label: string; hint?: string; children: (id: string, hintId?: string) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <label htmlFor={id}>
      {label}
      {children(id, hintId)}
      {hint ? <small id={hintId}>{hint}</small> : null}
    </label>
  );
}
