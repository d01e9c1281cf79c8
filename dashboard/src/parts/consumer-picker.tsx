import { useEffect, useId, useState } from 'react';
import { api, call, type Schemas } from '../api';
import { useSession } from '../session';

type Consumer = Schemas['ConsumerDto'];

/**
 * Chooses a consumer by typing part of its name (the API's `name` filter), or pasting its id. `value`
 * is the chosen consumer's id ('' for none); the name stays on screen, the id on hover.
 */
export function ConsumerPicker({ label, value, onChange }: { label: string; value: string; onChange: (id: string) => void }) {
  const { can } = useSession();
  const id = useId();
  const [text, setText] = useState('');
  const [chosen, setChosen] = useState<Consumer | null>(null);
  const [matches, setMatches] = useState<Consumer[]>([]);
  useEffect(() => {
    if (!value) setChosen(null);
  }, [value]);
  useEffect(() => {
    const q = text.trim();
    if (!q || chosen || !can('consumers:read')) {
      setMatches([]);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      const query = /^cons_[0-9A-Za-z]+$/.test(q) ? null : { name: q, limit: 8 };
      const found = query
        ? call(api.GET('/v1/admin/consumers', { params: { query } })).then((p) => p.data)
        : call(api.GET('/v1/admin/consumers/{id}', { params: { path: { id: q } } })).then((c) => [c]);
      found.then(
        (list) => live && setMatches(list),
        () => live && setMatches([]),
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [text, chosen, can]);
  const choose = (c: Consumer | null) => {
    setChosen(c);
    setText(c ? c.name : '');
    setMatches([]);
    onChange(c ? c.id : '');
  };
  return (
    <div className="picker">
      <label htmlFor={id}>{label}</label>
      {chosen ? (
          <span className="chosen" title={chosen.id}>
            <strong>{chosen.name}</strong>{' '}
            <button type="button" className="secondary outline small" onClick={() => choose(null)} aria-label={`Clear ${label.toLowerCase()}`}>
              Clear
            </button>
          </span>
      ) : (
        <input id={id} type="search" autoComplete="off" aria-describedby={`${id}-hint`} value={text} onChange={(e) => setText(e.target.value)} />
      )}
      {chosen ? null : <small id={`${id}-hint`}>Type part of a name, then choose.</small>}
      {matches.length ? (
        <ul className="matches" aria-label={`Consumers matching “${text.trim()}”`}>
          {matches.map((c) => (
            <li key={c.id}>
              <button type="button" className="secondary outline small" title={c.id} onClick={() => choose(c)}>
                {c.name}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
