import { PoolClient } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { Statement, prepared } from './sql';

/**
 * Runs `work` in one transaction, two round trips to PostgreSQL shorter than TypeORM's: the
 * connections pipeline (`pipeline: true` in the data source), so BEGIN is sent without waiting
 * for its answer and travels with the first statement, and the transaction's last write (which
 * `work` returns instead of running) is sent together with COMMIT.
 *
 * PostgreSQL runs what one connection sends in order, so this is as safe as waiting: a BEGIN that
 * fails leaves the connection where the statements behind it fail too, and if the last write
 * fails the transaction is aborted and the COMMIT behind it rolls back.
 */
export async function pipelinedTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<{ result: T; lastWrite: Statement | null }>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    const client = (await runner.connect()) as PoolClient;
    // TypeORM's own writes (save, upsert) must join this transaction instead of opening one.
    (runner as TransactionFlag).isTransactionActive = true;
    const begun = client.query('BEGIN');
    // A failed BEGIN fails the statements behind it too; it is reported after `work`.
    begun.catch(() => undefined);
    let outcome: { result: T; lastWrite: Statement | null };
    try {
      outcome = await work(runner.manager);
      await begun;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    await commitWith(client, outcome.lastWrite);
    return outcome.result;
  } finally {
    (runner as TransactionFlag).isTransactionActive = false;
    await runner.release();
  }
}

/** TypeORM's query runners keep this flag writable; its QueryRunner interface only reads it. */
type TransactionFlag = { isTransactionActive: boolean };

async function commitWith(client: PoolClient, lastWrite: Statement | null): Promise<void> {
  const written = lastWrite ? client.query({ ...prepared(lastWrite.text), values: lastWrite.values }) : null;
  const committed = client.query('COMMIT');
  const [write, commit] = await Promise.allSettled([written, committed]);
  if (write.status === 'rejected') throw write.reason;
  if (commit.status === 'rejected') throw commit.reason;
  // COMMIT answers ROLLBACK when the transaction had already failed.
  if (commit.value.command !== 'COMMIT') throw new Error(`transaction ended with ${commit.value.command} instead of COMMIT`);
}
