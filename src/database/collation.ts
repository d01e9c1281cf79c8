import type { QueryRunner } from 'typeorm';

/**
 * The binary collation that compares trailing spaces too: MySQL/MariaDB's utf8mb4_bin is PAD SPACE, so
 * `"a"` and `"a "` collide in a unique index. MariaDB ≥ 10.2 has utf8mb4_nopad_bin, MySQL ≥ 8.0
 * utf8mb4_0900_bin; older servers keep utf8mb4_bin (undefined here).
 */
export async function noPadBinaryCollation(queryRunner: QueryRunner): Promise<string | undefined> {
  for (const name of ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin']) {
    const rows: unknown[] = await queryRunner.query('SHOW COLLATION WHERE Collation = ?', [name]);
    if (rows.length) return name;
  }
  return undefined;
}
