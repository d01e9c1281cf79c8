import { MigrationInterface, QueryRunner } from 'typeorm';
import { noPadBinaryCollation } from '../dialect';

/**
 * externalId is the operator's own identifier, compared byte for byte: on MySQL/MariaDB its unique index
 * must not treat `"acct-1"` and `"acct-1 "` as the same value. SQLite's BINARY collation already does not.
 */
export class ConsumerExternalIdNoPad1764500000001 implements MigrationInterface {
  name = 'ConsumerExternalIdNoPad1764500000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    const collation = await noPadBinaryCollation(queryRunner);
    if (!collation) return;
    await queryRunner.query(
      `ALTER TABLE \`consumers\` MODIFY \`external_id\` varchar(200) CHARACTER SET utf8mb4 COLLATE ${collation} NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'mysql') return;
    await queryRunner.query('ALTER TABLE `consumers` MODIFY `external_id` varchar(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL');
  }
}
