// The placement contract every first-party backend registry keeps (PostgreSQL clusters, Redis
// hosts, Kafka clusters): the least loaded active backend with room, chosen under a lock so that
// concurrent placements count each other. Registered as a `describe` by each repository's spec.
import { DataSource } from 'typeorm';
import { Store } from '@app/domain';
import { TypeOrmStore } from '@app/persistence';
import { blockedSessions, gate, unique, waitFor } from './store-fixtures';

export interface PlacementSubject<Backend extends { id: string }> {
  /** What a backend and what is placed on it are called in the tests' names ("cluster", "tenants"). */
  backend: string;
  residents: string;
  /** The registry's table, whose backends are all set draining before each test. */
  table: string;
  register(name: string, capacity: number, state?: 'active' | 'draining'): Promise<Backend>;
  /** `count` residents on the backend, each of its own add-on; `gone` ones (destroyed, dropped) do not count. */
  place(backend: Backend, count: number, gone?: boolean): Promise<void>;
  lockLeastLoaded(tx: Store): Promise<Backend | null>;
  /** Places one resident of a new add-on on the backend, inside `tx`. */
  placeIn(tx: Store, backendId: string): Promise<void>;
  countActive(): Promise<Map<string, number>>;
}

export function describeLeastLoadedPlacement<Backend extends { id: string }>(context: () => { dataSource: DataSource; store: TypeOrmStore }, subject: PlacementSubject<Backend>): void {
  const { backend, residents, register, place } = subject;

  describe('placement', () => {
    // Placement considers every active backend in the database: each test starts with none.
    beforeEach(async () => {
      await context().dataSource.query(`UPDATE ${subject.table} SET state = 'draining'`);
    });

    const leastLoaded = () => context().store.transaction((tx) => subject.lockLeastLoaded(tx));

    it(`picks the ${backend} with the lowest share of its capacity in use`, async () => {
      const half = await register(unique('half'), 10);
      const quarter = await register(unique('quarter'), 4);
      const fuller = await register(unique('fuller'), 2);
      await place(half, 5);
      await place(quarter, 1);
      await place(quarter, 3, true);
      await place(fuller, 1);
      expect((await leastLoaded())?.id).toBe(quarter.id);
    });

    it(`breaks ties on the share by fewer ${residents}, then by name`, async () => {
      const big = await register(unique('tie-a-big'), 4);
      const small = await register(unique('tie-b-small'), 2);
      await place(big, 2);
      await place(small, 1);
      expect((await leastLoaded())?.id).toBe(small.id);

      await context().dataSource.query(`UPDATE ${subject.table} SET state = 'draining'`);
      const stem = unique('tie');
      await register(`${stem}-b`, 3);
      const first = await register(`${stem}-a`, 3);
      expect((await leastLoaded())?.id).toBe(first.id);
    });

    it(`skips draining ${backend}s, however empty`, async () => {
      await register(unique('draining'), 100, 'draining');
      const active = await register(unique('active'), 2);
      await place(active, 1);
      expect((await leastLoaded())?.id).toBe(active.id);
    });

    it(`skips full ${backend}s, and finds nothing when every active ${backend} is full, or there is none`, async () => {
      expect(await leastLoaded()).toBeNull();
      const full = await register(unique('full'), 2);
      await place(full, 2);
      const roomy = await register(unique('roomy'), 100);
      await place(roomy, 99);
      expect((await leastLoaded())?.id).toBe(roomy.id);
      await place(roomy, 1);
      await register(unique('no-room'), 0);
      await register(unique('draining-empty'), 10, 'draining');
      expect(await leastLoaded()).toBeNull();
    });

    it('makes concurrent placements take turns, so the second counts the first', async () => {
      const { dataSource, store } = context();
      const stem = unique('race');
      const a = await register(`${stem}-a`, 1);
      const b = await register(`${stem}-b`, 1);
      const locked = gate();
      const release = gate();

      const first = store.transaction(async (tx) => {
        const chosen = await subject.lockLeastLoaded(tx);
        locked.open();
        await release.opened;
        await subject.placeIn(tx, chosen!.id);
        return chosen;
      });
      await locked.opened;
      const second = store.transaction(async (tx) => {
        const chosen = await subject.lockLeastLoaded(tx);
        if (chosen) await subject.placeIn(tx, chosen.id);
        return chosen;
      });
      // The second placement waits on the first's locks until it commits.
      await waitFor(async () => (await blockedSessions(dataSource)) > 0);
      let secondDone = false;
      void second.then(() => (secondDone = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(secondDone).toBe(false);
      release.open();

      expect((await first)?.id).toBe(a.id);
      expect((await second)?.id).toBe(b.id);
      const counts = await subject.countActive();
      expect([counts.get(a.id), counts.get(b.id)]).toEqual([1, 1]);
      // Both are full now.
      expect(await leastLoaded()).toBeNull();
    });
  });
}
