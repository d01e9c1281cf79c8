import { readFile } from 'node:fs/promises';
import { plainToInstance } from 'class-transformer';
import { IsOptional, IsString, MaxLength, MinLength, validate } from 'class-validator';
import type { FieldError } from '../common/app.exception';
import { flatten, indexValidationMetadata } from '../common/validation.pipe';
import { ImportKeyDto } from '../keys/dto/import-keys.dto';
import type { ImportEntry } from '../keys/key-import.service';
import { Io, Options, ParsedArgs, UsageError } from './args';

/** A line of an import file: one key, and the consumer it belongs to unless `--consumer` names one for all. */
export class ImportKeyLineDto extends ImportKeyDto {
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(40)
  consumerId?: string;
}

export interface ImportFile {
  entries: ImportEntry[];
  hashSecret?: string;
}

/** Problems listed before the rest are counted, as the API does. */
const MAX_DETAILS = 100;

/**
 * Reads and validates an NDJSON file, every line before anything is written: a bad line is named by its
 * number (1-based; blank lines count but are skipped) and nothing of the file is imported.
 */
export async function readImportFile(text: string, defaultConsumer: string | undefined): Promise<{ entries: ImportEntry[]; problems: FieldError[] }> {
  indexValidationMetadata();
  const entries: ImportEntry[] = [];
  const problems: FieldError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const label = `line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ field: label, message: 'is not valid JSON' });
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push({ field: label, message: 'must be a JSON object' });
      continue;
    }
    const dto = plainToInstance(ImportKeyLineDto, value);
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length) {
      problems.push(...flatten(errors, label));
      continue;
    }
    const consumerId = dto.consumerId ?? defaultConsumer;
    if (!consumerId) {
      problems.push({ field: `${label}.consumerId`, message: 'is required unless --consumer names the consumer' });
      continue;
    }
    delete dto.consumerId;
    entries.push({ consumerId, dto, label });
  }
  if (entries.length === 0 && problems.length === 0) problems.push({ field: 'file', message: 'holds no keys' });
  return { entries, problems };
}

export function printProblems(io: Io, problems: FieldError[]): void {
  const shown = problems.slice(0, MAX_DETAILS);
  const more = problems.length > shown.length ? `\n  … and ${problems.length - shown.length} more` : '';
  io.err(`error: VALIDATION_FAILED: the file has ${problems.length} problem(s); nothing was imported${shown.map((p) => `\n  ${p.field}: ${p.message}`).join('')}${more}`);
}

export async function parseImportArgs(args: ParsedArgs, io: Io): Promise<{ file: string; consumer?: string; hashSecret?: string; json: boolean }> {
  const opts = new Options(args, ['consumer', 'hash-secret']);
  if (args.positionals.length !== 1) throw new UsageError('import-keys needs one file (NDJSON, one key per line)');
  let hashSecret = opts.string('hash-secret');
  if (hashSecret === '-') hashSecret = (await io.stdin()).trim();
  if (hashSecret === '') throw new UsageError('--hash-secret is empty');
  return { file: args.positionals[0], consumer: opts.string('consumer'), hashSecret, json: opts.flag('json') };
}

export async function loadImportFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}
