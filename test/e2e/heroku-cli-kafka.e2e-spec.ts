import { herokuCliSuite } from '../support/heroku-cli-suite';
import { KafkaClients, kafkaVars } from '../support/kafka-clients';

/**
 * The real Heroku CLI (npm heroku@11) against a running Attache, for the first-party `kafka`
 * service on the local broker, and a Kafka client made from the vars `heroku config` prints.
 */
describe('the Heroku CLI with first-party Kafka', () => {
  const suite = herokuCliSuite('cli-kafka', { kafka: true });
  const { heroku, newApp } = suite;
  const clients = new KafkaClients();

  afterAll(() => clients.closeAll());

  it('creates a kafka:basic-0, shows it and its config, upgrades it and destroys it', async () => {
    const { attache, apiKey } = suite;
    const app = await newApp('kafka');

    const created = await heroku('addons:create', 'kafka:basic-0', '-a', app, '--wait');
    expect(created).toContain(`Creating kafka:basic-0 on ${app}...`);
    const name = /Created (\S+) as KAFKA_/.exec(created)?.[1];
    expect(name).toMatch(/^kafka-[a-z]+-\d+$/);

    const info = await heroku('addons:info', name!);
    expect(info).toMatch(/Plan:\s+kafka:basic-0/);
    expect(info).toMatch(new RegExp(`Attachments:\\s+${app}::KAFKA`));
    expect(info).toMatch(/State:\s+created/);

    const config = await heroku('config', '-a', app, '--json');
    const vars = kafkaVars(JSON.parse(config) as Record<string, string>);
    expect(vars).toMatchObject({ url: 'kafka://127.0.0.1:9094', mechanism: 'SCRAM-SHA-512' });
    expect(Object.keys(JSON.parse(config)).sort()).toEqual(['KAFKA_PASSWORD', 'KAFKA_PREFIX', 'KAFKA_SASL_MECHANISM', 'KAFKA_URL', 'KAFKA_USERNAME']);

    // A client from those vars alone, on a topic made through the API.
    expect((await attache.client(apiKey).post(`/addons/${name}/kafka/topics`).send({ name: 'greetings' })).status).toBe(201);
    await clients.produce(vars, `${vars.prefix}greetings`, 3);
    expect(await clients.consume(vars, `${vars.prefix}greetings`, `${vars.prefix}cli`, 3)).toHaveLength(3);

    const upgraded = await heroku('addons:upgrade', name!, 'basic-1', '-a', app);
    expect(upgraded).toContain(`Changing ${name} on ${app} from kafka:basic-0 to kafka:basic-1... done`);
    await attache.waitForAddon(apiKey, name!, (a) => a.pending_plan === null && (a.plan as { name: string }).name === 'kafka:basic-1', 30_000);
    expect(await heroku('addons:info', name!)).toMatch(/Plan:\s+kafka:basic-1/);

    const destroyed = await heroku('addons:destroy', name!, '-a', app, '--confirm', app);
    expect(destroyed).toContain(`Destroying ${name} on ${app}...`);
    await attache.waitForAddonGone(apiKey, name!, 30_000);
    expect(await attache.configVars(apiKey, app)).toEqual({});
  });
});
