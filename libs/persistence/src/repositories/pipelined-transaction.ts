import { PoolClient, QueryResult } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { Statement, prepared, query } from './sql';

/**
 * Writes of one pipelined transaction whose answers the transaction does not need: each is sent
 * at once, straight to the connection, and the COMMIT waits for its answer and fails if it failed.
 * PostgreSQL runs a connection's statements in order, so later statements still see the write.
 *
 * They bypass TypeORM, so a write sent here overtakes a statement that was handed to TypeORM
 * before it and not yet awaited: send here only what follows everything the transaction sent before.
 */
export class UnansweredWrites {
  private readonly sent: Promise<QueryResult>[] = [];

  constructor(private readonly client: PoolClient) {}

  send(statement: Statement): void {
    const answer = this.client.query({ ...prepared(statement.text), values: statement.values });
    // Reported by the commit (or by the rollback that follows any other failure).
    answer.catch(() => undefined);
    this.sent.push(answer);
  }

  /** Every answer so far, in the order the writes were sent. */
  settled(): Promise<PromiseSettledResult<QueryResult>[]> {
    return Promise.allSettled(this.sent);
  }
}

/**
 * Runs `work` in one transaction, two round trips to PostgreSQL shorter than TypeORM's: the
 * connections pipeline (`pipeline: true` in the data source), so BEGIN is sent without waiting
 * for its answer and travels with the first statement, and the transaction's last write (which
 * `work` returns instead of running) is sent together with COMMIT, as are the writes `work` sent
 * through `UnansweredWrites`.
 *
 * PostgreSQL runs what one connection sends in order, so this is as safe as waiting: a BEGIN that
 * fails leaves the connection where the statements behind it fail too, and if a write fails the
 * transaction is aborted and the COMMIT behind it rolls back.
 */
export async function pipelinedTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager, writes: UnansweredWrites) => Promise<{ result: T; lastWrite: Statement | null }>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    const client = (await runner.connect()) as PoolClient;
    const writes = new UnansweredWrites(client);
    // TypeORM's own writes (save, upsert) must join this transaction instead of opening one.
    (runner as TransactionFlag).isTransactionActive = true;
    const begun = client.query('BEGIN');
    // A failed BEGIN fails the statements behind it too; it is reported after `work`.
    begun.catch(() => undefined);
    let outcome: { result: T; lastWrite: Statement | null };
    try {
      outcome = await work(runner.manager, writes);
      await begun;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw (await failedEarlier(writes, error)) ?? error;
    }
    await commitWith(client, writes, outcome.lastWrite);
    return outcome.result;
  } finally {
    (runner as TransactionFlag).isTransactionActive = false;
    await runner.release();
  }
}

/**
 * `statements` as one transaction in a single round trip: BEGIN, the statements and COMMIT are
 * sent together, and each statement's rows come back. A statement that runs after another (a count
 * after a lock) sees what the transactions it waited for committed, as if each had been awaited.
 * Inside an open transaction (`manager` bound to one) the statements join it instead.
 */
export async function transactionInOneRoundTrip(manager: EntityManager, statements: Statement[]): Promise<Record<string, unknown>[][]> {
  if (manager.queryRunner?.isTransactionActive) {
    // Handed to TypeORM one after the other, so sent in this order.
    return Promise.all(statements.map((s) => query<Record<string, unknown>[]>(manager, s.text, s.values)));
  }
  const runner = manager.connection.createQueryRunner();
  try {
    const client = (await runner.connect()) as PoolClient;
    const sent = [
      client.query('BEGIN'),
      ...statements.map((s) => client.query<Record<string, unknown>>({ ...prepared(s.text), values: s.values })),
      client.query('COMMIT'),
    ];
    const settled = await Promise.allSettled(sent);
    // The first failure is the cause; the statements behind it only fail because it did.
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const answers = (settled as PromiseFulfilledResult<QueryResult<Record<string, unknown>>>[]).map((s) => s.value);
    const commit = answers[answers.length - 1];
    if (commit.command !== 'COMMIT') throw new Error(`transaction ended with ${commit.command} instead of COMMIT`);
    return answers.slice(1, -1).map((a) => a.rows);
  } finally {
    await runner.release();
  }
}

/** TypeORM's query runners keep this flag writable; its QueryRunner interface only reads it. */
type TransactionFlag = { isTransactionActive: boolean };

/** SQLSTATE of a statement sent after an earlier one failed in the same transaction. */
const IN_FAILED_TRANSACTION = '25P02';

/** The failed unanswered write that made `error` happen (a statement behind it refused), if any. */
async function failedEarlier(writes: UnansweredWrites, error: unknown): Promise<unknown> {
  if ((error as { code?: string } | null)?.code !== IN_FAILED_TRANSACTION) return undefined;
  const failed = (await writes.settled()).find((s) => s.status === 'rejected');
  return failed?.reason;
}

async function commitWith(client: PoolClient, writes: UnansweredWrites, lastWrite: Statement | null): Promise<void> {
  const written = lastWrite ? client.query({ ...prepared(lastWrite.text), values: lastWrite.values }) : null;
  const committed = client.query('COMMIT');
  const [earlier, [write, commit]] = await Promise.all([writes.settled(), Promise.allSettled([written, committed])]);
  for (const answer of earlier) if (answer.status === 'rejected') throw answer.reason;
  if (write.status === 'rejected') throw write.reason;
  if (commit.status === 'rejected') throw commit.reason;
  // COMMIT answers ROLLBACK when the transaction had already failed.
  if (commit.value.command !== 'COMMIT') throw new Error(`transaction ended with ${commit.value.command} instead of COMMIT`);
}
