import type { HTMLAttributes, ReactNode } from 'react';
import { Empty, ErrorBox, Loading, Pager } from './components';
import type { Loaded, Paged } from './hooks';

/** One column: its header, and what a row shows in it. */
export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** The header for screen readers only (an actions column). */
  hiddenHeader?: boolean;
  /** `nowrap` keeps times and short codes on one line; `num` aligns numbers right. */
  className?: string;
}

type Rows<T> = { rows: readonly T[] } | { paged: Paged<T>; label: string } | { state: Loaded<readonly T[]> };

/**
 * Every list of the console: loading, the API's error, the empty state, the rows, and the pager when
 * the rows are a page of a cursor-paginated list. The table scrolls inside its own box, so a long value
 * never makes the page scroll sideways.
 */
export function DataTable<T>(
  props: {
    columns: readonly Column<T>[];
    rowKey: (row: T) => string;
    empty: ReactNode;
    rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, string>;
    caption?: ReactNode;
    footer?: ReactNode;
    striped?: boolean;
    testId?: string;
  } & Rows<T>,
) {
  const { columns, rowKey, empty, rowProps, caption, footer, striped = true, testId } = props;
  const state: Loaded<readonly T[]> =
    'rows' in props
      ? { status: 'ok', data: props.rows }
      : 'state' in props
        ? props.state
        : props.paged.state.status === 'ok'
          ? { status: 'ok', data: props.paged.state.data.data }
          : props.paged.state;
  const pager = 'paged' in props ? <Pager paged={props.paged} label={props.label} /> : null;
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') return <ErrorBox error={state.error} />;
  if (state.data.length === 0) {
    return (
      <>
        <Empty>{empty}</Empty>
        {pager}
      </>
    );
  }
  return (
    <>
      <div className="table-box">
        <table className={striped ? 'striped' : undefined} data-testid={testId}>
          {caption ? <caption>{caption}</caption> : null}
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={i} scope="col" className={c.className}>
                  {c.hiddenHeader ? <span className="visually-hidden">{c.header}</span> : c.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {state.data.map((row) => (
              <tr key={rowKey(row)} {...rowProps?.(row)}>
                {columns.map((c, i) => (
                  <td key={i} className={c.className}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
          {footer ? <tfoot>{footer}</tfoot> : null}
        </table>
      </div>
      {pager}
    </>
  );
}
