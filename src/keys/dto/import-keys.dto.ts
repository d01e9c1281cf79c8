import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { ApiInt } from '../../common/api-schema';
import { LEGACY_SCHEMES, type LegacyScheme } from '../../auth/legacy-hash';
import { ApiKeyDto } from './api-key.dto';
import { CreateConsumerKeyDto } from './create-key.dto';

/** Keys per request; the command line takes a whole file as one batch. */
export const IMPORT_BATCH_MAX = 1000;

/** One key brought from another system: its plaintext `key`, or the `hash` that system kept with its `algorithm`. */
export class ImportKeyDto extends CreateConsumerKeyDto {
  /**
   * The key itself, stored as Tollgate stores every key (HMAC under KEY_HASH_SECRET). Either this or `hash`.
   * Keys need not be in Tollgate's format, but must be 16 to 256 printable ASCII characters.
   * @example "acme_3f9c1e7b2d4a8f60c5e1b9d7a2f4c8e0"
   */
  @IsOptional()
  @IsString()
  @MaxLength(256)
  key?: string;

  /**
   * The old system's hash of the key, under `algorithm`: a SHA-256 or HMAC-SHA256 digest (hex or base64), a
   * SHA-512 digest (hex or base64), or a bcrypt string. Either this or `key`.
   * @example "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
   */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  hash?: string;

  /** How `hash` was made; `hmac-sha256` takes the batch's `hashSecret`. Required with `hash`. @example "sha256" */
  @IsOptional()
  @IsIn(LEGACY_SCHEMES)
  algorithm?: LegacyScheme;

  /**
   * The key's first characters, shown to recognise it. Required for `bcrypt` (8 to 32 characters, unique
   * among bcrypt keys not yet used): a salted hash cannot be looked up, so the key is found by its start.
   * Derived from `key` when the plaintext is given.
   * @example "acme_3f9c"
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(32)
  start?: string;

  /** The key's id in the old system; unique per consumer. @example "legacy-4711" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  externalId?: string;
}

export class ImportKeysDto {
  /** The secret the old system keyed its `hmac-sha256` hashes with; needed only by such keys. @example "old-system-hmac-secret" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  hashSecret?: string;

  /** 1 to 1000 keys, imported all together or not at all. */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(IMPORT_BATCH_MAX)
  @ValidateNested({ each: true })
  @Type(() => ImportKeyDto)
  keys: ImportKeyDto[];
}

export class ImportedKeysDto {
  /** How many keys were imported. @example 2 */
  @ApiInt()
  imported: number;

  /** The keys, in the order given (never their plaintext or hash). */
  keys: ApiKeyDto[];
}
