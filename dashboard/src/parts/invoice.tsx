import type { Schemas } from '../api';
import { formatMoney, formatNumber } from '../format';
import { DataTable } from '../table';

type Invoice = Schemas['InvoiceDto'];
type Line = Invoice['lines'][number];

/** An invoice's lines and total: an open period's estimate, or a closed period's invoice. */
export function InvoiceTable({ invoice }: { invoice: Invoice }) {
  return (
    <DataTable<Line>
      rows={invoice.lines}
      striped={false}
      rowKey={(l) => `${l.type}-${l.metric}`}
      empty="Nothing billed: the consumer has no plan, or the plan prices nothing."
      columns={[
        { header: 'Line', cell: (l) => (l.type === 'base_fee' ? 'Base fee' : l.metric) },
        { header: 'Quantity', className: 'num', cell: (l) => formatNumber(l.quantity) },
        { header: 'Included', className: 'num', cell: (l) => formatNumber(l.included) },
        { header: 'Billable', className: 'num', cell: (l) => formatNumber(l.billable) },
        { header: 'Unit price', className: 'num', cell: (l) => l.unitPrice ?? (l.tiers?.length ? `${l.tiers.length} tiers` : '—') },
        { header: 'Amount', className: 'num', cell: (l) => formatMoney(l.amountMinor, invoice.currency) },
      ]}
      footer={
        <tr>
          <th scope="row" colSpan={5}>
            Total
          </th>
          <td className="num" data-testid="invoice-total">
            {formatMoney(invoice.totalMinor, invoice.currency)}
          </td>
        </tr>
      }
    />
  );
}
