import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { ConsumerOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { Page, PageOf, PageQueryDto } from '../common/pagination';
import { BillingService } from './billing.service';
import type { BilledInvoice } from './billing.types';
import { InvoiceDto } from './dto/invoice.dto';

const InvoicePageDto = PageOf(InvoiceDto);

@ApiTags('Self-service')
@ConsumerOnly()
@Controller('me/billing')
export class MeBillingController {
  constructor(private readonly billing: BillingService) {}

  @Get('current')
  @RequireScopes('billing:read')
  @ApiOperation({
    operationId: 'getMyCurrentBilling',
    summary: 'Live estimate of the current billing period',
    description: 'Priced exactly as the close will price it, from usage so far: an Invoice with id null and status open.',
  })
  @ApiOkResponse({ type: InvoiceDto, description: 'The live estimate: an invoice with id null and status open' })
  current(@CurrentAuth() auth: AuthContext): Promise<BilledInvoice> {
    return this.billing.current(auth.key.consumer!.id);
  }

  @Get('invoices')
  @RequireScopes('billing:read')
  @ApiOperation({ operationId: 'listMyInvoices', summary: 'Invoices of closed periods, newest first' })
  @ApiOkResponse({ type: InvoicePageDto, description: 'One page of invoices, newest first' })
  invoices(@CurrentAuth() auth: AuthContext, @Query() query: PageQueryDto): Promise<Page<BilledInvoice>> {
    return this.billing.invoices(auth.key.consumer!.id, query);
  }
}
