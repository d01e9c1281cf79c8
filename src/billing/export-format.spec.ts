import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import type { BilledInvoice } from './billing.types';
import { csvRecord, escapeFormula, EXPORT_COLUMNS, exportRows, exportWriter, ExportRow } from './export-format';

const invoice: BilledInvoice = {
  id: 'inv_1',
  periodId: 'per_1',
  consumerId: 'cons_1',
  currency: 'USD',
  periodStart: '2025-04-01T00:00:00.000Z',
  periodEnd: '2025-05-01T00:00:00.000Z',
  status: 'closed',
  lines: [
    { type: 'base_fee', metric: 'base_fee', quantity: 1, included: 0, billable: 1, unitPrice: '49.00', amountMinor: 4900 },
    { type: 'usage', metric: 'tokens', quantity: 7000, included: 0, billable: 7000, unitPrice: null, tiers: [], amountMinor: 5400, carriedIn: 0 },
  ],
  totalMinor: 10300,
};

function rowsOf(externalId: string | null): ExportRow[] {
  return exportRows({ id: 'cons_1', externalId }, invoice);
}

describe('escapeFormula', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['a=1', 'a=1'],
    ['', ''],
    ['0.0004', '0.0004'],
  ])('%j → %j', (input, output) => {
    expect(escapeFormula(input)).toBe(output);
  });

  it('never leaves a cell that starts a formula', () => {
    fc.assert(fc.property(fc.string(), (s) => !/^[=+\-@\t\r]/.test(escapeFormula(s))));
  });
});

describe('csvRecord', () => {
  it('quotes exactly as csv-stringify does (RFC 4180; cells with edge white space quoted), ending records with CRLF', () => {
    // csv-stringify is the oracle with its default LF records: with CRLF records it leaves a lone LF unquoted.
    const cell = fc.oneof(fc.string(), fc.constantFrom('', ' ', 'a,b', 'a"b', 'a\nb', 'a\r\nb', 'a\rb', '\t', ' x', 'x ', '"', '\u00a0y'));
    fc.assert(
      fc.property(fc.array(cell, { minLength: 1, maxLength: 6 }), (cells) => {
        const expected = stringify([cells], { quoted_match: /^\s|\s$/ });
        expect(csvRecord(cells)).toBe(`${expected.slice(0, -1)}\r\n`);
      }),
      { numRuns: 2000 },
    );
  });

  it('quotes a cell with a carriage return anywhere', () => {
    expect(csvRecord(['a\rb', 'c'])).toBe('"a\rb",c\r\n');
  });
});

describe('export rows and writers', () => {
  it('has one row per line, in column order, summing to the total', () => {
    const rows = rowsOf('acct-1');
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(Object.keys(row)).toEqual([...EXPORT_COLUMNS]);
    expect(rows.reduce((s, r) => s + r.amountMinor, 0)).toBe(invoice.totalMinor);
    expect(rows[0]).toMatchObject({ metric: 'base_fee', unitPrice: '49.00', invoiceId: 'inv_1', status: 'closed', currency: 'USD' });
  });

  it('CSV: header row, CRLF, quoting, escaping, empty cells for null', () => {
    const w = exportWriter('csv');
    const text = w.begin() + w.rows(rowsOf('=cmd|"/c calc"!A0, x')) + w.rows([]) + w.end();
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(EXPORT_COLUMNS.join(','));
    expect(lines[1]).toBe(
      `cons_1,"'=cmd|""/c calc""!A0, x",per_1,2025-04-01T00:00:00.000Z,2025-05-01T00:00:00.000Z,base_fee,1,0,1,49.00,4900,USD,inv_1,closed`,
    );
    expect(lines[2]).toContain(',tokens,7000,0,7000,,5400,USD,inv_1,closed');
    expect(lines[3]).toBe('');
    expect(w.contentType).toBe('text/csv; charset=utf-8');
  });

  it('JSON: one valid array whatever the pages, also when empty', () => {
    const w = exportWriter('json');
    const text = w.begin() + w.rows(rowsOf(null)) + w.rows([]) + w.rows(rowsOf('b')) + w.end();
    const parsed = JSON.parse(text);
    expect(parsed).toHaveLength(4);
    expect(parsed[0].externalId).toBeNull();
    const empty = exportWriter('json');
    expect(JSON.parse(empty.begin() + empty.rows([]) + empty.end())).toEqual([]);
  });

  it('NDJSON: one object per line', () => {
    const w = exportWriter('ndjson');
    const text = w.begin() + w.rows(rowsOf('a')) + w.end();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n').map((l) => JSON.parse(l))).toEqual(rowsOf('a'));
    expect(w.contentType).toBe('application/x-ndjson; charset=utf-8');
  });
});
